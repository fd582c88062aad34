"""Starting a turn: ``askOpenAi`` returns as soon as the run exists and is recorded.

When OpenAI or DynamoDB fails halfway, the caller gets the error and repeating the same
ask finishes the job: the thread notes that an ask is in flight (``pending_ask``) until
its run is recorded, and a repeated ask first looks upstream for what the interrupted
one left (a run to record, or a message to answer) instead of asking twice.

Polled, the run is started in the background upstream and driven by ``currentRun``;
streamed, a worker thread of this process reads the run's events, records its start
(then the ask returns) and advances it to its end under a lease (workers.py).
"""

from __future__ import annotations

import logging
import time
import uuid
from concurrent.futures import Future
from dataclasses import replace

from ..backends.base import RunState
from ..errors import ConflictError, EngineError, UpstreamError
from ..store import Store
from .driver import RunDriver
from .recorder import Recorder, started_status
from .run import RunRecord, RunStatus
from .turn import Turn
from .workers import Workers

__all__ = ["Starter"]

# How long ``ask`` waits for a streamed run to report its id.
_RUN_START_TIMEOUT_SECONDS = 60.0


class Starter:
    def __init__(
        self,
        *,
        store: Store,
        recorder: Recorder,
        driver: RunDriver,
        workers: Workers,
        streaming: bool,
        logger: logging.Logger,
        ask_hold_seconds: float = 300.0,
    ) -> None:
        self._store = store
        self._recorder = recorder
        self._driver = driver
        self._workers = workers
        self._streaming = streaming
        self._logger = logger
        # How long an ask may hold an engine-held thread before another may take it.
        self._ask_hold_seconds = ask_hold_seconds

    def start(
        self, turn: Turn, text: str, *, resuming: bool, idle_since_run: str | None = None
    ) -> RunState:
        """``idle_since_run``: the thread's last run, known ended (none is active)."""
        if turn.backend.conversation_state != "engine":
            self._recorder.mark_asking(turn, text)
            return self._start(turn, text, resuming=resuming)
        # No model server locks an engine-held thread: the thread record does, one ask
        # at a time, until its run is recorded (or the hold runs out: a process died).
        token = uuid.uuid4().hex
        claim = (token, time.time() + self._ask_hold_seconds)
        self._recorder.mark_asking(turn, text, claim=claim, idle_since_run=idle_since_run)
        try:
            return self._start(turn, text, resuming=resuming)
        except BaseException:
            self._recorder.release_ask(turn, token)
            raise

    def _start(self, turn: Turn, text: str, *, resuming: bool) -> RunState:
        if resuming:
            resumed = self._resume(turn, text)
            if resumed is not None:
                return resumed
        if self._streaming:
            return self._start_streamed(turn, text)
        run = turn.backend.start_turn(turn.thread_id, text, turn.options)
        self._record_started(turn, run)
        if run.is_terminal:  # answered in the start's own request (a stateless backend)
            self._record_ended_at_once(turn, run)
        return run

    # ------------------------------------------------------------------ recovery
    def _resume(self, turn: Turn, text: str) -> RunState | None:
        """After an ask on this thread failed halfway: record the run it started, and
        return it when it answers ``text`` (this ask is its repetition); start a run for
        a message it left unanswered. None: nothing to resume, start as usual."""
        trace = turn.backend.trace_ask(turn.thread_id)
        run = trace.run
        if run is not None:
            if self._ended(turn, run):
                return None  # an earlier turn, recorded to its end: nothing was left
            asks_this = run.user_message is not None and _same_text(run.user_message.text, text)
            self._logger.info(
                "Run %s on thread %s was started by an interrupted askOpenAi: recording it",
                run.id,
                turn.thread_id,
            )
            self._recorder.record_start(turn, run)
            if run.is_terminal:
                self._driver.advance(turn, _record_of(turn, run), run)
            if asks_this:
                return run
            if not run.is_terminal:
                raise ConflictError(
                    f"Thread {turn.thread_id!r} is still busy with run {run.id!r}, started by "
                    "an earlier askOpenAi that failed before recording it (it is recorded "
                    "now); poll currentRun until it ends, then ask again."
                )
            return None
        asked = trace.unanswered
        if asked is not None and _same_text(asked.text, text):
            # The interrupted ask added this very message: answer it, not add it twice.
            try:
                run = turn.backend.start_turn(turn.thread_id, text, turn.options, asked=asked)
            except ConflictError as exc:
                raise ConflictError(
                    f"Thread {turn.thread_id!r} is busy with a run that an earlier askOpenAi "
                    "started but could not record (OpenAI's answer naming it was lost); wait "
                    f"for it to end, then ask again. {exc.message}"
                ) from exc
            self._record_started(turn, run)
            return run
        return None

    def _record_ended_at_once(self, turn: Turn, run: RunState) -> None:
        try:
            self._driver.advance(turn, _record_of(turn, run), run)
        except EngineError as exc:  # the run is recorded: a poll records its end
            self._logger.warning("Could not record the end of run %s yet: %s", run.id, exc)

    def _ended(self, turn: Turn, run: RunState) -> bool:
        record = RunRecord.from_item(self._store.get_run(turn.thread_id, run.id))
        return record is not None and record.ended

    def _record_started(self, turn: Turn, run: RunState) -> None:
        """Record a run just started; when that fails, leave OpenAI so that repeating the
        ask works, and say how."""
        try:
            self._recorder.record_start(turn, run)
        except EngineError as exc:
            cancelled, hint = turn.backend.lost_start(turn.thread_id, run, streamed=False)
            if cancelled:
                self._end_cancelled_start(turn, run)
            raise type(exc)(f"{exc.message} {hint}", details=exc.details) from exc

    def _end_cancelled_start(self, turn: Turn, run: RunState) -> None:
        """End the record of a run cancelled because its start could not be recorded, when
        part of that start was (best effort: DynamoDB is failing)."""
        reason = "cancelled: the engine could not record the run's start"
        try:
            cancelled = replace(run, status="cancelled", error=reason)
            self._recorder.record_end(turn, cancelled, None)
        except EngineError:
            self._logger.warning("Could not record the cancellation of run %s", run.id)

    # ------------------------------------------------------------------ streamed
    def _start_streamed(self, turn: Turn, text: str) -> RunState:
        started: Future[RunState] = Future()
        lease = self._workers.new_lease()

        def work() -> None:
            record: RunRecord | None = None
            events = turn.backend.stream_turn(turn.thread_id, text, turn.options)
            try:
                first = next(events, None)
                if first is None or first.kind != "started" or first.state is None:
                    raise UpstreamError("The stream ended before the run started.")
                run = first.state
                try:
                    self._recorder.record_start(turn, run, lease)
                except EngineError as exc:
                    events.close()  # stop reading: nobody will record what follows
                    _, hint = turn.backend.lost_start(turn.thread_id, run, streamed=True)
                    started.set_exception(type(exc)(f"{exc.message} {hint}", details=exc.details))
                    return
                record = _record_of(turn, run, lease)
                started.set_result(run)
                last = self._driver.follow_stream(events, record, lease)
                view = self._driver.advance(turn, record, last, lease=lease)
                if RunStatus.ended(view["status"]):
                    record = None  # the end took the lease with it
            except Exception as exc:
                if not started.done():
                    started.set_exception(exc)
                else:  # polls take over from here; the caller has its run id already
                    self._logger.warning(
                        "Streaming worker for thread %s stopped: %s", turn.thread_id, exc
                    )
            finally:
                self._workers.stopped(lease)
                if record is not None:
                    self._recorder.release_lease(record, lease)

        self._workers.start(f"oae-run-{turn.thread_id}", work)
        return started.result(timeout=_RUN_START_TIMEOUT_SECONDS)


def _record_of(turn: Turn, run: RunState, lease: object = None) -> RunRecord:
    """The record just written by ``record_start``, without reading it back."""
    record = RunRecord.from_item(
        {
            "thread_id": turn.thread_id,
            "run_id": run.id,
            "status": started_status(run),
            "assistant_id": turn.assistant_id,
            "assistant_type": turn.assistant_type,
            "backend": turn.backend.name,
            "conversation_state": turn.backend.conversation_state,
            "upstream_thread_id": turn.upstream_thread_id,
            "backend_state": run.progress,
            "extra": {"assistant": turn.snapshot()},
            **turn.owner,
        }
    )
    assert record is not None
    return record


def _same_text(recorded: str, asked: str) -> bool:
    return recorded.strip() == asked.strip()
