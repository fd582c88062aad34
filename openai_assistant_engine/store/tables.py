"""Create the engine's tables from settings: ``create_tables(**setting)``."""

from __future__ import annotations

from typing import Any

from ..config import Settings
from .connection import cached_store

__all__ = ["create_tables"]


def create_tables(**setting: Any) -> list[str]:
    """Create every missing table (PAY_PER_REQUEST). Idempotent: returns the names created.

    Uses the process's cached store for these settings, so an engine built next with the
    same settings reuses its DynamoDB clients instead of building them again.
    """
    return cached_store(Settings.load(setting)).create_tables()
