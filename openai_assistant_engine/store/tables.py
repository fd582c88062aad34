"""Create the engine's tables from settings: ``create_tables(**setting)``."""

from __future__ import annotations

from typing import Any

from ..config import Settings
from .connection import store_for

__all__ = ["create_tables"]


def create_tables(**setting: Any) -> list[str]:
    """Create every missing table (PAY_PER_REQUEST). Idempotent: returns the names created."""
    return store_for(Settings.load(setting)).create_tables()
