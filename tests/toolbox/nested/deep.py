"""A tool class three packages deep, to prove dotted module paths import."""

from __future__ import annotations

import logging
from typing import Any


class DeepTools:
    def __init__(self, logger: logging.Logger, **configuration: Any) -> None:
        self.greeting = configuration.get("greeting", "hello")

    def greet(self, name: str) -> str:
        """Greet someone."""
        return f"{self.greeting}, {name}"
