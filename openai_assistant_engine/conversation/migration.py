"""migrateThread: carry a recorded thread on, on another backend.

A thread keeps its id (the records' key, what callers know); what changes is where its
conversation lives:

* onto engine-held history (``chat``, ``responses`` with ``conversation_state=engine``):
  the records are the conversation already: only the thread record changes;
* onto an OpenAI conversation (``responses``, ``openai``): a conversation is created
  holding the recorded turns (messages, and each tool call with its output), in batches
  the API takes, and the thread record points at it (``upstream_thread_id``).

The record keeps what the thread was on before (``migrated_from``: backend, state and the
upstream id). A thread already where it is asked to go is left as it is (a repeat changes
nothing); ``dry_run`` says what would be sent and writes nothing. Refused (409) while a
run of the thread is under way, and (400) onto the Assistants API, which OpenAI turned
off. A move that fails after a conversation was created leaves that conversation unused
upstream; repeating the move creates another.
"""

from __future__ import annotations

import logging
from typing import Any

from ..backends import BACKEND_NAMES, CONVERSATION_STATES
from ..errors import BadRequestError, ConflictError, NotFoundError
from ..store.repository import utc_now
from .context import ContextWindow

__all__ = ["MAX_MESSAGES_MOVED", "ThreadMigration"]

# The most messages carried onto an OpenAI conversation (the newest are kept).
MAX_MESSAGES_MOVED = 10_000


class ThreadMigration:
    def __init__(self, services: Any, context: ContextWindow, logger: logging.Logger) -> None:
        self._services = services
        self._store = services.store
        self._context = context
        self._logger = logger

    def migrate(
        self,
        thread: dict[str, Any],
        *,
        to_backend: str,
        conversation_state: str | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Move ``thread`` (its record, as read) onto ``to_backend``; the report of it."""
        settings = self._services.settings
        if to_backend not in BACKEND_NAMES:
            raise BadRequestError(
                f"toBackend is {to_backend!r}; use {' or '.join(map(repr, BACKEND_NAMES))}."
            )
        if conversation_state is not None and conversation_state not in CONVERSATION_STATES:
            raise BadRequestError(
                f"conversationState is {conversation_state!r}; use "
                f"{' or '.join(map(repr, CONVERSATION_STATES))}."
            )
        # Onto responses, an OpenAI conversation unless asked otherwise (or the server has
        # no Conversations API: then the engine holds it, as for a new thread).
        asked_state = conversation_state or ("openai" if to_backend == "responses" else "auto")
        to_state = self._services.new_thread_state(to_backend, asked_state)
        probing = to_state is None
        was_backend = thread.get("backend") or settings.openai_backend
        was_state = thread.get("conversation_state") or "openai"
        report: dict[str, Any] = {
            "assistant_id": thread["assistant_id"],
            "thread_id": thread["thread_id"],
            "from_backend": was_backend,
            "from_state": was_state,
            "to_backend": to_backend,
            "to_state": to_state or "openai",
            "dry_run": dry_run,
            "changed": False,
            "messages": 0,
            "tool_calls": 0,
            "upstream_thread_id": thread.get("upstream_thread_id"),
        }
        if (was_backend, was_state) == (to_backend, to_state):
            return report  # there already
        if thread.get("active_run_id"):
            raise ConflictError(
                f"Thread {thread['thread_id']!r} is busy with run {thread['active_run_id']!r}; "
                "move it once the run has ended (poll currentRun)."
            )
        items = self._context.whole_conversation(thread["thread_id"], MAX_MESSAGES_MOVED)
        report["messages"] = sum(1 for item in items if item.kind in ("user", "assistant"))
        report["tool_calls"] = sum(1 for item in items if item.kind == "function_call")
        if dry_run:
            return {**report, "changed": True}
        upstream, to_state = self._adopt(thread["thread_id"], to_backend, to_state, items, probing)
        moved = self._store.move_thread(
            assistant_id=thread["assistant_id"],
            thread_id=thread["thread_id"],
            backend=to_backend,
            conversation_state=to_state,
            upstream_thread_id=upstream if upstream != thread["thread_id"] else None,
            migrated_from={
                "backend": was_backend,
                "conversation_state": was_state,
                "upstream_thread_id": thread.get("upstream_thread_id") or thread["thread_id"],
                "migrated_at": utc_now().isoformat(),
            },
            was=(thread.get("backend"), thread.get("conversation_state")),
        )
        if not moved:
            raise ConflictError(
                f"Thread {thread['thread_id']!r} changed while it was being moved (a run "
                "started, or another move): read it and try again."
            )
        self._logger.info(
            "Thread %s moved from %s/%s to %s/%s (%s messages, %s tool calls)",
            thread["thread_id"],
            was_backend,
            was_state,
            to_backend,
            to_state,
            report["messages"],
            report["tool_calls"],
        )
        return {
            **report,
            "to_state": to_state,
            "changed": True,
            "upstream_thread_id": upstream if upstream != thread["thread_id"] else None,
        }

    def _adopt(
        self, thread_id: str, name: str, state: str | None, items: Any, probing: bool
    ) -> tuple[str, str]:
        """Hand the conversation to the backend: (the id it knows it by, its state)."""
        backend = self._services.backend(name, state or "openai")
        try:
            upstream = backend.adopt_thread(thread_id, items)
        except NotFoundError:
            if not probing:
                raise
            self._services.learn_state(name, "engine")
            engine = self._services.backend(name, "engine")
            return engine.adopt_thread(thread_id, items), "engine"
        if probing:
            self._services.learn_state(name, "openai")
        return upstream, state or "openai"
