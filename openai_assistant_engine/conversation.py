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
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from dataclasses import replace
from functools import cached_property
from typing import Any

from .backends.base import (
    TERMINAL_STATUSES,
    Backend,
    Message,
    RunState,
    ToolOutput,
    TurnOptions,
)
from .config import Settings
from .errors import BadRequestError, ConflictError, EngineError, NotFoundError
from .store import Store
from .store.repository import utc_now
from .tool_ledger import DynamoToolCallLedger
from .tools import ToolRunner

__all__ = ["Conversation"]

# How long ``ask`` waits for a streamed run to report its id.
_RUN_START_TIMEOUT_SECONDS = 60.0
# A claimed tool call whose owner vanished may be taken over after its timeout plus this.
_CLAIM_MARGIN_SECONDS = 30.0
# Configuration keys that are not response parameters.
_NON_PARAMETERS = {"model", "instructions", "tools", "backend", "function_configuration"}


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
    ) -> None:
        self._conversation = conversation
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
    ) -> dict[str, Any]:
        assistant = self._store.get_assistant(assistant_type, assistant_id)
        if not user_query.strip():
            raise BadRequestError("userQuery is empty: there is nothing to ask.")
        thread = self._known_thread(assistant_id, thread_id) if thread_id else None
        backend_name = (thread or {}).get("backend") or self._backend_name(assistant)
        backend = self._backend(backend_name)
        if thread is not None:
            self._refuse_if_busy(thread, backend)
        if thread_id is None:
            thread_id = backend.create_thread()
        self._store.upsert_thread(
            assistant_id=assistant_id,
            thread_id=thread_id,
            assistant_type=assistant_type,
            updated_by=updated_by,
            backend=backend_name,
        )
        turn = _Turn(
            self,
            assistant_type=assistant_type,
            assistant_id=assistant_id,
            thread_id=thread_id,
            backend_name=backend_name,
            updated_by=updated_by,
            assistant=assistant,
        )
        if self._settings.effective_run_driver == "stream" and hasattr(backend, "stream_turn"):
            run = self._start_streamed(turn, user_query)
        else:
            run = backend.start_turn(thread_id, user_query, turn.options)
            self._record_start(turn, run)
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
        if round_key in (record.get("submitted_rounds") or ()):
            # Another driver submitted this round already: this view of the run is stale
            # (and must not count against the cap, whose count includes this round).
            return state
        rounds = int(record.get("tool_rounds") or 0)
        if rounds >= self._settings.max_tool_rounds:
            return self._cancel_for_rounds(turn, state, rounds)
        outcomes = self._tools.run(
            functions=turn.assistant.get("functions") or [],
            assistant_configuration=turn.assistant.get("configuration") or {},
            calls=state.required_tool_calls,
            run_id=run_id,
            thread_id=thread_id,
            ledger=self._ledger,
        )
        if outcomes is None:
            return state  # another driver is running some of these calls
        if self._store.claim_tool_round(thread_id, run_id, round_key) is None:
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
            self._store.release_tool_round(thread_id, run_id, round_key)
            raise
        if next_state.progress:
            # Only the driver that won this round writes progress: it never goes backwards.
            self._store.record_run(
                thread_id=thread_id, run_id=run_id, fields={"backend_state": next_state.progress}
            )
        # Streamed, the next state is where the stream stopped (an end or the next round);
        # polled, it is usually queued again and the next currentRun goes on.
        return self._step(turn, next_state, streaming=streaming)

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
            self._record_message(message)
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

    # ------------------------------------------------------------------ starting runs
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
            },
        )
        self._store.mark_active_run(turn.assistant_id, turn.thread_id, run.id)
        if run.user_message is not None:
            self._record_message(replace(run.user_message, run_id=run.id))

    def _start_streamed(self, turn: _Turn, text: str) -> RunState:
        started: Future[RunState] = Future()

        def on_started(run: RunState) -> None:
            # Recorded here, on the worker, before it reads on: no later status can be
            # overwritten by this first one.
            try:
                self._record_start(turn, run)
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
            model=configuration.get("model"),
            instructions=configuration.get("instructions"),
            tools=tools,
            parameters={k: v for k, v in configuration.items() if k not in _NON_PARAMETERS},
        )

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

    def _record_message(self, message: Message) -> None:
        self._store.upsert_message(
            thread_id=message.thread_id,
            message_id=message.id,
            role=message.role,
            message=message.text,
            created_at=message.created_at or utc_now(),
            run_id=message.run_id,
        )


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
