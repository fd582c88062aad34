"""From settings to a :class:`Store`."""

from __future__ import annotations

import ipaddress
import threading
from urllib.parse import urlsplit

from ..config import Settings
from .models import ConnectionOptions
from .repository import Store

__all__ = ["cached_store", "connection_options", "store_for"]


def connection_options(settings: Settings) -> ConnectionOptions:
    region = settings.region_name
    if region is None and settings.dynamodb_endpoint:
        # A local or emulated DynamoDB still needs some region name to sign requests.
        region = "us-east-1"
    key_id, secret = settings.aws_access_key_id, settings.aws_secret_access_key
    if not (key_id or secret) and _is_loopback(settings.dynamodb_endpoint):
        # DynamoDB Local and moto accept any signature, but botocore signs nothing without
        # keys ("Unable to locate credentials"): a DynamoDB on this machine gets dummy ones.
        key_id, secret = _LOCAL_KEYS
    return ConnectionOptions(
        table_prefix=settings.table_prefix,
        region=region,
        host=settings.dynamodb_endpoint,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )


_LOCAL_KEYS = ("local", "local")


def _is_loopback(endpoint: str | None) -> bool:
    """Whether ``endpoint`` is a URL on this machine (localhost, 127.0.0.0/8, ::1)."""
    if not endpoint:
        return False
    host = urlsplit(endpoint).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def store_for(settings: Settings) -> Store:
    return Store(connection_options(settings))


# Stores by options, made under a lock: lru_cache would let 50 threads that miss at
# once build 50 of them. Bounded like the lru_cache it replaces (oldest out first).
_STORES_KEPT = 16
_stores: dict[ConnectionOptions, Store] = {}
_stores_lock = threading.Lock()


def cached_store(settings: Settings) -> Store:
    """One Store per connection per process: SilvaEngine builds an engine per request,
    and building the models again is wasted work (their connection is shared anyway)."""
    options = connection_options(settings)
    store = _stores.get(options)
    if store is None:
        with _stores_lock:
            store = _stores.get(options)
            if store is None:
                if len(_stores) >= _STORES_KEPT:
                    del _stores[next(iter(_stores))]
                store = _stores[options] = Store(options)
    return store
