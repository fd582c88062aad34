"""``oae tables create``: make the missing DynamoDB tables, idempotently."""

from __future__ import annotations

import argparse

from ..config import Settings
from .console import CommandError
from .runtime import dynamodb_location

__all__ = ["cmd_tables_create"]


def cmd_tables_create(args: argparse.Namespace) -> int:
    from ..store.models import TABLE_NAMES
    from ..store.tables import create_tables

    overrides = {
        "dynamodb_endpoint": args.dynamodb_endpoint,
        "region_name": args.region,
        "table_prefix": args.table_prefix,
    }
    setting = {key: value for key, value in overrides.items() if value}
    settings = Settings.load(setting)
    if not (settings.dynamodb_endpoint or settings.region_name or _default_region()):
        raise CommandError(
            "No DynamoDB to create tables in: set region_name (and AWS credentials) or "
            "dynamodb_endpoint in the environment or .env, or pass --region or "
            "--dynamodb-endpoint."
        )
    created = set(create_tables(**setting))
    print(f"DynamoDB: {dynamodb_location(settings)}")
    for name in (f"{settings.table_prefix}{table}" for table in TABLE_NAMES):
        print(f"  {'created' if name in created else 'exists '}  {name}")
    print(f"{len(created)} table(s) created.")
    return 0


def _default_region() -> str | None:
    """The AWS default chain's region (environment, profile), if it names one."""
    import boto3

    return boto3.session.Session().region_name
