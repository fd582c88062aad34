"""Reading a conversation: its last message and its live messages. Reads never write.

``lastMessage`` answers from the records the run's end wrote (one query, newest first),
and asks OpenAI only while the thread has a run under way (its reply is not recorded
yet) or when the thread has no records (a conversation started elsewhere). A conversation
the engine holds is its records: both reads answer from them alone.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..backends.base import Backend, Message
from ..errors import BadRequestError, NotFoundError
from ..store import Store
from ..store.repository import utc_now

__all__ = ["History", "message_view"]

# liveMessages answers one page, as OpenAI's listing does.
_LIVE_PAGE = 100


class History:
    def __init__(self, store: Store) -> None:
        self._store = store

    def last_message(
        self, backend: Backend, thread: dict[str, Any] | None, thread_id: str, role: str
    ) -> dict[str, Any] | None:
        held = backend.conversation_state == "engine"
        if held or (thread is not None and not thread.get("active_run_id")):
            recorded = self._store.latest_message(thread_id, role)
            if held:
                return _record_view(recorded) if recorded is not None else None
            if recorded is not None:
                return _record_view(recorded)
        message = backend.latest_message(thread_id, role)
        if message is None:
            return None
        return message_view(self._with_recorded_details([message])[0])

    def live_messages(
        self, backend: Backend, thread_id: str, roles: list[str] | None, order: str | None
    ) -> list[dict[str, Any]]:
        order = (order or "asc").lower()
        if order not in ("asc", "desc"):
            raise BadRequestError(f"order must be 'asc' or 'desc'; got {order!r}.")
        wanted = [role for role in (roles or []) if role]
        if backend.conversation_state == "engine":
            return self._recorded_messages(thread_id, wanted, order)
        messages = self._with_recorded_details(backend.list_messages(thread_id, wanted, order))
        return [message_view(m) for m in messages]

    def _recorded_messages(
        self, thread_id: str, roles: list[str], order: str
    ) -> list[dict[str, Any]]:
        """An engine-held thread's messages, from its records (as many as OpenAI's
        listing would give: the newest page)."""
        page, _ = self._store.newest_messages_page(thread_id, _LIVE_PAGE)
        views = [_record_view(m) for m in page if not roles or m.get("role") in roles]
        return views if order == "desc" else list(reversed(views))

    def _with_recorded_details(self, messages: list[Message]) -> list[Message]:
        """Fill in time and run id where the backend does not tell them (conversation
        items carry neither; an Assistants user message has no run id, being added before
        its run starts) from the records made when the run started and ended."""
        missing = [m for m in messages if m.created_at is None or m.run_id is None]
        if not missing:
            return messages
        if len(missing) == 1:  # one record by its key, not the whole thread's
            recorded = {missing[0].id: self._recorded(missing[0])}
        else:
            recorded = self._store.messages_of_thread(messages[0].thread_id)
        now = utc_now()
        return [
            replace(
                message,
                created_at=message.created_at
                or recorded.get(message.id, {}).get("created_at")
                or now,
                run_id=message.run_id or recorded.get(message.id, {}).get("run_id"),
            )
            for message in messages
        ]

    def _recorded(self, message: Message) -> dict[str, Any]:
        try:
            return self._store.get_message(message.thread_id, message.id)
        except NotFoundError:
            return {}


def message_view(message: Message) -> dict[str, Any]:
    return {
        "thread_id": message.thread_id,
        "run_id": message.run_id,
        "message_id": message.id,
        "role": message.role,
        "message": message.text,
        "created_at": message.created_at,
    }


def _record_view(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "thread_id": record["thread_id"],
        "run_id": record.get("run_id"),
        "message_id": record["message_id"],
        "role": record.get("role"),
        "message": record.get("message"),
        "created_at": record.get("created_at"),
    }
