"""The recorder: the only writer of run and message records (and of a thread's busy
marks), and the one that emits the events of a run's start and end.

Every write is keyed by run id and message id, so doing it again changes nothing; the
end is written once (a conditional write on ``ended_at``), and only the write that
records it emits the run's last event.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from ..backends.base import Message, RunState
from ..errors import EngineError
from ..store import Store
from ..store.repository import utc_now
from .context import tool_replay
from .events import EventHub
from .rounds import ToolCallLedger
from .run import RunRecord, RunStatus
from .turn import Turn

__all__ = ["Lease", "Recorder", "fingerprint", "started_status"]


class Lease:
    """A streaming worker's hold on a run: polls only read the record until it ends."""

    def __init__(self, owner: str, until: float) -> None:
        self.owner = owner
        self.until = until


class Recorder:
    def __init__(
        self, store: Store, ledger: ToolCallLedger, events: EventHub, logger: logging.Logger
    ) -> None:
        self._store = store
        self._ledger = ledger
        self._events = events
        self._logger = logger

    # ------------------------------------------------------------------ threads
    def mark_asking(
        self,
        turn: Turn,
        text: str,
        *,
        claim: tuple[str, float] | None = None,
        idle_since_run: str | None = None,
    ) -> None:
        """Note on the thread that an ask is in flight until its run is recorded
        (``record_start`` removes it): an ask failing past here leaves a trace.
        ``claim`` (token, until): hold the thread for this ask alone, or raise a 409
        (engine-held threads, which no model server locks)."""
        self._store.upsert_thread(
            ask_claim=claim,
            idle_since_run=idle_since_run,
            assistant_id=turn.assistant_id,
            thread_id=turn.thread_id,
            assistant_type=turn.assistant_type,
            updated_by=turn.updated_by or "",
            backend=turn.backend.name,
            conversation_state=turn.backend.conversation_state,
            pending_ask=fingerprint(text),
            owner=turn.owner,
        )

    # ------------------------------------------------------------------ runs
    def record_start(self, turn: Turn, run: RunState, lease: Lease | None = None) -> None:
        """Record a run just started. A run that ended in its first request (a stateless
        model answers at once) is recorded as in progress: its end is the driver's to
        record (record_end), and a record with an end status is read as ended."""
        fields: dict[str, Any] = {
            "status": started_status(run),
            "usage": {},
            "model": run.model,
            "assistant_id": turn.assistant_id,
            "assistant_type": turn.assistant_type,
            "backend": turn.backend.name,
            "conversation_state": turn.backend.conversation_state,
            "upstream_thread_id": turn.upstream_thread_id,
            "updated_by": turn.updated_by,
            "created_at": run.created_at,
            "backend_state": run.progress or None,
            "assistant": turn.snapshot(),
            **turn.owner,
        }
        if lease is not None:
            fields.update(lease_until=lease.until, lease_owner=lease.owner)
        self._store.record_run(thread_id=turn.thread_id, run_id=run.id, fields=fields)
        if run.user_message is not None:
            self.record_messages([replace(run.user_message, run_id=run.id)], turn.owner)
        # Last: it ends the ask's pending mark, so only a fully recorded start removes it.
        self._store.mark_active_run(turn.assistant_id, turn.thread_id, run.id)
        self._events.emit(
            turn.thread_id, run.id, "run.started", key="started", status=run.status, model=run.model
        )

    def record_step(
        self,
        record: RunRecord,
        *,
        status: str | None = None,
        progress: dict[str, Any] | None = None,
        lease: Lease | None = None,
    ) -> None:
        """A step of a running run: its status (shown to polls under a lease), the
        backend's progress (written only by the round's winner: it never goes back), the
        lease renewed."""
        fields: dict[str, Any] = {}
        if status is not None:
            fields["status"] = status
        if progress:
            fields["backend_state"] = progress
        if lease is not None:
            fields.update(lease_until=lease.until, lease_owner=lease.owner)
        if fields:
            self._store.record_run(thread_id=record.thread_id, run_id=record.run_id, fields=fields)

    def release_ask(self, turn: Turn, token: str) -> None:
        """An ask that held the thread failed before its run was recorded: free it."""
        try:
            self._store.release_ask_claim(turn.assistant_id, turn.thread_id, token)
        except Exception:  # it runs out by itself
            self._logger.warning("Could not free thread %s after a failed ask", turn.thread_id)

    def release_lease(self, record: RunRecord, lease: Lease) -> None:
        try:
            self._store.record_run(
                thread_id=record.thread_id,
                run_id=record.run_id,
                fields={"lease_until": None, "lease_owner": None},
            )
        except Exception:
            self._logger.warning("Could not release the lease on run %s", record.run_id)

    def record_end(self, turn: Turn, state: RunState, record: RunRecord | None) -> RunRecord:
        """Record a run's end: its messages first, then its status, usage and error, once.
        Returns the record as it now stands."""
        if not state.progress and record is not None and record.progress:
            state = replace(state, progress=record.progress)
        called_tools = bool(record.tool_rounds) if record is not None else None
        self.record_messages(
            turn.backend.run_messages(turn.thread_id, state),
            turn.owner,
            after_tool_calls=called_tools,
            tool_replay=self._tool_replay(turn, state.id) if called_tools else None,
        )
        if self._may_have_unrecorded_calls(turn, record, state.id):
            self._complete_tool_records(turn, state)
        error = state.error
        if state.status == "cancelled" and record is not None and record.error:
            error = record.error  # cancelled on purpose (the round cap): upstream says less
        usage = state.usage.as_dict() if state.usage else (record.usage if record else {})
        fields = {
            "status": state.status,
            "usage": usage,
            "model": state.model,
            "error": error,
            "completed_at": state.completed_at,
        }
        first = self._store.end_run(thread_id=turn.thread_id, run_id=state.id, fields=fields)
        self._store.clear_active_run(turn.assistant_id, turn.thread_id, state.id)
        self._ledger.forget(state.id)
        if first:
            self._logger.info(
                "Run %s on thread %s ended %s", state.id, turn.thread_id, state.status
            )
            self._events.emit(
                turn.thread_id,
                state.id,
                f"run.{state.status}",
                key="end",
                status=state.status,
                usage=usage,
                error=error,
                model=state.model,
            )
            base = record or RunRecord(thread_id=turn.thread_id, run_id=state.id)
            return replace(
                base,
                status=RunStatus.of(state.status),
                usage=usage,
                error=error,
                ended=True,
                lease_until=None,
            )
        ended = RunRecord.from_item(self._store.get_run(turn.thread_id, state.id))
        assert ended is not None
        return ended

    def record_given_up(
        self, record: RunRecord, status: str, reason: str, *, upstream_open: bool = False
    ) -> bool:
        """End a run no trigger can take further (the queue gave up on it, the sweep found
        it stale) without a word from upstream: status and reason, once. False: an end was
        recorded already. ``upstream_open``: OpenAI could not be told to cancel it, so the
        thread keeps naming the run and the next ask closes it first."""
        first = self._store.end_run(
            thread_id=record.thread_id,
            run_id=record.run_id,
            fields={
                "status": status,
                "error": reason,
                "usage": record.usage or {},
                "upstream_open": upstream_open or None,
            },
        )
        if record.assistant_id and not upstream_open:
            self._store.clear_active_run(record.assistant_id, record.thread_id, record.run_id)
        self._ledger.forget(record.run_id)
        if first:
            self._logger.warning(
                "Run %s on thread %s %s: %s", record.run_id, record.thread_id, status, reason
            )
            self._events.emit(
                record.thread_id,
                record.run_id,
                f"run.{status}",
                key="end",
                status=status,
                usage=record.usage or {},
                error=reason,
                model=record.model,
            )
        return first

    def record_upstream_closed(self, turn: Turn, record: RunRecord) -> None:
        """The run a give-up left open upstream is closed there now: the thread is free."""
        self._store.record_run(
            thread_id=record.thread_id, run_id=record.run_id, fields={"upstream_open": None}
        )
        self._store.clear_active_run(turn.assistant_id, record.thread_id, record.run_id)

    def record_messages(
        self,
        messages: Iterable[Message],
        owner: dict[str, str] | None = None,
        *,
        after_tool_calls: bool | None = None,
        tool_replay: list[dict[str, str]] | None = None,
    ) -> None:
        """Record messages of one thread in conversation order (the order given).
        ``after_tool_calls``: whether the run called tools before its replies (marked on
        the assistant's messages: a replay reads tool records only where there are).
        ``tool_replay``: the copy of the run's tool calls kept on its first reply."""
        messages = list(messages)
        first_reply = next((m for m in messages if m.role == "assistant"), None)
        self._store.record_conversation(
            [
                {
                    "thread_id": message.thread_id,
                    "message_id": message.id,
                    "role": message.role,
                    "message": message.text,
                    "created_at": message.created_at or utc_now(),
                    "run_id": message.run_id,
                    **(
                        {"after_tool_calls": after_tool_calls}
                        if message.role == "assistant" and after_tool_calls is not None
                        else {}
                    ),
                    **(
                        {"tool_replay": tool_replay}
                        if message is first_reply and tool_replay is not None
                        else {}
                    ),
                }
                for message in messages
            ],
            owner,
        )

    def _tool_replay(self, turn: Turn, run_id: str) -> list[dict[str, str]] | None:
        """The copy of the run's tool calls for its reply (engine-held threads replay
        them on every later request; others never read it)."""
        if turn.backend.conversation_state != "engine":
            return None
        try:
            return tool_replay(self._store.list_tool_calls(run_id))
        except EngineError:  # a replay reads tool_calls instead
            self._logger.warning("Could not read run %s's tool calls for its reply", run_id)
            return None

    def _may_have_unrecorded_calls(self, turn: Turn, record: RunRecord | None, run_id: str) -> bool:
        """Whether a call record of the run may still be ``running`` (its outcome held
        by a process when DynamoDB refused it): the run record says so, or this process
        holds outcomes of the run, or the backend submits rounds unclaimed when DynamoDB
        fails (then no record says so)."""
        if record is None or record.calls_unrecorded or self._ledger.holds(run_id):
            return True
        return bool(record.tool_rounds) and turn.backend.refuses_repeated_outputs

    def _complete_tool_records(self, turn: Turn, state: RunState) -> None:
        """Complete the records of the run's tool calls still ``running`` at its end:
        their outcomes could not be written when they ran (DynamoDB failed); OpenAI has
        the outputs that were submitted. Read only for runs that had tool rounds."""
        stuck = [r for r in self._store.list_tool_calls(state.id) if r.get("status") == "running"]
        if not stuck:
            return
        outputs = turn.backend.submitted_tool_outputs(turn.thread_id, state)
        for item in stuck:
            self._ledger.complete(
                run_id=state.id, record=item, output=outputs.get(item["tool_call_id"])
            )


def started_status(run: RunState) -> str:
    """The status a run's start is recorded with (see :meth:`Recorder.record_start`)."""
    return RunStatus.IN_PROGRESS.value if run.is_terminal else run.status


def fingerprint(text: str) -> str:
    """What the thread's pending mark keeps of an ask's text."""
    return hashlib.sha256(text.strip().encode("utf-8", "surrogatepass")).hexdigest()[:16]
