"""The tool-call ledger over DynamoDB: claims by conditional write, outcomes as records.

Two drivers (a streaming worker and a poller, or two pollers in two Lambdas) may see the
same ``requires_action`` at once; the conditional write on ``run_id / tool_call_id``
lets exactly one of them run each call, and the others reuse its recorded outcome.

When DynamoDB fails to take an outcome (throttled beyond botocore's retries, or down),
the outcome is kept here and written again before the round is submitted
(:meth:`DynamoToolCallLedger.record_again`); a call whose record is still ``running``
when its run ends is completed from the output OpenAI holds (:meth:`complete`).
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

from .backends.base import ToolCall
from .store import Store
from .store.repository import utc_now
from .tools import Claim, ToolOutcome

__all__ = ["DynamoToolCallLedger"]


class DynamoToolCallLedger:
    def __init__(self, store: Store, owner: dict[str, str] | None = None) -> None:
        self._store = store
        self._owner = owner or {}
        self._lock = threading.Lock()
        # (run_id, tool_call_id) -> outcome whose record failed, for record_again.
        self._unrecorded: dict[tuple[str, str], ToolOutcome] = {}

    def owned_by(self, owner: dict[str, str]) -> DynamoToolCallLedger:
        """This ledger, marking the calls it claims with ``owner`` ({owner, tenant}: the
        thread's); the outcomes still to record again are shared."""
        if not owner:
            return self
        view = DynamoToolCallLedger(self._store, owner)
        view._lock, view._unrecorded = self._lock, self._unrecorded
        return view

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
            owner=self._owner,
        )
        if won:
            return Claim(won=True)
        if record is not None and record.get("status") in ("completed", "failed"):
            return Claim(won=False, outcome=_outcome(record))
        return Claim(won=False)

    def record(self, *, run_id: str, thread_id: str, outcome: ToolOutcome) -> None:
        try:
            self._write(run_id, outcome)
        except Exception:
            with self._lock:
                self._unrecorded[(run_id, outcome.tool_call_id)] = outcome
            raise

    def record_again(self, run_id: str) -> list[str]:
        """Write the outcomes of ``run_id`` whose record failed once more; returns the ids
        of the calls still unrecorded (they are forgotten here either way: once their
        outputs are submitted, :meth:`complete` finds them upstream)."""
        with self._lock:
            pending = [key for key in self._unrecorded if key[0] == run_id]
            outcomes = [self._unrecorded.pop(key) for key in pending]
        failed = []
        for outcome in outcomes:
            try:
                self._write(run_id, outcome)
            except Exception:
                failed.append(outcome.tool_call_id)
        return failed

    def complete(self, *, run_id: str, record: dict[str, Any], output: str | None) -> None:
        """Complete the record of a call left ``running`` when its run ended: with the
        output OpenAI received for it, or as failed when OpenAI has none."""
        now = utc_now()
        started = record.get("started_at") or record.get("claimed_at") or now
        error = None
        if output is None:
            status, error = "failed", "lost: the run ended before this call's outcome was recorded"
            output = json.dumps({"error": {"type": "lost", "message": error}})
        else:
            status = "completed"
            reported = _reported_error(output)
            if reported is not None:
                status, error = "failed", reported
        self._write(
            run_id,
            ToolOutcome(
                tool_call_id=record["tool_call_id"],
                name=record.get("name") or "",
                arguments=record.get("arguments") or "",
                output=output,
                status=status,
                error=error,
                duration_ms=int(record.get("duration_ms") or 0),
                started_at=started,
                finished_at=now,
            ),
        )

    def _write(self, run_id: str, outcome: ToolOutcome) -> None:
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


def _reported_error(output: str) -> str | None:
    """``type: message`` of an error output the tool runner made, else None."""
    try:
        parsed = json.loads(output)
    except ValueError:
        return None
    error = parsed.get("error") if isinstance(parsed, dict) and len(parsed) == 1 else None
    if isinstance(error, dict) and {"type", "message"} <= error.keys():
        return f"{error['type']}: {error['message']}"
    return None


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
