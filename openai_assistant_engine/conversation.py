"""Ask, follow and read a conversation: the run lifecycle and its records.

``ask`` starts a run and returns as soon as its id exists. The run is then driven to its
end by whichever comes first, safely together:

* the streaming worker (long-lived processes): a background thread that consumes the
  run's events, runs the tools when the run requires action, and records the result;
* ``current_run`` (always; alone on Lambda, where background threads freeze): each call
  reads the run once and takes it one step further.

Both go through :meth:`Conversation._step`. Tool calls are claimed one by one in the
ledger, and each round of outputs is claimed before it is submitted, so no tool runs
twice and no round is submitted twice. Recording is keyed by run id and message id, so
doing it again changes nothing.

When OpenAI or DynamoDB fails halfway, the caller gets the error and repeating the same
call finishes the job: ``ask`` notes on the thread record that an ask is in flight
(``pending_ask``) until its run is recorded, and a repeated ask first looks upstream for
what the interrupted one left (a run to record, or a message to answer) instead of asking
twice; ``current_run`` records an end again as often as needed.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Collection
from concurrent.futures import Future
from dataclasses import replace
from functools import cached_property
from typing import Any

from .assistant_configuration import response_parameters
from .backends.base import (
    TERMINAL_STATUSES,
    Backend,
    Message,
    RunState,
    ToolOutput,
    TurnOptions,
)
from .backends.client import MAX_RETRIES
from .config import Settings
from .errors import BadRequestError, ConflictError, EngineError, NotFoundError, UpstreamError
from .identity.access import owner_of
from .store import Store
from .store.repository import utc_now
from .tool_ledger import DynamoToolCallLedger
from .tools import ToolRunner

__all__ = ["Conversation"]

# How long ``ask`` waits for a streamed run to report its id.
_RUN_START_TIMEOUT_SECONDS = 60.0
# A claimed round of tool outputs whose driver vanished may be taken over once its
# submission (every attempt at the OpenAI timeout) is over, plus this.
_CLAIM_MARGIN_SECONDS = 30.0


class _Turn:
    """Everything needed to move one run on; the assistant record is read only when a
    step needs it (tools to run, options to send), so a plain poll reads one record."""

    def __init__(
        self,
        conversation: Conversation,
        *,
        assistant_type: str,
        assistant_id: str,
        thread_id: str,
        backend_name: str,
        updated_by: str | None,
        assistant: dict[str, Any] | None = None,
        owner: dict[str, str] | None = None,
    ) -> None:
        self._conversation = conversation
        # {owner, tenant} of the thread (identity on), marked on every record of the turn.
        self.owner = owner or {}
        self.assistant_type = assistant_type
        self.assistant_id = assistant_id
        self.thread_id = thread_id
        self.backend_name = backend_name
        self.backend = conversation._backend(backend_name)
        self.updated_by = updated_by
        if assistant is not None:
            self.__dict__["assistant"] = assistant

    @cached_property
    def assistant(self) -> dict[str, Any]:
        return self._conversation._store.get_assistant(self.assistant_type, self.assistant_id)

    @cached_property
    def options(self) -> TurnOptions:
        return self._conversation._turn_options(self.assistant, self.backend_name)


class Conversation:
    def __init__(self, *, settings: Settings, store: Store, logger: logging.Logger) -> None:
        self._settings = settings
        self._store = store
        self._logger = logger
        self._backends: dict[str, Backend] = {}
        self._lock = threading.Lock()

    @cached_property
    def _tools(self) -> ToolRunner:
        return ToolRunner(
            logger=self._logger,
            allowlist=self._settings.function_module_allowlist,
            timeout_seconds=self._settings.tool_timeout_seconds,
            instance_cache_size=self._settings.tool_instance_cache_size,
        )

    @cached_property
    def _ledger(self) -> DynamoToolCallLedger:
        return DynamoToolCallLedger(self._store)

    def _backend(self, name: str) -> Backend:
        with self._lock:
            if name not in self._backends:
                from .backends import backend_for

                self._backends[name] = backend_for(name, self._settings)
            return self._backends[name]

    # ------------------------------------------------------------------ operations
    def ask(
        self,
        *,
        assistant_type: str,
        assistant_id: str,
        user_query: str,
        updated_by: str,
        thread_id: str | None = None,
        owner: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """``owner`` ({owner, tenant}: the caller) marks a new thread; an existing one
        keeps its own."""
        assistant = self._store.get_assistant(assistant_type, assistant_id)
        if not user_query.strip():
            raise BadRequestError("userQuery is empty: there is nothing to ask.")
        thread = self._known_thread(assistant_id, thread_id) if thread_id else None
        backend_name = (thread or {}).get("backend") or self._backend_name(assistant)
        if backend_name == "responses":
            self._require_model(assistant)  # before anything is created upstream
        backend = self._backend(backend_name)
        if thread is not None:
            self._refuse_if_busy(thread, backend)
        elif thread_id is not None:
            self._refuse_unknown_thread(assistant_id, thread_id, backend)
        created = thread_id is None
        if thread_id is None:
            thread_id = backend.create_thread()
        turn = _Turn(
            self,
            assistant_type=assistant_type,
            assistant_id=assistant_id,
            thread_id=thread_id,
            backend_name=backend_name,
            updated_by=updated_by,
            assistant=assistant,
            owner=owner_of(thread) if thread is not None else owner,
        )
        try:
            resuming = bool((thread or {}).get("pending_ask"))
            run = self._start_turn(turn, user_query, resuming=resuming)
        except EngineError as exc:
            if not created:
                raise
            # The caller never learnt the new thread's id: say it, so the ask can be
            # repeated in that thread rather than in yet another one.
            raise type(exc)(
                f"{exc.message} (askOpenAi had created thread {thread_id!r}: repeat askOpenAi "
                f"with threadId {thread_id!r} to go on in it.)",
                details=exc.details,
            ) from exc
        return {
            "assistant_id": assistant_id,
            "thread_id": thread_id,
            "user_query": user_query,
            "current_run_id": run.id,
        }

    def current_run(
        self, *, assistant_id: str, thread_id: str, run_id: str, updated_by: str
    ) -> dict[str, Any]:
        record = self._store.get_run(thread_id, run_id)
        if record is not None and record.get("status") in TERMINAL_STATUSES:
            return _run_view(thread_id, run_id, record)
        if record is not None and record.get("backend") and record.get("assistant_type"):
            # The run record names all a poll needs: no thread or assistant read.
            turn = _Turn(
                self,
                assistant_type=record["assistant_type"],
                assistant_id=record.get("assistant_id") or assistant_id,
                thread_id=thread_id,
                backend_name=record["backend"],
                updated_by=updated_by,
                owner=owner_of(record),
            )
        else:  # a run this engine did not start, or recorded by an older version
            thread = self._known_thread(assistant_id, thread_id)
            if thread is None:
                raise NotFoundError.for_keys(
                    "Thread", assistant_id=assistant_id, thread_id=thread_id
                )
            turn = self._turn_for(thread, updated_by)
        state = turn.backend.get_run(thread_id, run_id, (record or {}).get("backend_state") or {})
        state = self._step(turn, state, streaming=False, record=record)
        if state.is_terminal:
            return _run_view(thread_id, run_id, self._store.get_run(thread_id, run_id) or {})
        return {"thread_id": thread_id, "run_id": run_id, "status": state.status, "usage": {}}

    def last_message(
        self, *, thread_id: str, role: str, assistant_id: str | None = None
    ) -> dict[str, Any] | None:
        backend = self._backend(self._thread_backend(thread_id, assistant_id))
        message = backend.latest_message(thread_id, role)
        if message is None:
            return None
        message = self._with_recorded_details([message])[0]
        self._record_message(message)
        return _message_view(message)

    def live_messages(
        self, *, thread_id: str, roles: list[str] | None = None, order: str | None = None
    ) -> list[dict[str, Any]]:
        order = (order or "asc").lower()
        if order not in ("asc", "desc"):
            raise BadRequestError(f"order must be 'asc' or 'desc'; got {order!r}.")
        backend = self._backend(self._thread_backend(thread_id, None))
        wanted = [role for role in (roles or []) if role]
        messages = self._with_recorded_details(backend.list_messages(thread_id, wanted, order))
        return [_message_view(m) for m in messages]

    def delete_thread(self, *, assistant_id: str, thread_id: str) -> None:
        """Refused (409) while a run of the thread is active; one that has ended upstream
        is recorded first. Nothing is cancelled: the caller decides about a running turn."""
        thread = self._store.get_thread(assistant_id, thread_id)
        ended = thread.get("active_run_id")
        if ended:  # an idle thread needs no word from OpenAI
            backend = self._backend(thread.get("backend") or self._settings.openai_backend)
            try:
                self._refuse_if_busy(thread, backend)
            except ConflictError as exc:
                raise ConflictError(f"{exc.message} (deleteThread waits for it too.)") from exc
        self._store.delete_thread(assistant_id, thread_id, active_run_id=ended)

    # ------------------------------------------------------------------ the run's steps
    def _step(
        self,
        turn: _Turn,
        state: RunState,
        *,
        streaming: bool,
        record: dict[str, Any] | None = None,
    ) -> RunState:
        """Take a run one step on: run tools and submit, or record its end.

        ``record`` is the run record if the caller has just read it, saving a read.
        """
        if state.status == "requires_action":
            return self._submit_tools(turn, state, streaming=streaming)
        if state.is_terminal:
            self._finish(turn, state, record)
        return state

    def _submit_tools(self, turn: _Turn, state: RunState, *, streaming: bool) -> RunState:
        thread_id, run_id = turn.thread_id, state.id
        record = self._store.get_run(thread_id, run_id) or {}
        round_key = ",".join(sorted(call.id for call in state.required_tool_calls))
        marks = record.get("submitted_rounds") or ()
        if round_key in marks:
            orphan = self._orphaned_round(turn, round_key, marks)
            if orphan is None:
                # Another driver submitted this round already: this view of the run is
                # stale (and must not count against the cap, which counts this round).
                return state
            # Claimed long ago and OpenAI still waits for it: its driver died or failed
            # to give it back. Give it back on its behalf and go on.
            self._logger.warning("Taking over round %s of run %s", round_key, run_id)
            self._store.release_tool_round(thread_id, run_id, round_key, orphan)
            record = self._store.get_run(thread_id, run_id) or {}
        rounds = int(record.get("tool_rounds") or 0)
        if rounds >= self._settings.max_tool_rounds:
            return self._cancel_for_rounds(turn, state, rounds)
        outcomes = self._tools.run(
            functions=turn.assistant.get("functions") or [],
            assistant_configuration=turn.assistant.get("configuration") or {},
            calls=state.required_tool_calls,
            run_id=run_id,
            thread_id=thread_id,
            ledger=self._ledger.owned_by(turn.owner),
        )
        if outcomes is None:
            return state  # another driver is running some of these calls
        unrecorded = self._ledger.record_again(run_id)
        token = f"{uuid.uuid4().hex}.{int(time.time())}"
        try:
            claimed = self._store.claim_tool_round(thread_id, run_id, round_key, token)
        except UpstreamError:
            if not (unrecorded and turn.backend.refuses_repeated_outputs):
                raise
            # DynamoDB is failing and these outcomes exist only here: submitting them is
            # the one way to keep them (OpenAI refuses a second submission of the round,
            # and no other driver has them), and the run goes on. Their records are
            # completed from the run's steps when it ends.
            self._logger.warning(
                "Submitting tool outputs of run %s unclaimed: DynamoDB failed to record %s",
                run_id,
                ", ".join(unrecorded),
            )
            claimed, token = 0, ""
        if claimed is None:
            return state  # another driver submitted this round
        outputs = [ToolOutput(o.tool_call_id, o.output) for o in outcomes]
        progress = state.progress or record.get("backend_state") or {}
        submit = (
            turn.backend.stream_tool_outputs  # type: ignore[attr-defined]
            if streaming
            else turn.backend.submit_tool_outputs
        )
        try:
            next_state = submit(thread_id, run_id, outputs, turn.options, progress)
        except EngineError:
            if token:
                try:
                    self._store.release_tool_round(thread_id, run_id, round_key, token)
                except EngineError:
                    self._logger.exception("Could not give back round %s of %s", round_key, run_id)
            raise
        if next_state.progress:
            # Only the driver that won this round writes progress: it never goes backwards.
            self._store.record_run(
                thread_id=thread_id, run_id=run_id, fields={"backend_state": next_state.progress}
            )
        # Streamed, the next state is where the stream stopped (an end or the next round);
        # polled, it is usually queued again and the next currentRun goes on.
        return self._step(turn, next_state, streaming=streaming)

    def _orphaned_round(self, turn: _Turn, round_key: str, marks: Collection[str]) -> str | None:
        """The token of a claim on ``round_key`` whose submission can no longer be under
        way (older than the longest submission), when OpenAI itself refuses a second
        submission (so taking it over is safe even if it landed after all)."""
        if not turn.backend.refuses_repeated_outputs:
            return None
        lifetime = (MAX_RETRIES + 1) * self._settings.openai_timeout_seconds
        lifetime += _CLAIM_MARGIN_SECONDS
        for mark in marks:
            if not mark.startswith(f"{round_key}@"):
                continue
            token = mark[len(round_key) + 1 :]
            claimed_at = token.rpartition(".")[2]
            if claimed_at.isdigit() and time.time() - int(claimed_at) > lifetime:
                return token
        return None

    def _cancel_for_rounds(self, turn: _Turn, state: RunState, rounds: int) -> RunState:
        reason = (
            f"cancelled after {rounds} tool rounds: the max_tool_rounds setting "
            f"({self._settings.max_tool_rounds}) stops runs that keep calling tools"
        )
        # One driver cancels; another that reaches the cap meanwhile leaves it to that one
        # (cancelling twice fails upstream, or closes the Responses calls twice).
        if not self._store.claim_run_end(turn.thread_id, state.id, reason):
            return state
        progress = state.progress or {}
        cancelled = turn.backend.cancel_run(turn.thread_id, state.id, progress)
        final = replace(cancelled, status="cancelled", error=reason)
        self._finish(turn, final)
        return final

    def _finish(self, turn: _Turn, state: RunState, record: dict[str, Any] | None = None) -> None:
        """Record a run's end: its messages first, then its status, usage and error."""
        if record is None:
            record = self._store.get_run(turn.thread_id, state.id) or {}
        if not state.progress and record.get("backend_state"):
            state = replace(state, progress=record["backend_state"])
        for message in turn.backend.run_messages(turn.thread_id, state):
            self._record_message(message, turn.owner)
        self._complete_tool_records(turn, state)
        error = state.error
        if state.status == "cancelled" and record.get("error"):
            # Cancelled on purpose (see _cancel_for_rounds): upstream only says "cancelled".
            error = record["error"]
        self._store.record_run(
            thread_id=turn.thread_id,
            run_id=state.id,
            fields={
                "status": state.status,
                "usage": (state.usage.as_dict() if state.usage else record.get("usage") or {}),
                "model": state.model,
                "error": error,
                "completed_at": state.completed_at,
            },
        )
        self._store.clear_active_run(turn.assistant_id, turn.thread_id, state.id)
        self._logger.info("Run %s on thread %s ended %s", state.id, turn.thread_id, state.status)

    def _complete_tool_records(self, turn: _Turn, state: RunState) -> None:
        """Complete the records of the run's tool calls still ``running`` at its end: their
        outcomes could not be written when they ran (DynamoDB failed); OpenAI has the
        outputs that were submitted."""
        stuck = [r for r in self._store.list_tool_calls(state.id) if r.get("status") == "running"]
        if not stuck:
            return
        outputs = turn.backend.submitted_tool_outputs(turn.thread_id, state)
        for record in stuck:
            self._ledger.complete(
                run_id=state.id, record=record, output=outputs.get(record["tool_call_id"])
            )

    # ------------------------------------------------------------------ starting runs
    def _start_turn(self, turn: _Turn, text: str, *, resuming: bool) -> RunState:
        # The mark stays until the run is recorded (mark_active_run removes it): if this
        # ask fails past this point, the next ask on the thread looks for what it left.
        self._store.upsert_thread(
            assistant_id=turn.assistant_id,
            thread_id=turn.thread_id,
            assistant_type=turn.assistant_type,
            updated_by=turn.updated_by or "",
            backend=turn.backend_name,
            pending_ask=_fingerprint(text),
            owner=turn.owner,
        )
        if resuming:
            resumed = self._resume_ask(turn, text)
            if resumed is not None:
                return resumed
        backend = turn.backend
        if self._settings.effective_run_driver == "stream":
            return self._start_streamed(turn, text)
        run = backend.start_turn(turn.thread_id, text, turn.options)
        self._record_started(turn, run)
        return run

    def _resume_ask(self, turn: _Turn, text: str) -> RunState | None:
        """After an askOpenAi on this thread failed halfway: record the run it started, and
        return it when it answers ``text`` (this ask is its repetition); start a run for a
        message it left unanswered. None: nothing to resume, start as usual."""
        trace = turn.backend.trace_ask(turn.thread_id)
        run = trace.run
        if run is not None:
            record = self._store.get_run(turn.thread_id, run.id)
            if record is not None and record.get("status") in TERMINAL_STATUSES:
                return None  # an earlier turn, recorded to its end: nothing was left
            asks_this = run.user_message is not None and _same_text(run.user_message.text, text)
            self._logger.info(
                "Run %s on thread %s was started by an interrupted askOpenAi: recording it",
                run.id,
                turn.thread_id,
            )
            self._record_start(turn, run)
            if run.is_terminal:
                self._step(turn, run, streaming=False)
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
            # The interrupted ask added this very message: answer it instead of adding it
            # a second time.
            try:
                run = turn.backend.start_turn(turn.thread_id, text, turn.options, asked=asked)
            except ConflictError as exc:
                raise ConflictError(
                    f"Thread {turn.thread_id!r} is busy with a run that an earlier askOpenAi "
                    "started but could not record (its answer from OpenAI was lost, and "
                    "the Responses API cannot tell its id); wait for it to end, then ask "
                    f"again. {exc.message}"
                ) from exc
            self._record_started(turn, run)
            return run
        return None

    def _record_started(self, turn: _Turn, run: RunState) -> None:
        """Record a run just started; when that fails, leave OpenAI so that repeating the
        ask works, and say so."""
        try:
            self._record_start(turn, run)
        except EngineError as exc:
            hint = _unrecorded_hint(turn, run)
            if not turn.backend.lists_runs:
                # A response cannot be found again once its id is lost: cancel it, so the
                # repeated ask answers the message the conversation holds already.
                try:
                    cancelled = turn.backend.cancel_run(turn.thread_id, run.id, run.progress)
                    hint = (
                        f"Run {run.id!r} could not be recorded and was cancelled: repeat askOpenAi."
                    )
                    self._record_cancelled_start(turn, cancelled)
                except EngineError:
                    self._logger.exception("Could not cancel unrecorded run %s", run.id)
            raise type(exc)(f"{exc.message} {hint}", details=exc.details) from exc

    def _record_cancelled_start(self, turn: _Turn, cancelled: RunState) -> None:
        """End the record of a run cancelled because its start could not be recorded, when
        part of that start was (best effort: DynamoDB is failing)."""
        try:
            if self._store.get_run(turn.thread_id, cancelled.id) is not None:
                reason = "cancelled: the engine could not record the run's start"
                self._finish(turn, replace(cancelled, error=reason))
        except EngineError:
            self._logger.warning("Could not record the cancellation of run %s", cancelled.id)

    def _record_start(self, turn: _Turn, run: RunState) -> None:
        self._store.record_run(
            thread_id=turn.thread_id,
            run_id=run.id,
            fields={
                "status": run.status,
                "usage": {},
                "model": run.model,
                "assistant_id": turn.assistant_id,
                "assistant_type": turn.assistant_type,
                "backend": turn.backend_name,
                "updated_by": turn.updated_by,
                "created_at": run.created_at,
                "backend_state": run.progress or None,
                **turn.owner,
            },
        )
        if run.user_message is not None:
            self._record_message(replace(run.user_message, run_id=run.id), turn.owner)
        # Last: it ends the ask's pending mark, so only a fully recorded start removes it.
        self._store.mark_active_run(turn.assistant_id, turn.thread_id, run.id)

    def _start_streamed(self, turn: _Turn, text: str) -> RunState:
        started: Future[RunState] = Future()

        def on_started(run: RunState) -> None:
            # Recorded here, on the worker, before it reads on: no later status can be
            # overwritten by this first one.
            try:
                self._record_start(turn, run)
            except EngineError as exc:
                hint = _unrecorded_hint(turn, run)
                error = type(exc)(f"{exc.message} {hint}", details=exc.details)
                started.set_exception(error)
                raise error from exc
            except Exception as exc:
                started.set_exception(exc)
                raise
            started.set_result(run)

        def work() -> None:
            try:
                state = turn.backend.stream_turn(  # type: ignore[attr-defined]
                    turn.thread_id, text, turn.options, on_started
                )
                self._step(turn, state, streaming=True)
            except Exception as exc:
                if not started.done():
                    started.set_exception(exc)
                else:
                    # currentRun takes over from here; the caller has its run id already.
                    self._logger.warning(
                        "Streaming worker for thread %s stopped: %s", turn.thread_id, exc
                    )

        threading.Thread(target=work, name=f"oae-run-{turn.thread_id}", daemon=True).start()
        return started.result(timeout=_RUN_START_TIMEOUT_SECONDS)

    # ------------------------------------------------------------------ helpers
    def _known_thread(self, assistant_id: str | None, thread_id: str) -> dict[str, Any] | None:
        if assistant_id:
            try:
                return self._store.get_thread(assistant_id, thread_id)
            except NotFoundError:
                return None
        return self._store.find_thread(thread_id)

    def _thread_backend(self, thread_id: str, assistant_id: str | None) -> str:
        thread = self._known_thread(assistant_id, thread_id) or self._store.find_thread(thread_id)
        return (thread or {}).get("backend") or self._settings.openai_backend

    def _backend_name(self, assistant: dict[str, Any]) -> str:
        configured = (assistant.get("configuration") or {}).get("backend")
        if configured is None:
            return self._settings.openai_backend
        if configured not in ("assistants", "responses"):
            raise BadRequestError(
                f"Assistant {assistant['assistant_id']!r} has configuration.backend "
                f"{configured!r}; use 'assistants' or 'responses'."
            )
        return configured

    def _turn_for(self, thread: dict[str, Any], updated_by: str | None) -> _Turn:
        assistant = self._store.get_assistant(thread["assistant_type"], thread["assistant_id"])
        return _Turn(
            self,
            assistant_type=thread["assistant_type"],
            assistant_id=thread["assistant_id"],
            thread_id=thread["thread_id"],
            backend_name=thread.get("backend") or self._backend_name(assistant),
            updated_by=updated_by,
            assistant=assistant,
            owner=owner_of(thread),
        )

    def _require_model(self, assistant: dict[str, Any]) -> None:
        """The Responses API needs a model per request: say where to set one."""
        if (assistant.get("configuration") or {}).get("model") or self._settings.openai_model:
            return
        raise BadRequestError(
            f"Assistant {assistant['assistant_id']!r} names no model: set the setting "
            "openai_model (OPENAI_MODEL), or configuration.model on the assistant record "
            "(insertUpdateAssistant's $configuration)."
        )

    def _turn_options(self, assistant: dict[str, Any], backend_name: str) -> TurnOptions:
        configuration = assistant.get("configuration") or {}
        tools: tuple[dict[str, Any], ...] = ()
        if backend_name == "responses":
            # The Responses API keeps no assistant: tools go with every request.
            tools = tuple(
                self._tools.describe(
                    functions=assistant.get("functions") or [],
                    assistant_configuration=configuration,
                )
            )
        return TurnOptions(
            assistant_id=assistant["assistant_id"],
            model=configuration.get("model") or self._settings.openai_model,
            instructions=configuration.get("instructions"),
            tools=tools,
            parameters=response_parameters(configuration, backend_name),
        )

    def _refuse_unknown_thread(self, assistant_id: str, thread_id: str, backend: Backend) -> None:
        """A threadId with no record for this assistant: nothing may be written unless it
        exists upstream and no other assistant's record holds it (404 otherwise)."""
        if self._store.find_thread(thread_id) is not None:
            raise NotFoundError(
                f"Thread {thread_id!r} belongs to another assistant than {assistant_id!r}."
            )
        backend.latest_message(thread_id, "user")  # NotFoundError when OpenAI has none

    def _refuse_if_busy(self, thread: dict[str, Any], backend: Backend) -> None:
        run_id = thread.get("active_run_id")
        if not run_id:
            return
        record = self._store.get_run(thread["thread_id"], run_id) or {}
        if record.get("status") in TERMINAL_STATUSES:
            return
        state = backend.get_run(thread["thread_id"], run_id, record.get("backend_state") or {})
        if state.is_terminal:
            self._step(self._turn_for(thread, None), state, streaming=False)
            return
        raise ConflictError(
            f"Thread {thread['thread_id']!r} is still busy with run {run_id!r} "
            f"(status {state.status}); poll currentRun until it ends, then ask again."
        )

    def _with_recorded_details(self, messages: list[Message]) -> list[Message]:
        """Fill in time and run id where the backend does not tell them (conversation
        items carry neither; an Assistants user message has no run id, being added before
        its run starts) from the records made when the run started and ended."""
        missing = [m for m in messages if m.created_at is None or m.run_id is None]
        if not missing:
            return messages
        if len(missing) == 1:
            # lastMessage: one record by its key, not the whole thread's.
            recorded = {missing[0].id: self._recorded_message(missing[0])}
        else:
            recorded = self._store.messages_of_thread(messages[0].thread_id)
        now = utc_now()
        filled = []
        for message in messages:
            known = recorded.get(message.id, {})
            filled.append(
                replace(
                    message,
                    created_at=message.created_at or known.get("created_at") or now,
                    run_id=message.run_id or known.get("run_id"),
                )
            )
        return filled

    def _recorded_message(self, message: Message) -> dict[str, Any]:
        try:
            return self._store.get_message(message.thread_id, message.id)
        except NotFoundError:
            return {}

    def _record_message(self, message: Message, owner: dict[str, str] | None = None) -> None:
        self._store.upsert_message(
            owner=owner,
            thread_id=message.thread_id,
            message_id=message.id,
            role=message.role,
            message=message.text,
            created_at=message.created_at or utc_now(),
            run_id=message.run_id,
            in_conversation=True,
        )


def _unrecorded_hint(turn: _Turn, run: RunState) -> str:
    """What to do about a run that started on OpenAI but could not be recorded."""
    if turn.backend.lists_runs:
        return (
            f"Run {run.id!r} has started on OpenAI but could not be recorded: repeat "
            "askOpenAi to pick it up."
        )
    return (
        f"Run {run.id!r} has started on OpenAI but could not be recorded: poll currentRun "
        f"with runId {run.id!r} to record it (repeating askOpenAi would ask again)."
    )


def _fingerprint(text: str) -> str:
    return hashlib.sha256(text.strip().encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _same_text(recorded: str, asked: str) -> bool:
    return recorded.strip() == asked.strip()


def _run_view(thread_id: str, run_id: str, record: dict[str, Any]) -> dict[str, Any]:
    return {
        "thread_id": thread_id,
        "run_id": run_id,
        "status": record.get("status"),
        "usage": record.get("usage") or {},
        "error": record.get("error"),
    }


def _message_view(message: Message) -> dict[str, Any]:
    return {
        "thread_id": message.thread_id,
        "run_id": message.run_id,
        "message_id": message.id,
        "role": message.role,
        "message": message.text,
        "created_at": message.created_at,
    }
