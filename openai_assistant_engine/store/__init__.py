"""DynamoDB records of assistants, threads, runs, messages and tool calls."""

from .models import TABLE_NAMES, ConnectionOptions
from .repository import Page, Store

__all__ = ["TABLE_NAMES", "ConnectionOptions", "Page", "Store"]
