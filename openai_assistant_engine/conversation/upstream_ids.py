"""A thread known upstream by another id than its records' (one moved by migrateThread).

Callers keep the thread id they always had (the records' key); OpenAI knows the
conversation it was moved into by its own id. :class:`Repointed` wraps the backend of
such a thread: every call goes upstream with the upstream id, and every state or message
comes back named by the records' id, so nothing else needs to know.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from ..backends.base import (
    AskTrace,
    Backend,
    HistoryItem,
    Message,
    RunState,
    StreamEvent,
    ToolOutput,
    TurnOptions,
)

__all__ = ["Repointed", "repointed"]


def repointed(backend: Backend, thread_id: str, upstream_id: str | None) -> Backend:
    """``backend`` as the thread ``thread_id`` sees it (itself when the ids agree)."""
    if not upstream_id or upstream_id == thread_id or not thread_id:
        return backend
    return Repointed(backend, thread_id, upstream_id)  # type: ignore[return-value]


class Repointed:
    def __init__(self, backend: Backend, thread_id: str, upstream_id: str) -> None:
        self._backend = backend
        self._local = thread_id
        self._upstream = upstream_id
        self.name = backend.name
        self.conversation_state = backend.conversation_state
        self.refuses_repeated_outputs = backend.refuses_repeated_outputs

    # ------------------------------------------------------------------ naming
    def _id(self, thread_id: str) -> str:
        return self._upstream if thread_id == self._local else thread_id

    def _message(self, message: Message | None) -> Message | None:
        if message is None or message.thread_id != self._upstream:
            return message
        return replace(message, thread_id=self._local)

    def _state(self, state: RunState, thread_id: str) -> RunState:
        return replace(
            state,
            thread_id=thread_id,
            user_message=_named(state.user_message, thread_id),
            replies=tuple(replace(reply, thread_id=thread_id) for reply in state.replies),
        )

    def _local_state(self, state: RunState) -> RunState:
        return self._state(state, self._local) if state.thread_id == self._upstream else state

    def _upstream_state(self, state: RunState) -> RunState:
        return self._state(state, self._upstream) if state.thread_id == self._local else state

    def _events(self, events: Iterator[StreamEvent]) -> Iterator[StreamEvent]:
        for event in events:
            if event.state is not None:
                event = replace(event, state=self._local_state(event.state))
            yield event

    # ------------------------------------------------------------------ the Protocol
    def check_options(self, options: TurnOptions) -> None:
        self._backend.check_options(options)

    def create_thread(self) -> str:
        return self._backend.create_thread()

    def adopt_thread(self, thread_id: str, items: Sequence[HistoryItem]) -> str:
        return self._backend.adopt_thread(self._id(thread_id), items)

    def start_turn(
        self, thread_id: str, text: str, options: TurnOptions, asked: Message | None = None
    ) -> RunState:
        upstream_asked = _named(asked, self._id(thread_id)) if asked is not None else None
        state = self._backend.start_turn(self._id(thread_id), text, options, upstream_asked)
        return self._local_state(state)

    def stream_turn(self, thread_id: str, text: str, options: TurnOptions) -> Iterator[StreamEvent]:
        return self._events(self._backend.stream_turn(self._id(thread_id), text, options))

    def trace_ask(self, thread_id: str) -> AskTrace:
        trace = self._backend.trace_ask(self._id(thread_id))
        return AskTrace(
            run=self._local_state(trace.run) if trace.run is not None else None,
            unanswered=self._message(trace.unanswered),
        )

    def lost_start(self, thread_id: str, run: RunState, *, streamed: bool) -> tuple[bool, str]:
        return self._backend.lost_start(
            self._id(thread_id), self._upstream_state(run), streamed=streamed
        )

    def submitted_tool_outputs(self, thread_id: str, state: RunState) -> dict[str, str]:
        return self._backend.submitted_tool_outputs(
            self._id(thread_id), self._upstream_state(state)
        )

    def get_run(self, thread_id: str, run_id: str, progress: dict[str, Any]) -> RunState:
        return self._local_state(self._backend.get_run(self._id(thread_id), run_id, progress))

    def submit_tool_outputs(
        self,
        thread_id: str,
        run_id: str,
        outputs: list[ToolOutput],
        options: TurnOptions,
        progress: dict[str, Any],
    ) -> RunState:
        state = self._backend.submit_tool_outputs(
            self._id(thread_id), run_id, outputs, options, progress
        )
        return self._local_state(state)

    def stream_tool_outputs(
        self,
        thread_id: str,
        run_id: str,
        outputs: list[ToolOutput],
        options: TurnOptions,
        progress: dict[str, Any],
    ) -> Iterator[StreamEvent]:
        return self._events(
            self._backend.stream_tool_outputs(
                self._id(thread_id), run_id, outputs, options, progress
            )
        )

    def cancel_run(self, thread_id: str, run_id: str, progress: dict[str, Any]) -> RunState:
        return self._local_state(self._backend.cancel_run(self._id(thread_id), run_id, progress))

    def run_messages(self, thread_id: str, state: RunState) -> list[Message]:
        messages = self._backend.run_messages(self._id(thread_id), self._upstream_state(state))
        return [m for m in map(self._message, messages) if m is not None]

    def latest_message(self, thread_id: str, role: str) -> Message | None:
        return self._message(self._backend.latest_message(self._id(thread_id), role))

    def list_messages(self, thread_id: str, roles: list[str] | None, order: str) -> list[Message]:
        messages = self._backend.list_messages(self._id(thread_id), roles, order)
        return [m for m in map(self._message, messages) if m is not None]


def _named(message: Message | None, thread_id: str) -> Message | None:
    return replace(message, thread_id=thread_id) if message is not None else None
