"""The run's state machine: one ``advance`` for every trigger.

A poll (``currentRun``), the streaming worker of a long-lived process and, next, a queue
worker or a webhook all call :meth:`RunDriver.advance`; nothing else moves a run. It
loops, one step per turn of the loop, until the run ends or waits on something outside:

=====================  =====================================  ==========================
upstream state         action                                  then
=====================  =====================================  ==========================
(record ended)         none: answer the record                 stop
(record leased by a    none: a live streaming worker holds     stop (answer the record)
live worker; a poll)   the run, polls only read
queued, in_progress,   none (the worker records the status)    stop: the next trigger
cancelling                                                     goes on
requires_action        round already submitted by another      stop (no-op)
                       driver (rounds: round claim)
requires_action        rounds >= max_tool_rounds: win the      record the end
                       run-end claim, cancel upstream          (or stop: another won)
requires_action        run the tools (each claimed once),      the next state (streamed:
                       win the round claim, submit all         where the stream stopped;
                       outputs at once                          polled: usually queued)
completed, failed,     record messages, usage, status once     stop
cancelled, expired,    (recorder: ``ended_at`` claim)
incomplete
=====================  =====================================  ==========================

Claims are explained in rounds.py. A step another trigger is taking at the same moment
is never an error here: a lost claim, or OpenAI answering that the run is busy or has
moved on, ends the loop with the run's current status.

Events (events.py) are emitted as the steps happen: ``run.requires_action`` when a
round is taken, ``tool_call.started`` / ``tool_call.completed`` around each call this
driver runs, ``message.delta`` while a stream is read; the recorder emits the start and
the end.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from ..backends.base import RunState, StreamEvent, ToolCall, ToolOutput
from ..errors import ConflictError, UpstreamError
from ..tools import ToolOutcome, ToolRunner
from .events import EventHub
from .recorder import Lease, Recorder
from .rounds import Rounds, ToolCallLedger, round_key
from .run import RunRecord, RunStatus
from .turn import Turn

__all__ = ["RunDriver", "live_view"]


class RunDriver:
    def __init__(
        self,
        *,
        recorder: Recorder,
        rounds: Rounds,
        tools: ToolRunner,
        ledger: ToolCallLedger,
        events: EventHub,
        workers: Any,
        logger: logging.Logger,
    ) -> None:
        self._recorder = recorder
        self._rounds = rounds
        self._tools = tools
        self._ledger = ledger
        self._events = events
        self._workers = workers
        self._logger = logger

    def advance(
        self,
        turn: Turn,
        record: RunRecord,
        state: RunState | None = None,
        *,
        lease: Lease | None = None,
    ) -> dict[str, Any]:
        """Take the run as far as it goes now; the run as ``currentRun`` answers it.

        ``record``: the run record as just read (or written). ``state``: the upstream
        state when the caller has it (a stream's last word). ``lease``: the caller is
        the streaming worker holding the run: it streams its submissions and renews the
        lease at each step.
        """
        while True:
            if record.ended:
                return record.view()
            if state is None:
                if lease is None and self._workers.holds(record):
                    return record.view()
                state = turn.backend.get_run(turn.thread_id, record.run_id, record.progress)
            if state.is_terminal:
                return self._recorder.record_end(turn, state, record).view()
            if state.status != RunStatus.REQUIRES_ACTION.value:
                return live_view(state)
            try:
                moved = self._round(turn, record, state, lease)
            except ConflictError as exc:
                # OpenAI says another driver moved the run on meanwhile: not an error.
                self._logger.info("Run %s moved on elsewhere: %s", record.run_id, exc.message)
                return live_view(state)
            if moved is None:
                return live_view(state)
            record, state = moved

    # ------------------------------------------------------------------ steps
    def _round(
        self, turn: Turn, record: RunRecord, state: RunState, lease: Lease | None
    ) -> tuple[RunRecord, RunState] | None:
        """Run one round of tools and submit it; None when another driver has it."""
        backend = turn.backend
        elsewhere, record = self._rounds.submitted_elsewhere(
            record, state, refuses_repeats=backend.refuses_repeated_outputs
        )
        if elsewhere:
            return None
        reason = self._rounds.cap_reason(record)
        if reason is not None:
            return self._cancel(turn, record, state, reason)
        key = round_key(state)
        self._events.emit(
            turn.thread_id,
            record.run_id,
            "run.requires_action",
            key=f"round:{key}",
            round=record.tool_rounds + 1,
            tool_calls=[_call_view(call) for call in state.required_tool_calls],
        )
        if lease is not None:
            self._renew(record, lease, status=state.status)
        outcomes = self._tools.run(
            functions=turn.functions,
            assistant_configuration=turn.configuration,
            calls=state.required_tool_calls,
            run_id=record.run_id,
            thread_id=turn.thread_id,
            ledger=self._ledger.owned_by(turn.owner),
            observer=_ToolEvents(self._events, turn.thread_id, record.run_id),
        )
        if outcomes is None:
            return None  # another driver is running some of these calls
        unrecorded = self._ledger.record_again(record.run_id)
        try:
            claim = self._rounds.claim(record, state, calls_unrecorded=bool(unrecorded))
        except UpstreamError:
            if not (unrecorded and backend.refuses_repeated_outputs):
                raise
            # DynamoDB is failing and these outcomes exist only here: submitting them is
            # the one way to keep them (OpenAI refuses a second submission of the round),
            # and the run goes on; their records are completed when it ends.
            self._logger.warning(
                "Submitting tool outputs of run %s unclaimed: DynamoDB failed to record %s",
                record.run_id,
                ", ".join(unrecorded),
            )
            claim = self._rounds.unclaimed(record, state)
        if claim is None:
            return None  # another driver submitted this round
        try:  # whatever fails between the claim and the submission gives the round back
            outputs = [ToolOutput(o.tool_call_id, o.output) for o in outcomes]
            # The state's progress carries what the round itself adds (its usage).
            progress = state.progress or record.progress
            if lease is not None:
                stream = backend.stream_tool_outputs(
                    turn.thread_id, record.run_id, outputs, turn.options, progress
                )
                next_state = self.follow_stream(stream, record, lease)
            else:
                next_state = backend.submit_tool_outputs(
                    turn.thread_id, record.run_id, outputs, turn.options, progress
                )
        except BaseException:
            self._rounds.give_back(claim)
            raise
        record = replace(
            record,
            tool_rounds=max(claim.number, record.tool_rounds + 1),
            submitted_rounds=record.submitted_rounds | {key},
            progress=next_state.progress or record.progress,
        )
        if next_state.progress or lease is not None:
            # Only this round's winner writes progress: it never goes backwards.
            self._recorder.record_step(
                record,
                progress=next_state.progress,
                status=None if next_state.is_terminal else next_state.status,
                lease=self._renewed(lease),
            )
        return record, next_state

    def _cancel(
        self, turn: Turn, record: RunRecord, state: RunState, reason: str
    ) -> tuple[RunRecord, RunState] | None:
        # One driver cancels; another reaching the cap meanwhile leaves it to that one
        # (cancelling twice fails upstream, or closes the Responses calls twice).
        if not self._rounds.claim_end(record, reason):
            return None
        cancelled = turn.backend.cancel_run(turn.thread_id, record.run_id, state.progress)
        final = replace(cancelled, status=RunStatus.CANCELLED.value, error=reason)
        return replace(record, error=reason), final

    def follow_stream(
        self, events: Iterator[StreamEvent], record: RunRecord, lease: Lease
    ) -> RunState:
        """Read a stream to its last word, emitting the text as it comes."""
        stopped: RunState | None = None
        renew_at = time.time() + self._workers.renew_every
        for event in events:
            if event.kind == "text":
                self._events.emit(record.thread_id, record.run_id, "message.delta", text=event.text)
                if time.time() > renew_at:  # a long answer: keep the lease
                    self._renew(record, lease)
                    renew_at = time.time() + self._workers.renew_every
            elif event.kind == "stopped":
                stopped = event.state
        if stopped is None:
            raise UpstreamError("The stream ended before the run stopped.")
        return stopped

    def _renew(self, record: RunRecord, lease: Lease, status: str | None = None) -> None:
        self._recorder.record_step(record, status=status, lease=self._renewed(lease))

    def _renewed(self, lease: Lease | None) -> Lease | None:
        if lease is not None:
            lease.until = time.time() + self._workers.lease_seconds
        return lease


class _ToolEvents:
    """Tool-call events of one run, as the tool runner starts and ends its calls."""

    def __init__(self, events: EventHub, thread_id: str, run_id: str) -> None:
        self._events = events
        self._thread_id = thread_id
        self._run_id = run_id

    def started(self, call: ToolCall) -> None:
        self._events.emit(
            self._thread_id,
            self._run_id,
            "tool_call.started",
            key=f"call:{call.id}:started",
            **{"tool_call_id": call.id, "name": call.name, "arguments": call.arguments},
        )

    def finished(self, outcome: ToolOutcome) -> None:
        self._events.emit(
            self._thread_id,
            self._run_id,
            "tool_call.completed",
            key=f"call:{outcome.tool_call_id}:completed",
            tool_call_id=outcome.tool_call_id,
            name=outcome.name,
            status=outcome.status,
            output=outcome.output,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
        )


def _call_view(call: ToolCall) -> dict[str, str]:
    return {"id": call.id, "name": call.name, "arguments": call.arguments}


def live_view(state: RunState) -> dict[str, Any]:
    """A run still under way, as ``currentRun`` answers it."""
    return {"thread_id": state.thread_id, "run_id": state.id, "status": state.status, "usage": {}}
