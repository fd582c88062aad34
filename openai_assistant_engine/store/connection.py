"""From settings to a :class:`Store`."""

from __future__ import annotations

import functools

from ..config import Settings
from .models import ConnectionOptions
from .repository import Store

__all__ = ["cached_store", "connection_options", "store_for"]


def connection_options(settings: Settings) -> ConnectionOptions:
    region = settings.region_name
    if region is None and settings.dynamodb_endpoint:
        # A local or emulated DynamoDB still needs some region name to sign requests.
        region = "us-east-1"
    return ConnectionOptions(
        table_prefix=settings.table_prefix,
        region=region,
        host=settings.dynamodb_endpoint,
        aws_access_key_id=settings.aws_access_key_id,
        aws_secret_access_key=settings.aws_secret_access_key,
    )


def store_for(settings: Settings) -> Store:
    return Store(connection_options(settings))


@functools.lru_cache(maxsize=16)
def _store_for_options(options: ConnectionOptions) -> Store:
    return Store(options)


def cached_store(settings: Settings) -> Store:
    """One Store per connection per process: SilvaEngine builds an engine per request,
    and PynamoDB's connections (and their botocore sessions) are costly to rebuild."""
    return _store_for_options(connection_options(settings))
