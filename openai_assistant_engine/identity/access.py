"""The ownership rules: what a caller may see and change.

With no caller (identity off) everything is visible, as in a single-tenant engine. With
a caller:

* a record belongs to a user (``owner``) of a ``tenant``; a thread is visible to its
  owner, and to an admin of its tenant; runs, messages and tool calls are visible with
  their thread;
* a record the caller may not see is "not found" (404), never "forbidden": the answer
  must not confirm that it exists;
* managing assistants (which decide what code is imported and which MCP servers are
  reached) needs an admin (403 otherwise);
* ``updatedBy`` is the caller's user: filled from it when empty, refused when different.

Records made before identity was on have no tenant: no caller sees them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ForbiddenError, NotFoundError
from .caller import Caller

__all__ = ["Access", "ListScope", "owner_of"]


def owner_of(record: Mapping[str, Any]) -> dict[str, str]:
    """A record's owner marks, to carry on to the records made under it."""
    return {name: record[name] for name in ("owner", "tenant") if record.get(name)}


class ListScope:
    """How a list is narrowed: the tenant's partition, and the owner within it."""

    def __init__(self, tenant: str, owner: str | None) -> None:
        self.tenant = tenant
        self.owner = owner


class Access:
    def __init__(self, caller: Caller | None, store: Any) -> None:
        self.caller = caller
        self._store = store

    @property
    def on(self) -> bool:
        return self.caller is not None

    def owner_fields(self) -> dict[str, str]:
        """What a record made by this caller is marked with (nothing when identity is off)."""
        if self.caller is None:
            return {}
        return {"owner": self.caller.user, "tenant": self.caller.tenant}

    def may_see(self, record: Mapping[str, Any] | None) -> bool:
        caller = self.caller
        if caller is None:
            return True
        if record is None or record.get("tenant") != caller.tenant:
            return False
        return caller.admin or record.get("owner") == caller.user

    def list_scope(self) -> ListScope | None:
        if self.caller is None:
            return None
        return ListScope(self.caller.tenant, None if self.caller.admin else self.caller.user)

    def thread(self, assistant_id: str, thread_id: str) -> dict[str, Any] | None:
        """The thread record, when the caller may see it; else 404. Identity off: None,
        without reading anything (the engine behaves as it did before identity)."""
        if self.caller is None:
            return None
        record = self._store.get_thread(assistant_id, thread_id)
        self._visible_or_404(record, assistant_id=assistant_id, thread_id=thread_id)
        return record

    def thread_by_id(self, thread_id: str) -> dict[str, Any] | None:
        """The thread with this id (whatever its assistant) when the caller may see it.

        Identity off: None, reading nothing. On: every record with this id must be
        visible (messages are keyed by thread id alone, so a second record under another
        assistant must not open them to its maker); none at all is a 404 too.
        """
        if self.caller is None:
            return None
        records = self._store.threads_with_id(thread_id)
        if not records or not all(self.may_see(r) for r in records):
            raise NotFoundError.for_keys("Thread", thread_id=thread_id)
        return records[0]

    def run(self, thread_id: str, run_id: str) -> None:
        """With identity on, only a run recorded under the thread may be followed: run ids
        are global upstream, and another's run must not be fetched (or advanced, or
        recorded) through one's own thread."""
        if self.caller is not None and self._store.get_run(thread_id, run_id) is None:
            raise NotFoundError.for_keys("Run", thread_id=thread_id, run_id=run_id)

    def owner_for_thread(self, thread_id: str) -> dict[str, str]:
        """The owner marks for a thread about to be written: its recorded owner's, or the
        caller's for a new one. A thread id that a record the caller cannot see holds
        already is a 404 (no taking over another's thread, or its messages)."""
        if self.caller is None:
            return {}
        records = self._store.threads_with_id(thread_id)
        for record in records:
            self._visible_or_404(record, thread_id=thread_id)
        return owner_of(records[0]) if records else self.owner_fields()

    def tool_calls(self, records: list[dict[str, Any]], run_id: str) -> list[dict[str, Any]]:
        """A run's tool call records, when the caller may see their thread."""
        if self.caller is not None and records:
            try:
                for thread_id in {r.get("thread_id") or "" for r in records}:
                    self.thread_by_id(thread_id)
            except NotFoundError:
                raise NotFoundError.for_keys("Run", run_id=run_id) from None
        return records

    def require_admin(self, operation: str) -> None:
        if self.caller is not None and not self.caller.admin:
            raise ForbiddenError(
                f"{operation} needs an admin: the caller {self.caller.user!r} has not the "
                "admin role (identity_admin_role)."
            )

    def updated_by(self, value: str | None) -> str:
        """The ``updatedBy`` to record."""
        if self.caller is None:
            return value or ""
        if value and value != self.caller.user:
            raise ForbiddenError(
                f"updatedBy must be the caller's user ({self.caller.user!r}) or empty; "
                f"got {value!r}."
            )
        return self.caller.user

    def _visible_or_404(self, record: Mapping[str, Any] | None, **keys: str) -> None:
        if not self.may_see(record):
            raise NotFoundError.for_keys("Thread", **keys)
