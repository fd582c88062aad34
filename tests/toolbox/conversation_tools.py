"""Tool classes for the conversation tests, which run them through the whole engine.

Counters are module level and keyed by a ``label`` argument, so a test can tell how many
times each of its calls really ran, whichever driver (streaming worker or poller) and
whichever tool-runner instance ran it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from typing import Any

__all__ = ["ConversationTools", "invocations", "release_sleepers"]

_lock = threading.Lock()
invocations: Counter[str] = Counter()
# Set at teardown so that calls left sleeping by the timeout test end early.
release_sleepers = threading.Event()


class ConversationTools:
    def __init__(self, logger: logging.Logger, **configuration: Any) -> None:
        self.logger = logger
        self.prefix = configuration.get("prefix", "")

    def add(self, a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    def shout(self, text: str) -> str:
        """Upper-case a text."""
        return f"{self.prefix}{text.upper()}"

    def boom(self, message: str = "boom") -> None:
        """Always fails."""
        raise RuntimeError(message)

    def sleepy(self, seconds: float) -> str:
        """Sleep for a while (longer than the tool timeout, in the tests)."""
        release_sleepers.wait(seconds)
        return "woke up"

    def repeat(self, text: str, times: int) -> str:
        """``text`` repeated ``times`` times (a result longer than a DynamoDB item)."""
        return text * times

    def ratio(self) -> dict[str, Any]:
        """A result JSON cannot carry: NaN."""
        return {"ratio": float("nan")}

    def file_name(self) -> dict[str, Any]:
        """A name read from a disk: bytes that are not UTF-8 become lone surrogates."""
        name = os.fsdecode(b"report-\xff.txt")
        return {"name": name}

    def count(self, label: str, pause: float = 0.0) -> dict[str, Any]:
        """Count this invocation under ``label``, after an optional pause."""
        with _lock:
            invocations[label] += 1
            seen = invocations[label]
        if pause:
            time.sleep(pause)
        return {"label": label, "seen": seen}
