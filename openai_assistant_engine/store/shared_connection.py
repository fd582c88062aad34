"""One DynamoDB connection per process and connection options, shared by every table.

Left to itself PynamoDB gives each model class its own ``Connection``, and each
``Connection`` builds its botocore session and client lazily in whichever thread asks
first, without a lock: six tables meant six clients (botocore's JSON service model parsed
six times, some 10 MiB and 0.3 s of CPU each), and 50 threads making their first requests
at once built one each before any of them had finished (a herd: 11.6 s of CPU).

Here one :class:`SharedConnection` serves every table of a set of options: one botocore
session, one client, built once under a lock; the others wait for it rather than build
their own. botocore clients are thread-safe once built (only building one is not), which
is why PynamoDB kept a session per thread. :func:`shared_connection` hands out the one
connection per :class:`ConnectionOptions`, itself made under a lock.

Counting: the session is public (:attr:`SharedConnection.session`), so botocore's own
``creating-client-class.dynamodb`` event tells how many clients were built.

PynamoDB 6.1 has no public way to give a model a connection (pynamodb issue #1245): its
model classes keep theirs in the private ``_connection``, made by ``_get_connection()``.
:func:`bind_models` calls ``_get_connection()`` once per model (which builds no client)
and sets that table connection's public ``connection`` attribute to the shared one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterable
from typing import Any

import botocore.session
from pynamodb.connection import Connection
from pynamodb.models import Model

from .models import ConnectionOptions

__all__ = ["SharedConnection", "bind_models", "shared_connection"]


class SharedConnection(Connection):
    """A PynamoDB ``Connection`` whose session and client are built once, for every thread."""

    def __init__(self, options: ConnectionOptions) -> None:
        super().__init__(
            region=options.region,
            host=options.host,
            connect_timeout_seconds=options.connect_timeout_seconds,
            read_timeout_seconds=options.read_timeout_seconds,
            max_retry_attempts=options.max_retry_attempts,
            # Every thread's requests share this client's pool (botocore's default is 10).
            max_pool_connections=options.max_pool_connections,
            aws_access_key_id=options.aws_access_key_id,
            aws_secret_access_key=options.aws_secret_access_key,
        )
        self._build_lock = threading.Lock()
        self._built: Any = None
        self._botocore_session = botocore.session.get_session()
        if options.aws_access_key_id and options.aws_secret_access_key:
            self._botocore_session.set_credentials(
                options.aws_access_key_id, options.aws_secret_access_key
            )

    @property
    def session(self) -> botocore.session.Session:
        """The one botocore session (PynamoDB's own is one per thread)."""
        return self._botocore_session

    @property
    def client(self) -> Any:
        """The one botocore DynamoDB client, built by the first caller while others wait."""
        client = self._built
        if client is not None:
            return client
        with self._build_lock:
            if self._built is not None:
                return self._built
            client = super().client
            if self._botocore_session.get_credentials() is not None:
                self._built = client
            # Without credentials PynamoDB builds a new client at the next call (botocore
            # would cache the empty credentials for good); so does this, under the lock.
            return client


def bind_models(models: Iterable[type[Model]], connection: Connection) -> None:
    """Point each model's table connection at ``connection`` (its tables' schemas added)."""
    for model in models:
        table = model._get_connection()  # private in PynamoDB: see the module docstring
        if table.connection is connection:
            continue
        # ValueError: another Store of these options added the same table's schema.
        with contextlib.suppress(ValueError):
            connection.add_meta_table(table.get_meta_table())
        table.connection = connection


_connections: dict[ConnectionOptions, SharedConnection] = {}
_connections_lock = threading.Lock()


def shared_connection(options: ConnectionOptions) -> SharedConnection:
    """The process's connection for ``options``, made on first use (under a lock).

    The table prefix is no part of a connection: table sets of every prefix on one
    endpoint share it.
    """
    key = dataclasses.replace(options, table_prefix="")
    connection = _connections.get(key)
    if connection is None:
        with _connections_lock:
            connection = _connections.get(key)
            if connection is None:
                connection = _connections[key] = SharedConnection(key)
    return connection
