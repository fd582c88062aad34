"""The conversation operations the schema calls: ask, follow a run, read, delete.

Each builds a :class:`Turn` and hands it to the part that owns the step: starting.py
(ask), driver.py (every move of a run), history.py (reads), recorder.py (every write).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from ..errors import BadRequestError, ConflictError, EngineError, NotFoundError
from ..identity.access import owner_of
from .context import ContextWindow
from .driver import RunDriver
from .events import RunEvent
from .history import History
from .migration import ThreadMigration
from .recorder import Recorder
from .rounds import Rounds
from .run import RunRecord, RunStatus
from .starting import Starter
from .turn import Turn
from .upstream_ids import repointed

__all__ = ["Conversation"]


class Conversation:
    def __init__(self, services: Any, logger: logging.Logger) -> None:
        self._services = services
        self._settings = services.settings
        self._store = services.store
        self._logger = logger
        self._recorder = Recorder(self._store, services.ledger, services.events, logger)
        self._driver = RunDriver(
            recorder=self._recorder,
            rounds=Rounds(
                self._store,
                max_rounds=self._settings.max_tool_rounds,
                submission_seconds=services.submission_seconds,
                logger=logger,
            ),
            tools=services.tools,
            ledger=services.ledger,
            events=services.events,
            workers=services.workers,
            logger=logger,
        )
        self._starter = Starter(
            store=self._store,
            recorder=self._recorder,
            driver=self._driver,
            workers=services.workers,
            streaming=self._settings.effective_run_driver == "stream",
            logger=logger,
            ask_hold_seconds=services.submission_seconds,
        )
        self._history = History(self._store)
        self._context = ContextWindow(
            self._store, services.token_counter, self._settings.context_max_tokens
        )
        self._migration = ThreadMigration(services, self._context, logger)

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
        if thread is not None:
            state: str | None = _state_of(thread)
        else:
            state = self._services.new_thread_state(backend_name, self._state_setting(assistant))
        turn = self._turn(
            assistant_type=assistant_type,
            assistant_id=assistant_id,
            thread_id=thread_id or "",
            backend_name=backend_name,
            state=state or "openai",
            upstream_id=(thread or {}).get("upstream_thread_id"),
            updated_by=updated_by,
            owner=owner_of(thread) if thread is not None else owner,
            assistant=assistant,
        )
        turn.backend.check_options(turn.options)  # before anything is created upstream
        if thread is not None:
            self._refuse_if_busy(thread, turn)
        elif thread_id is not None:
            self._refuse_unknown_thread(assistant_id, thread_id, turn)
        created = thread_id is None
        if created:
            turn.thread_id = self._create_thread(turn, backend_name, probing=state is None)
        try:
            resuming = bool((thread or {}).get("pending_ask"))
            run = self._starter.start(
                turn,
                user_query,
                resuming=resuming,
                idle_since_run=(thread or {}).get("active_run_id"),
            )
        except EngineError as exc:
            if not created:
                raise
            # The caller never learnt the new thread's id: say it, so the ask can be
            # repeated in that thread rather than in yet another one.
            raise type(exc)(
                f"{exc.message} (askOpenAi had created thread {turn.thread_id!r}: repeat "
                f"askOpenAi with threadId {turn.thread_id!r} to go on in it.)",
                details=exc.details,
            ) from exc
        if not run.is_terminal:
            self._put_on_queue(turn, run.id)
        return {
            "assistant_id": assistant_id,
            "thread_id": turn.thread_id,
            "user_query": user_query,
            "current_run_id": run.id,
        }

    def _put_on_queue(self, turn: Turn, run_id: str) -> None:
        """With a run queue, the run goes on it: a worker takes it to its end whether or
        not anyone polls. A queue that fails leaves the run to polls and the sweep."""
        queue = self._services.run_queue
        if queue is None:
            return
        from ..unattended.queue import RunMessage

        message = RunMessage(turn.thread_id, run_id, turn.assistant_id, started_at=time.time())
        try:
            queue.enqueue(message)
        except EngineError as exc:
            self._logger.warning(
                "Run %s is not on the run queue (polls and the sweep take it on): %s",
                run_id,
                exc.message,
            )

    def current_run(
        self, *, assistant_id: str, thread_id: str, run_id: str, updated_by: str
    ) -> dict[str, Any]:
        record = RunRecord.from_item(self._store.get_run(thread_id, run_id))
        if record is not None and record.ended:
            return record.view()
        if record is not None and record.backend and record.assistant_type:
            # The run record names all a poll needs: no thread or assistant read.
            turn = self._turn(
                assistant_type=record.assistant_type,
                assistant_id=record.assistant_id or assistant_id,
                thread_id=thread_id,
                backend_name=record.backend,
                state=record.conversation_state,
                upstream_id=record.upstream_thread_id,
                updated_by=updated_by,
                owner=record.owner,
                assistant=record.assistant,
            )
        else:  # a run this engine did not start, or recorded by an older version
            thread = self._known_thread(assistant_id, thread_id)
            if thread is None:
                raise NotFoundError.for_keys(
                    "Thread", assistant_id=assistant_id, thread_id=thread_id
                )
            turn = self._turn_for(thread, updated_by)
            record = record or RunRecord(thread_id=thread_id, run_id=run_id)
        return self._driver.advance(turn, record)

    def give_up(self, thread_id: str, run_id: str, reason: str, *, status: str = "failed") -> bool:
        """End a run that no trigger can take further, with ``reason``: cancelled upstream
        where OpenAI answers (best effort), recorded ``status`` once. False: it had ended."""
        record = RunRecord.from_item(self._store.get_run(thread_id, run_id))
        if record is None:
            raise NotFoundError.for_keys("Run", thread_id=thread_id, run_id=run_id)
        if record.ended:
            return False
        cancelled = False
        if record.backend and record.assistant_type:
            backend = repointed(
                self._services.backend(record.backend, record.conversation_state),
                thread_id,
                record.upstream_thread_id,
            )
            try:
                backend.cancel_run(thread_id, run_id, record.progress)
                cancelled = True
            except EngineError as exc:
                self._logger.info("Run %s was not cancelled upstream: %s", run_id, exc.message)
        return self._recorder.record_given_up(
            record, status, reason, upstream_open=not cancelled and record.backend is not None
        )

    def subscribe(
        self, thread_id: str, run_id: str, after: int = 0, *, idle_timeout: float | None = None
    ) -> Iterator[RunEvent]:
        """The run's events after ``after`` (replayed), then live until the run ends."""
        for event in self._services.events.subscribe(run_id, after, idle_timeout=idle_timeout):
            if event.thread_id == thread_id:
                yield event

    def last_message(
        self, *, thread_id: str, role: str, assistant_id: str | None = None
    ) -> dict[str, Any] | None:
        thread = self._known_thread(assistant_id, thread_id) or self._store.find_thread(thread_id)
        return self._history.last_message(self._backend_of(thread), thread, thread_id, role)

    def live_messages(
        self, *, thread_id: str, roles: list[str] | None = None, order: str | None = None
    ) -> list[dict[str, Any]]:
        thread = self._store.find_thread(thread_id)
        return self._history.live_messages(self._backend_of(thread), thread_id, roles, order)

    def delete_thread(self, *, assistant_id: str, thread_id: str) -> None:
        """Refused (409) while a run of the thread is active; one that has ended upstream
        is recorded first. Nothing is cancelled: the caller decides about a running turn."""
        thread = self._store.get_thread(assistant_id, thread_id)
        active = thread.get("active_run_id")
        if active:  # an idle thread needs no word from OpenAI
            try:
                self._refuse_if_busy(thread, self._turn_for(thread, None))
            except ConflictError as exc:
                raise ConflictError(f"{exc.message} (deleteThread waits for it too.)") from exc
        self._store.delete_thread(assistant_id, thread_id, active_run_id=active)

    def migrate_thread(
        self,
        *,
        assistant_id: str,
        thread_id: str,
        to_backend: str,
        conversation_state: str | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Carry the thread on, on ``to_backend`` (migration.py); the report of it."""
        thread = self._store.get_thread(assistant_id, thread_id)
        if thread.get("active_run_id") and not dry_run:
            try:  # a run that has ended upstream is recorded first
                self._refuse_if_busy(thread, self._turn_for(thread, None))
            except ConflictError as exc:
                raise ConflictError(f"{exc.message} (migrateThread waits for it too.)") from exc
            thread = self._store.get_thread(assistant_id, thread_id)
        return self._migration.migrate(
            thread,
            to_backend=to_backend,
            conversation_state=conversation_state,
            dry_run=dry_run,
        )

    # ------------------------------------------------------------------ helpers
    def _turn(
        self,
        *,
        assistant_type: str,
        assistant_id: str,
        thread_id: str,
        backend_name: str,
        state: str,
        updated_by: str | None,
        owner: dict[str, str] | None,
        assistant: dict[str, Any] | None = None,
        upstream_id: str | None = None,
    ) -> Turn:
        tools = self._services.tools
        backend = self._services.backend(backend_name, state)
        return Turn(
            assistant_type=assistant_type,
            assistant_id=assistant_id,
            thread_id=thread_id,
            backend=repointed(backend, thread_id, upstream_id),
            upstream_thread_id=upstream_id,
            updated_by=updated_by,
            owner=owner,
            load_assistant=lambda: self._store.get_assistant(assistant_type, assistant_id),
            describe_tools=lambda record: tuple(
                tools.describe(
                    functions=record.get("functions") or [],
                    assistant_configuration=record.get("configuration") or {},
                )
            ),
            default_model=self._settings.openai_model,
            assistant=assistant,
            context=self._context,
        )

    def _turn_for(self, thread: dict[str, Any], updated_by: str | None) -> Turn:
        assistant = self._store.get_assistant(thread["assistant_type"], thread["assistant_id"])
        return self._turn(
            assistant_type=thread["assistant_type"],
            assistant_id=thread["assistant_id"],
            thread_id=thread["thread_id"],
            backend_name=thread.get("backend") or self._backend_name(assistant),
            state=_state_of(thread),
            upstream_id=thread.get("upstream_thread_id"),
            updated_by=updated_by,
            owner=owner_of(thread),
            assistant=assistant,
        )

    def _known_thread(self, assistant_id: str | None, thread_id: str) -> dict[str, Any] | None:
        if assistant_id:
            try:
                return self._store.get_thread(assistant_id, thread_id)
            except NotFoundError:
                return None
        return self._store.find_thread(thread_id)

    def _backend_of(self, thread: dict[str, Any] | None) -> Any:
        if thread is None:
            return self._services.backend(self._settings.openai_backend)
        backend = self._services.backend(
            thread.get("backend") or self._settings.openai_backend, _state_of(thread)
        )
        return repointed(backend, thread["thread_id"], thread.get("upstream_thread_id"))

    def _state_setting(self, assistant: dict[str, Any]) -> str:
        configured = (assistant.get("configuration") or {}).get("conversation_state")
        return str(configured or self._settings.conversation_state)

    def _create_thread(self, turn: Turn, backend_name: str, *, probing: bool) -> str:
        """A new thread upstream; ``probing``: the server's answer says where its
        conversations live (no Conversations API: the engine holds them)."""
        if not probing:
            return turn.backend.create_thread()
        try:
            thread_id = turn.backend.create_thread()
        except NotFoundError:
            self._logger.info(
                "The model server has no Conversations API: the engine holds %s conversations",
                backend_name,
            )
            self._services.learn_state(backend_name, "engine")
            turn.use_backend(self._services.backend(backend_name, "engine"))
            return turn.backend.create_thread()
        self._services.learn_state(backend_name, "openai")
        return thread_id

    def _backend_name(self, assistant: dict[str, Any]) -> str:
        from ..backends import BACKEND_NAMES

        configured = (assistant.get("configuration") or {}).get("backend")
        if configured is None:
            return self._settings.openai_backend
        if configured not in BACKEND_NAMES:
            raise BadRequestError(
                f"Assistant {assistant['assistant_id']!r} has configuration.backend "
                f"{configured!r}; use {' or '.join(map(repr, BACKEND_NAMES))}."
            )
        return configured

    def _refuse_unknown_thread(self, assistant_id: str, thread_id: str, turn: Turn) -> None:
        """A threadId with no record for this assistant: nothing may be written unless it
        exists upstream and no other assistant's record holds it (404 otherwise)."""
        if self._store.find_thread(thread_id) is not None:
            raise NotFoundError(
                f"Thread {thread_id!r} belongs to another assistant than {assistant_id!r}."
            )
        turn.backend.latest_message(thread_id, "user")  # NotFoundError when OpenAI has none

    def _refuse_if_busy(self, thread: dict[str, Any], turn: Turn) -> None:
        """409 while the thread's last run is under way; one that has ended upstream is
        recorded (advanced) first."""
        run_id = thread.get("active_run_id")
        if not run_id:
            return
        record = RunRecord.from_item(self._store.get_run(thread["thread_id"], run_id))
        if record is not None and record.ended:
            if record.upstream_open:
                self._close_upstream(turn, record)
            return
        record = record or RunRecord(thread_id=thread["thread_id"], run_id=run_id)
        view = self._driver.advance(turn, record)
        if RunStatus.ended(view.get("status")):
            return
        raise ConflictError(
            f"Thread {thread['thread_id']!r} is still busy with run {run_id!r} "
            f"(status {view.get('status')}); poll currentRun until it ends, then ask again."
        )

    def _close_upstream(self, turn: Turn, record: RunRecord) -> None:
        """A run given up while OpenAI was unreachable may still hold the conversation
        there: cancel it now, before the next turn is started."""
        try:
            turn.backend.cancel_run(turn.thread_id, record.run_id, record.progress)
        except EngineError as exc:
            raise ConflictError(
                f"Thread {turn.thread_id!r}: run {record.run_id!r} was ended here "
                f"({record.status.value if record.status else 'ended'}: {record.error}) while "
                "OpenAI could not be reached, and OpenAI may still hold it open; cancelling "
                f"it failed again ({exc.message}). Ask again later."
            ) from exc
        self._recorder.record_upstream_closed(turn, record)


def _state_of(thread: dict[str, Any]) -> str:
    """Where a recorded thread's conversation lives; threads recorded before the engine
    could hold one: upstream."""
    return str(thread.get("conversation_state") or "openai")
