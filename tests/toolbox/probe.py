"""A tool class that tells the tests what happened to it.

Every instance is built with a ``token`` in its configuration; counters keyed by that
token record constructions, invocations and the most calls that ran at once, so tests
sharing this module never see each other's counts.
"""

from __future__ import annotations

import collections
import datetime as dt
import decimal
import logging
import textwrap
import threading
import time
from collections import Counter
from typing import Any

_lock = threading.Lock()
constructed: Counter[str] = Counter()
invoked: Counter[str] = Counter()
_active: Counter[str] = Counter()
peak: Counter[str] = Counter()

# A class from outside the allowlist, reachable through this allowed module.
Reexported = collections.OrderedDict

# Set by the tests' teardown so that threads left hanging by timeout tests end.
release_hung = threading.Event()


def reset() -> None:
    with _lock:
        for counter in (constructed, invoked, _active, peak):
            counter.clear()
    release_hung.clear()


def helper_function(logger: logging.Logger, **configuration: Any) -> None:
    """A module-level function: not a class, so never a valid class_name."""


class Probe:
    # A built-in stored on the class: reachable as an attribute, never runnable.
    measure = len
    # A Python function of a module outside the allowlist, attached to an allowed class.
    foreign = staticmethod(textwrap.dedent)

    def __init__(self, logger: logging.Logger, **configuration: Any) -> None:
        self.logger = logger
        self.configuration = configuration
        self.token = configuration.get("token", "default")
        # A callable set on the instance, not defined by the class.
        self.callback = lambda: "instance attribute"
        with _lock:
            constructed[self.token] += 1

    def _count(self) -> None:
        with _lock:
            invoked[self.token] += 1

    def add(self, a: int, b: int) -> int:
        """Add two integers."""
        self._count()
        return a + b

    def echo(self, text: str) -> str:
        self._count()
        return text

    def show_configuration(self) -> dict[str, Any]:
        self._count()
        return self.configuration

    def nothing(self) -> None:
        self._count()

    def rich_result(self) -> dict[str, Any]:
        self._count()
        return {
            "when": dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone.utc),
            "price": decimal.Decimal("9.99"),
            "count": decimal.Decimal("3"),
            "tags": {"x"},
        }

    def unserialisable(self) -> dict[str, Any]:
        self._count()
        loop: dict[str, Any] = {}
        loop["self"] = loop
        return loop

    def not_a_number(self) -> dict[str, Any]:
        self._count()
        return {"ratio": float("nan"), "limit": float("inf")}

    def an_object(self) -> dict[str, Any]:
        self._count()
        return {"lock": _lock}

    def sleep(self, seconds: float, label: str = "") -> dict[str, Any]:
        with _lock:
            invoked[self.token] += 1
            _active[self.token] += 1
            peak[self.token] = max(peak[self.token], _active[self.token])
        try:
            time.sleep(seconds)
        finally:
            with _lock:
                _active[self.token] -= 1
        return {"slept": seconds, "label": label}

    def hang(self) -> str:
        self._count()
        release_hung.wait(30)
        return "released"

    def fail(self, message: str) -> None:
        self._count()
        raise ValueError(message)

    def inner_type_error(self) -> None:
        self._count()
        return len(5)  # type: ignore[arg-type]

    @staticmethod
    def static_add(a: int, b: int) -> int:
        return a + b

    @classmethod
    def class_name_of(cls) -> str:
        return cls.__name__

    def _private(self) -> str:
        return "private"


class Broken:
    def __init__(self, logger: logging.Logger, **configuration: Any) -> None:
        raise RuntimeError("missing database_url")

    def anything(self) -> None:
        """Never reached."""


class DictTools(dict):
    """Inherits ``keys`` from a built-in type: that is not a tool."""

    def __init__(self, logger: logging.Logger, **configuration: Any) -> None:
        super().__init__(configuration)
