"""Exactly once: every claim of the run lifecycle, over the run record.

Several triggers may advance one run at the same moment (a streaming worker, polls from
two Lambdas, next a queue worker and a webhook). Each step that must happen once is
taken by a conditional write that exactly one of them wins; the others see the step as
done and answer the run's current status. The claims:

=====================  ===============================  ================================
claim                  won by the conditional write     the others
=====================  ===============================  ================================
tool call              put of ``run_id / tool_call_id``  reuse its recorded outcome, or
                       (absent, or ``running`` past its  wait (None: "running elsewhere")
                       timeout: its driver died)
round (submission)     ``submitted_rounds`` lacks the    do nothing: the round is
                       round key (the sorted call ids)   submitted by the winner
round takeover         the round's claim is older than   (only where OpenAI refuses a
                       the longest submission, and       second submission of a round)
                       OpenAI refuses repeats
round cap              ``tool_rounds`` >= max_tool_rounds
                       and the run-end claim is won      leave the cancelling to the
                                                         winner
run end (on purpose)   ``error`` absent                  leave it to the winner
run end (recorded)     ``ended_at`` absent (recorder)    no event, nothing written
=====================  ===============================  ================================

A round claim's mark carries a token (``<uuid>.<epoch seconds>``): when botocore
retries a claim whose first answer was lost, the retry recognises its own mark; the
epoch tells a takeover how old the claim is.

Tool outcomes that DynamoDB failed to take are kept by the ledger in this process
until a write succeeds, and reused before any claim, so a call never runs twice here
for want of a record. A round claimed with such outcomes marks the run record
(``calls_unrecorded``); the run's end reads the run's call records only then (or when
this process holds outcomes of the run, or the backend can submit a round unclaimed),
and completes those still ``running`` from the outputs OpenAI received. Across
processes, never running twice is impossible: an outcome held by a process that died
with DynamoDB down is lost, and its claim is taken over once stale (the call then runs
again).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ..backends.base import RunState, ToolCall
from ..store import Store
from ..store.repository import utc_now
from ..tools import Claim, ToolOutcome
from .run import RunRecord

__all__ = ["RoundClaim", "Rounds", "ToolCallLedger", "round_key"]

# A claimed round whose driver vanished may be taken over once its submission (every
# attempt at the OpenAI timeout) is over, plus this.
_TAKEOVER_MARGIN_SECONDS = 30.0


def round_key(state: RunState) -> str:
    """The name of a round: its tool call ids, sorted."""
    return ",".join(sorted(call.id for call in state.required_tool_calls))


@dataclass(frozen=True)
class RoundClaim:
    thread_id: str
    run_id: str
    key: str
    token: str  # "" when submitted unclaimed (DynamoDB down, see Rounds.claim)
    number: int  # 1 for the run's first round


class Rounds:
    """Round claims, takeover, the round cap and the run-end claim."""

    def __init__(
        self,
        store: Store,
        *,
        max_rounds: int,
        submission_seconds: float,
        logger: logging.Logger,
    ) -> None:
        self._store = store
        self._max_rounds = max_rounds
        self._claim_lifetime = submission_seconds + _TAKEOVER_MARGIN_SECONDS
        self._logger = logger

    def submitted_elsewhere(
        self, record: RunRecord, state: RunState, *, refuses_repeats: bool
    ) -> tuple[bool, RunRecord]:
        """Whether another driver holds this round; a claim it can no longer be using
        is taken over (given back on its behalf), and the fresh record returned."""
        key = round_key(state)
        if key not in record.submitted_rounds:
            return False, record
        orphan = self._orphan_token(record, key) if refuses_repeats else None
        if orphan is None:
            return True, record
        self._logger.warning("Taking over round %s of run %s", key, record.run_id)
        self._store.release_tool_round(record.thread_id, record.run_id, key, orphan)
        fresh = RunRecord.from_item(self._store.get_run(record.thread_id, record.run_id))
        return False, fresh or record

    def cap_reason(self, record: RunRecord) -> str | None:
        """Why the run must end now instead of running another round; None: go on."""
        if record.tool_rounds < self._max_rounds:
            return None
        return (
            f"cancelled after {record.tool_rounds} tool rounds: the max_tool_rounds setting "
            f"({self._max_rounds}) stops runs that keep calling tools"
        )

    def claim(
        self, record: RunRecord, state: RunState, *, calls_unrecorded: bool = False
    ) -> RoundClaim | None:
        """Claim the submission of this round; None when another driver did.
        ``calls_unrecorded``: some outcomes of the round are held, not recorded: the
        claim says so on the run record, for whichever driver records the end."""
        key = round_key(state)
        token = f"{uuid.uuid4().hex}.{int(time.time())}"
        number = self._store.claim_tool_round(
            record.thread_id, record.run_id, key, token, calls_unrecorded=calls_unrecorded
        )
        if number is None:
            return None
        return RoundClaim(record.thread_id, record.run_id, key, token, number)

    def unclaimed(self, record: RunRecord, state: RunState) -> RoundClaim:
        """The round, submitted without a claim: only where OpenAI refuses a second
        submission, when DynamoDB fails and the outcomes exist only here."""
        return RoundClaim(record.thread_id, record.run_id, round_key(state), "", 0)

    def give_back(self, claim: RoundClaim) -> None:
        """Give a round back when its submission failed, so another attempt can make it."""
        if not claim.token:
            return
        try:
            self._store.release_tool_round(claim.thread_id, claim.run_id, claim.key, claim.token)
        except Exception:
            self._logger.exception("Could not give back round %s of %s", claim.key, claim.run_id)

    def claim_end(self, record: RunRecord, reason: str) -> bool:
        """Claim the ending of a run on purpose, recording why; False: another has."""
        return self._store.claim_run_end(record.thread_id, record.run_id, reason)

    def _orphan_token(self, record: RunRecord, key: str) -> str | None:
        for mark in record.submitted_rounds:
            if not mark.startswith(f"{key}@"):
                continue
            token = mark[len(key) + 1 :]
            claimed_at = token.rpartition(".")[2]
            if claimed_at.isdigit() and time.time() - int(claimed_at) > self._claim_lifetime:
                return token
        return None


class ToolCallLedger:
    """Tool-call claims by conditional write on ``run_id / tool_call_id``, and outcomes.

    One per process (see services.py): outcomes whose record failed are held here until
    written, and reused before claiming.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        # (run_id, tool_call_id) -> outcome whose record failed.
        self._unrecorded: dict[tuple[str, str], ToolOutcome] = {}

    def owned_by(self, owner: dict[str, str]) -> _OwnedLedger:
        """The ledger as the tool runner uses it for one thread: marks the calls it
        claims with ``owner`` ({owner, tenant}: the thread's)."""
        return _OwnedLedger(self, owner)

    def claim(
        self,
        *,
        run_id: str,
        thread_id: str,
        call: ToolCall,
        stale_after_seconds: float,
        owner: dict[str, str] | None = None,
    ) -> Claim:
        with self._lock:
            held = self._unrecorded.get((run_id, call.id))
        if held is not None:
            self._write_held(run_id, held)
            return Claim(won=False, outcome=held)
        won, record = self._store.claim_tool_call(
            run_id=run_id,
            tool_call_id=call.id,
            thread_id=thread_id,
            name=call.name,
            arguments=call.arguments,
            stale_before=utc_now() - timedelta(seconds=stale_after_seconds),
            owner=owner or {},
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
        """Write the held outcomes of ``run_id`` once more; the ids still unrecorded
        (they stay held)."""
        with self._lock:
            held = [o for (run, _), o in self._unrecorded.items() if run == run_id]
        return [o.tool_call_id for o in held if not self._write_held(run_id, o)]

    def holds(self, run_id: str) -> bool:
        with self._lock:
            return any(key[0] == run_id for key in self._unrecorded)

    def forget(self, run_id: str) -> None:
        """The run has ended: its records were completed from what OpenAI holds."""
        with self._lock:
            for key in [k for k in self._unrecorded if k[0] == run_id]:
                del self._unrecorded[key]

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

    def _write_held(self, run_id: str, outcome: ToolOutcome) -> bool:
        try:
            self._write(run_id, outcome)
        except Exception:
            return False
        with self._lock:
            self._unrecorded.pop((run_id, outcome.tool_call_id), None)
        return True

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


class _OwnedLedger:
    def __init__(self, ledger: ToolCallLedger, owner: dict[str, str]) -> None:
        self._ledger = ledger
        self._owner = owner

    def claim(
        self, *, run_id: str, thread_id: str, call: ToolCall, stale_after_seconds: float
    ) -> Claim:
        return self._ledger.claim(
            run_id=run_id,
            thread_id=thread_id,
            call=call,
            stale_after_seconds=stale_after_seconds,
            owner=self._owner,
        )

    def record(self, *, run_id: str, thread_id: str, outcome: ToolOutcome) -> None:
        self._ledger.record(run_id=run_id, thread_id=thread_id, outcome=outcome)


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
