"""Run events: what a run did, in order, numbered per run.

Every step of the run lifecycle emits one of these types (``data`` holds the fields
listed), each with ``seq`` (1, 2, 3... per run, in the order emitted):

==========================  ==========================================================
type                        data
==========================  ==========================================================
``run.started``             ``status``, ``model``
``message.delta``           ``text``: a piece of the answer as it streams (stream
                            driver only: a polled run has no deltas)
``run.requires_action``     ``round`` (1, 2, ...), ``tool_calls``: [{id, name,
                            arguments}]
``tool_call.started``       ``tool_call_id``, ``name``, ``arguments``
``tool_call.completed``     ``tool_call_id``, ``name``, ``status`` (completed or
                            failed), ``output``, ``error``, ``duration_ms``
``run.completed``           ``status``, ``usage``, ``error``, ``model`` (also
``run.failed`` ...          ``run.failed``, ``run.cancelled``, ``run.expired``,
                            ``run.incomplete``): the last event of a run
==========================  ==========================================================

Each event is emitted once per run and process even when two triggers take the same
step (a streaming worker and a poll): every event but a delta carries a ``key`` naming
its step, and a key seen before is dropped. Sinks receive events as they are emitted;
the first sink is :class:`EventHub`, which keeps each run's events in memory (the most
recent runs) and lets subscribers replay them and follow the run live.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["END_TYPES", "EventHub", "EventSink", "RunEvent"]

# The last event of a run, by its final status.
END_TYPES = frozenset(
    f"run.{status}" for status in ("completed", "failed", "cancelled", "expired", "incomplete")
)


@dataclass(frozen=True)
class RunEvent:
    seq: int
    type: str
    thread_id: str
    run_id: str
    data: dict[str, Any] = field(default_factory=dict)
    at: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "type": self.type,
            "thread_id": self.thread_id,
            "run_id": self.run_id,
            "at": self.at,
            **self.data,
        }


class EventSink(Protocol):
    def publish(self, event: RunEvent) -> None: ...


class _RunLog:
    def __init__(self) -> None:
        self.events: list[RunEvent] = []
        self.keys: set[str] = set()
        self.ended = False


class EventHub:
    """Numbers, deduplicates and keeps run events; replays them to subscribers.

    Holds the events of the ``max_runs`` most recently active runs (older ones are
    dropped whole). Thread-safe: triggers emit from any thread.
    """

    def __init__(self, *, max_runs: int = 1000, sinks: tuple[EventSink, ...] = ()) -> None:
        self._max_runs = max_runs
        self._sinks = sinks
        self._runs: OrderedDict[str, _RunLog] = OrderedDict()
        self._changed = threading.Condition()

    def emit(
        self, thread_id: str, run_id: str, type: str, *, key: str | None = None, **data: Any
    ) -> RunEvent | None:
        """Emit one event; None when ``key`` was emitted for this run already."""
        with self._changed:
            log = self._log(run_id)
            if key is not None:
                if key in log.keys:
                    return None
                log.keys.add(key)
            if log.ended:
                return None  # nothing follows a run's end
            event = RunEvent(len(log.events) + 1, type, thread_id, run_id, data, time.time())
            log.events.append(event)
            log.ended = type in END_TYPES
            self._changed.notify_all()
        for sink in self._sinks:
            sink.publish(event)
        return event

    def events(self, run_id: str, after: int = 0) -> list[RunEvent]:
        with self._changed:
            log = self._runs.get(run_id)
            return list(log.events[after:]) if log else []

    def subscribe(
        self, run_id: str, after: int = 0, *, idle_timeout: float | None = None
    ) -> Iterator[RunEvent]:
        """The run's events after ``after``, then each new one as it is emitted, until
        the run's last event; also ends when ``idle_timeout`` seconds pass with none."""
        seen = after
        while True:
            with self._changed:
                log = self._log(run_id)
                if len(log.events) <= seen and not log.ended:
                    self._changed.wait_for(_news(log, seen), timeout=idle_timeout)
                fresh = log.events[seen:]
                ended = log.ended
            if not fresh and (ended or idle_timeout is not None):
                return
            for event in fresh:
                seen = event.seq
                yield event
            if ended and seen >= len(log.events):
                return

    def _log(self, run_id: str) -> _RunLog:
        log = self._runs.get(run_id)
        if log is None:
            log = self._runs[run_id] = _RunLog()
            while len(self._runs) > self._max_runs:
                self._runs.popitem(last=False)
        else:
            self._runs.move_to_end(run_id)
        return log


def _news(log: _RunLog, seen: int) -> Callable[[], bool]:
    return lambda: len(log.events) > seen or log.ended
