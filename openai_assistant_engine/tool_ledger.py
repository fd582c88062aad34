"""The tool-call ledger over DynamoDB: claims by conditional write, outcomes as records.

Two drivers (a streaming worker and a poller, or two pollers in two Lambdas) may see the
same ``requires_action`` at once; the conditional write on ``run_id / tool_call_id``
lets exactly one of them run each call, and the others reuse its recorded outcome.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from .backends.base import ToolCall
from .store import Store
from .store.repository import utc_now
from .tools import Claim, ToolOutcome

__all__ = ["DynamoToolCallLedger"]


class DynamoToolCallLedger:
    def __init__(self, store: Store) -> None:
        self._store = store

    def claim(
        self, *, run_id: str, thread_id: str, call: ToolCall, stale_after_seconds: float
    ) -> Claim:
        won, record = self._store.claim_tool_call(
            run_id=run_id,
            tool_call_id=call.id,
            thread_id=thread_id,
            name=call.name,
            arguments=call.arguments,
            stale_before=utc_now() - timedelta(seconds=stale_after_seconds),
        )
        if won:
            return Claim(won=True)
        if record is not None and record.get("status") in ("completed", "failed"):
            return Claim(won=False, outcome=_outcome(record))
        return Claim(won=False)

    def record(self, *, run_id: str, thread_id: str, outcome: ToolOutcome) -> None:
        self._store.finish_tool_call(
            run_id=run_id,
            tool_call_id=outcome.tool_call_id,
            status=outcome.status,
            output=outcome.output,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
            started_at=outcome.started_at,
            finished_at=outcome.finished_at,
        )


def _outcome(record: dict[str, Any]) -> ToolOutcome:
    return ToolOutcome(
        tool_call_id=record["tool_call_id"],
        name=record["name"],
        arguments=record.get("arguments") or "",
        output=record.get("output") or "",
        status=record["status"],
        error=record.get("error"),
        duration_ms=int(record.get("duration_ms") or 0),
        started_at=record.get("started_at") or record["claimed_at"],
        finished_at=record.get("finished_at") or record["claimed_at"],
    )
