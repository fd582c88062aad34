"""One DynamoDB client per process and connection, whichever thread asks first.

Clients are counted with botocore's own ``creating-client-class.dynamodb`` event on the
connection's public session: nothing inside PynamoDB or botocore is replaced.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any

import pytest

from openai_assistant_engine.errors import UpstreamError
from openai_assistant_engine.store import ConnectionOptions, Store

# A connect timeout no other test uses: a connection (and client) of this test's own.
_timeouts = itertools.count(101)


def _options(dynamo_settings: dict[str, str], **changes: Any) -> ConnectionOptions:
    return ConnectionOptions(
        table_prefix=dynamo_settings["table_prefix"],
        region=dynamo_settings["region_name"],
        host=dynamo_settings["dynamodb_endpoint"],
        aws_access_key_id=dynamo_settings["aws_access_key_id"],
        aws_secret_access_key=dynamo_settings["aws_secret_access_key"],
        connect_timeout_seconds=next(_timeouts),
        **changes,
    )


def _count_clients(store: Store) -> list[str]:
    built: list[str] = []
    store.connection.session.register(
        "creating-client-class.dynamodb", lambda **kwargs: built.append("dynamodb")
    )
    return built


def _all_at_once(calls: list[Callable[[], Any]]) -> list[BaseException]:
    """Run every call in its own thread, released together; the exceptions raised."""
    barrier = threading.Barrier(len(calls))
    failures: list[BaseException] = []

    def run(call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            call()
        except BaseException as exc:  # reported by the test
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return failures


def test_thirty_threads_first_calls_over_every_table_build_one_client(dynamo_settings):
    store = Store(_options(dynamo_settings))
    built = _count_clients(store)
    # Every table, the index queries and the page seeker's COUNT requests.
    first_calls = [
        lambda: store.find_assistant("bench", "a-1"),
        lambda: store.find_thread("thread-1"),
        lambda: store.get_run("thread-1", "run-1"),
        lambda: store.messages_of_thread("thread-1"),
        lambda: store.list_tool_calls("run-1"),
        lambda: store.list_messages(thread_id="thread-1", page_number=2, limit=5),
    ]
    failures = _all_at_once(first_calls * 5)

    assert failures == []
    assert built == ["dynamodb"]
    # Later calls reuse it.
    assert store.find_assistant("bench", "a-1") is None
    assert built == ["dynamodb"]


def test_table_sets_of_other_prefixes_share_the_connection(dynamo_settings):
    options = _options(dynamo_settings)
    first = Store(options)
    built = _count_clients(first)
    first.find_assistant("bench", "a-1")
    # Same endpoint and credentials, another table set: the same connection and client.
    other = Store(ConnectionOptions(**{**options.__dict__, "table_prefix": "elsewhere-"}))
    assert other.connection is first.connection
    with pytest.raises(UpstreamError, match="elsewhere-tool_calls is missing"):
        other.list_tool_calls("run-1")  # its tables were never made: a request all the same
    assert built == ["dynamodb"]


def test_other_connection_options_get_their_own_client(dynamo_settings):
    first = Store(_options(dynamo_settings))
    second = Store(_options(dynamo_settings))  # another connect timeout
    assert first.connection is not second.connection
    built_first, built_second = _count_clients(first), _count_clients(second)
    first.find_assistant("bench", "a-1")
    second.find_assistant("bench", "a-1")
    assert (built_first, built_second) == (["dynamodb"], ["dynamodb"])
