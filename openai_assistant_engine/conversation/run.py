"""The run record: one typed view of what DynamoDB holds about a run.

Every part of the run lifecycle reads a run through :class:`RunRecord` (never through a
free-form dict), and only the recorder writes it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

__all__ = ["RunRecord", "RunStatus"]


class RunStatus(str, Enum):
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    REQUIRES_ACTION = "requires_action"
    CANCELLING = "cancelling"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    INCOMPLETE = "incomplete"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @classmethod
    def ended(cls, text: str | None) -> bool:
        """Whether ``text`` names a status a run ends with."""
        status = cls.of(text)
        return status is not None and status.is_terminal

    @classmethod
    def of(cls, text: str | None) -> RunStatus | None:
        """The status named ``text``; None for none, and for a status this engine does
        not know (read as still running: only a known end ends a run)."""
        try:
            return cls(text) if text else None
        except ValueError:
            return cls.IN_PROGRESS


_TERMINAL = frozenset(
    {
        RunStatus.COMPLETED,
        RunStatus.FAILED,
        RunStatus.CANCELLED,
        RunStatus.EXPIRED,
        RunStatus.INCOMPLETE,
    }
)


@dataclass(frozen=True)
class RunRecord:
    thread_id: str
    run_id: str
    status: RunStatus | None = None
    assistant_id: str | None = None
    assistant_type: str | None = None
    backend: str | None = None
    # Where the conversation lives (backends/__init__.py); records before it: upstream.
    conversation_state: str = "openai"
    # The id the upstream service knows the thread by, when not its own (migrateThread).
    upstream_thread_id: str | None = None
    model: str | None = None
    updated_by: str | None = None
    # {owner, tenant} of the thread (identity on), marked on every record of the run.
    owner: dict[str, str] = field(default_factory=dict)
    # The backend's own bookkeeping (e.g. the Responses chain), handed back on every call.
    progress: dict[str, Any] = field(default_factory=dict)
    usage: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    ended: bool = False
    # Round claims: how many rounds were claimed, and the marks of each (see rounds.py).
    tool_rounds: int = 0
    submitted_rounds: frozenset[str] = frozenset()
    # A round was claimed while some of its outcomes were unrecorded (see rounds.py).
    calls_unrecorded: bool = False
    # The streaming worker's lease (epoch seconds) and who holds it (see driver.py).
    lease_until: float | None = None
    lease_owner: str | None = None
    # The assistant's functions and configuration as they were when the run started.
    assistant: dict[str, Any] | None = None
    # Ended here while OpenAI may still hold it open (see Recorder.record_given_up).
    upstream_open: bool = False

    @classmethod
    def from_item(cls, item: Mapping[str, Any] | None) -> RunRecord | None:
        if item is None:
            return None
        extra = item.get("extra") or {}
        owner = {k: item[k] for k in ("owner", "tenant") if item.get(k)}
        status = RunStatus.of(item.get("status"))
        return cls(
            thread_id=item["thread_id"],
            run_id=item["run_id"],
            status=status,
            assistant_id=item.get("assistant_id"),
            assistant_type=item.get("assistant_type"),
            backend=item.get("backend"),
            conversation_state=item.get("conversation_state") or "openai",
            upstream_thread_id=item.get("upstream_thread_id"),
            model=item.get("model"),
            updated_by=item.get("updated_by"),
            owner=owner,
            progress=dict(item.get("backend_state") or {}),
            usage=dict(item.get("usage") or {}),
            error=item.get("error"),
            ended=item.get("ended_at") is not None or (status is not None and status.is_terminal),
            tool_rounds=int(item.get("tool_rounds") or 0),
            submitted_rounds=frozenset(item.get("submitted_rounds") or ()),
            calls_unrecorded=bool(item.get("calls_unrecorded")),
            lease_until=float(item["lease_until"]) if item.get("lease_until") else None,
            lease_owner=item.get("lease_owner"),
            assistant=extra.get("assistant") if isinstance(extra, Mapping) else None,
            upstream_open=bool(item.get("upstream_open")),
        )

    def leased(self, now: float | None = None) -> bool:
        """True while a streaming worker's lease on the run has not run out."""
        return self.lease_until is not None and self.lease_until > (now or time.time())

    def view(self) -> dict[str, Any]:
        """The run as ``currentRun`` answers it."""
        return {
            "thread_id": self.thread_id,
            "run_id": self.run_id,
            "status": self.status.value if self.status else None,
            "usage": self.usage if self.ended else {},
            "error": self.error if self.ended else None,
        }
