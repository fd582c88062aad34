"""The Responses + Conversations backend: the same contract after the Assistants API.

A thread is a conversation. A run is the chain of responses that answers one user turn:
the first response's id names the run; a response that ends with ``function_call`` items
is the run's ``requires_action``; the tool outputs start the next response of the chain;
a response that ends with a message completes the run. The chain (response ids) and the
usage of its finished responses are the run's ``progress``, stored with the run record,
so any process can continue any run. Polled runs use background responses; streamed
runs consume the response events.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from functools import partial
from typing import Any

from ..errors import BadRequestError, EngineError, NotFoundError, UpstreamError
from .base import (
    AskTrace,
    HistoryItem,
    Message,
    RunState,
    StreamEvent,
    ToolCall,
    ToolOutput,
    TurnOptions,
    Usage,
)
from .openai_errors import openai_errors
from .paging import newest_first
from .stateless_responses import input_item

__all__ = ["ResponsesBackend"]

_PAGE = 100
# Conversations take at most this many items per request (create, and items.create).
_ITEMS_PER_REQUEST = 20
# The stream events that carry a response's last state.
_FINAL_EVENTS = frozenset({"response.completed", "response.failed", "response.incomplete"})
# Response statuses as run statuses; a completed response may still require action.
_STATUS = {
    "queued": "queued",
    "in_progress": "in_progress",
    "completed": "completed",
    "failed": "failed",
    "incomplete": "incomplete",
    "cancelled": "cancelled",
}


def _time(value: float | int | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=timezone.utc) if value else None


def _usage_of(response: Any) -> Usage:
    usage = getattr(response, "usage", None)
    if usage is None:
        return Usage()
    return Usage(
        prompt_tokens=usage.input_tokens or 0,
        completion_tokens=usage.output_tokens or 0,
        total_tokens=usage.total_tokens or 0,
    )


def _usage_from(data: dict[str, Any] | None) -> Usage:
    data = data or {}
    return Usage(
        int(data.get("prompt_tokens", 0)),
        int(data.get("completion_tokens", 0)),
        int(data.get("total_tokens", 0)),
    )


def _text_of(item: Any) -> str:
    parts = []
    for part in getattr(item, "content", None) or []:
        text = getattr(part, "text", None)
        if isinstance(text, str):
            parts.append(text)
    return "\n".join(parts)


def _messages_in(items: Iterable[Any], thread_id: str, **fields: Any) -> list[Message]:
    return [
        Message(
            id=item.id,
            thread_id=thread_id,
            role=item.role,
            text=_text_of(item),
            created_at=fields.get("created_at"),
            run_id=fields.get("run_id"),
        )
        for item in items
        if getattr(item, "type", None) == "message"
    ]


class ResponsesBackend:
    name = "responses"
    conversation_state = "openai"
    # A second submission of a round would start a second response: the round claim guards.
    refuses_repeated_outputs = False

    def __init__(self, client: Any) -> None:
        self._client = client

    def check_options(self, options: TurnOptions) -> None:
        # The Responses API keeps no assistant: every request names its model.
        if not options.model:
            raise BadRequestError(
                f"Assistant {options.assistant_id!r} names no model: set the setting "
                "openai_model (OPENAI_MODEL), or configuration.model on the assistant record "
                "(insertUpdateAssistant's $configuration)."
            )

    def lost_start(self, thread_id: str, run: RunState, *, streamed: bool) -> tuple[bool, str]:
        # A response cannot be found again once its id is lost: cancel it (only a
        # background one can be), so the repeated ask answers the message afresh.
        poll = (
            f"Run {run.id!r} has started on OpenAI but could not be recorded: poll "
            f"currentRun with runId {run.id!r} to record it (repeating askOpenAi would "
            "ask again)."
        )
        if streamed:
            return False, poll
        try:
            self.cancel_run(thread_id, run.id, run.progress)
        except EngineError:
            return False, poll
        return True, f"Run {run.id!r} could not be recorded and was cancelled: repeat askOpenAi."

    def create_thread(self) -> str:
        with openai_errors(self.name, "Creating a conversation"):
            return self._client.conversations.create().id

    def adopt_thread(self, thread_id: str, items: Sequence[HistoryItem]) -> str:
        """A new conversation holding ``items``, sent in batches as large as the API takes."""
        batches = [
            [input_item(item) for item in items[start : start + _ITEMS_PER_REQUEST]]
            for start in range(0, len(items), _ITEMS_PER_REQUEST)
        ]
        with openai_errors(self.name, "Creating a conversation for the moved thread"):
            conversation = self._client.conversations.create(items=batches[0] if batches else [])
            for batch in batches[1:]:
                self._client.conversations.items.create(conversation.id, items=batch)
        return conversation.id

    # ------------------------------------------------------------------ polled runs
    def start_turn(
        self, thread_id: str, text: str, options: TurnOptions, asked: Message | None = None
    ) -> RunState:
        # One request adds the message and starts the response. When an interrupted ask
        # left the message in the conversation, the response answers it as it stands.
        items = [] if asked is not None else _user_input(text)
        with openai_errors(self.name, "Starting a response"):
            response = self._client.responses.create(
                **self._request(thread_id, items, options), background=True
            )
        state = self._state(
            response, thread_id=thread_id, run_id=response.id, progress=_new_progress(response)
        )
        return replace(state, user_message=asked)

    def trace_ask(self, thread_id: str) -> AskTrace:
        # Responses cannot be listed: only a user message left without an answer shows.
        with openai_errors(self.name, "Reading the conversation's last item"):
            newest = self._client.conversations.items.list(thread_id, order="desc", limit=1).data
        asked = [m for m in _messages_in(newest[:1], thread_id) if m.role == "user"]
        return AskTrace(unanswered=asked[0] if asked else None)

    def submitted_tool_outputs(self, thread_id: str, state: RunState) -> dict[str, str]:
        with openai_errors(self.name, "Reading the conversation's tool outputs"):
            page = self._client.conversations.items.list(thread_id, order="desc", limit=_PAGE)
            return {
                item.call_id: item.output
                for item in page.data
                if getattr(item, "type", None) == "function_call_output"
                and isinstance(getattr(item, "output", None), str)
            }

    def get_run(self, thread_id: str, run_id: str, progress: dict[str, Any]) -> RunState:
        current = (progress.get("chain") or [run_id])[-1]
        with openai_errors(self.name, "Reading the response"):
            response = self._client.responses.retrieve(current)
        conversation = getattr(response, "conversation", None)
        if conversation is not None and getattr(conversation, "id", thread_id) != thread_id:
            # A response of another conversation: never let it be recorded under this one.
            raise NotFoundError(f"Run {run_id!r} is not a run of thread {thread_id!r}.")
        return self._state(
            response, thread_id=thread_id, run_id=run_id, progress=progress or _new_progress(run_id)
        )

    def submit_tool_outputs(
        self,
        thread_id: str,
        run_id: str,
        outputs: list[ToolOutput],
        options: TurnOptions,
        progress: dict[str, Any],
    ) -> RunState:
        with openai_errors(self.name, "Sending tool outputs"):
            response = self._client.responses.create(
                **self._request(thread_id, _output_items(outputs), options), background=True
            )
        return self._state(
            response, thread_id=thread_id, run_id=run_id, progress=_extended(progress, response.id)
        )

    def cancel_run(self, thread_id: str, run_id: str, progress: dict[str, Any]) -> RunState:
        state = self.get_run(thread_id, run_id, progress)
        if state.status == "requires_action":
            # Nothing runs upstream, but the conversation waits for the calls' outputs:
            # answer them as cancelled so the next user turn is accepted.
            cancelled = [
                ToolOutput(call.id, '{"error": {"type": "cancelled", "message": "run cancelled"}}')
                for call in state.required_tool_calls
            ]
            with openai_errors(self.name, "Closing the cancelled run's calls"):
                self._client.conversations.items.create(thread_id, items=_output_items(cancelled))
        elif not state.is_terminal:
            with openai_errors(self.name, "Cancelling the response"):
                self._client.responses.cancel((progress.get("chain") or [run_id])[-1])
        return RunState(
            id=run_id,
            thread_id=thread_id,
            status="cancelled",
            usage=state.usage,
            model=state.model,
            progress=progress,
        )

    def run_messages(self, thread_id: str, state: RunState) -> list[Message]:
        chain = state.progress.get("chain") or [state.id]
        with openai_errors(self.name, "Reading the turn's messages"):
            inputs = self._client.responses.input_items.list(chain[0], order="asc")
            replies = list(state.replies)
            if not replies and state.status == "completed":
                last = self._client.responses.retrieve(chain[-1])
                replies = _messages_in(last.output or [], thread_id, run_id=state.id)
        started = _time(state.progress.get("started_at")) or state.created_at
        asked = [
            m
            for m in _messages_in(inputs, thread_id, created_at=started, run_id=state.id)
            if m.role == "user"
        ]
        answered = [replace(m, created_at=state.completed_at or state.created_at) for m in replies]
        return asked + answered

    def latest_message(self, thread_id: str, role: str) -> Message | None:
        with openai_errors(self.name, "Reading the last message"):
            listing = partial(self._client.conversations.items.list, thread_id, order="desc")
            for item in newest_first(listing):
                if getattr(item, "type", None) == "message" and item.role == role:
                    return _messages_in([item], thread_id)[0]
        return None

    def list_messages(self, thread_id: str, roles: list[str] | None, order: str) -> list[Message]:
        with openai_errors(self.name, "Listing the conversation's messages"):
            items = list(self._client.conversations.items.list(thread_id, order=order, limit=_PAGE))
        return [m for m in _messages_in(items, thread_id) if not roles or m.role in roles]

    # ------------------------------------------------------------------ streamed runs
    def stream_turn(self, thread_id: str, text: str, options: TurnOptions) -> Iterator[StreamEvent]:
        request = self._request(thread_id, _user_input(text), options)
        first: Any = None
        for kind, payload in self._events(request, "Streaming the response"):
            if kind == "created":
                first = payload
                progress = _new_progress(payload)
                state = self._state(
                    payload, thread_id=thread_id, run_id=payload.id, progress=progress
                )
                yield StreamEvent("started", state=state)
            elif kind == "text":
                yield StreamEvent("text", text=payload)
            else:
                run_id = first.id if first is not None else payload.id
                progress = _new_progress(first if first is not None else payload)
                yield StreamEvent(
                    "stopped",
                    state=self._state(
                        payload, thread_id=thread_id, run_id=run_id, progress=progress
                    ),
                )

    def stream_tool_outputs(
        self,
        thread_id: str,
        run_id: str,
        outputs: list[ToolOutput],
        options: TurnOptions,
        progress: dict[str, Any],
    ) -> Iterator[StreamEvent]:
        request = self._request(thread_id, _output_items(outputs), options)
        for kind, payload in self._events(request, "Streaming tool outputs"):
            if kind == "text":
                yield StreamEvent("text", text=payload)
            elif kind == "stopped":
                extended = _extended(progress, payload.id)
                state = self._state(payload, thread_id=thread_id, run_id=run_id, progress=extended)
                yield StreamEvent("stopped", state=state)

    def _events(self, request: dict[str, Any], action: str) -> Iterator[tuple[str, Any]]:
        """(``created``, response), (``text``, delta)..., (``stopped``, final response)."""
        stopped = False
        with openai_errors(self.name, action):
            stream = self._client.responses.create(**request, stream=True)
            with stream:
                for event in stream:
                    if event.type == "response.created":
                        yield "created", event.response
                    elif event.type == "response.output_text.delta":
                        yield "text", event.delta
                    elif event.type in _FINAL_EVENTS:
                        stopped = True
                        yield "stopped", event.response
                        return
        if not stopped:
            raise UpstreamError(f"{action}: the stream ended before the response did.")

    # ------------------------------------------------------------------ helpers
    def _request(
        self, thread_id: str, items: list[dict[str, Any]], options: TurnOptions
    ) -> dict[str, Any]:
        self.check_options(options)
        request: dict[str, Any] = {
            "model": options.model,
            "conversation": thread_id,
            "input": items,
            "store": True,
            **options.parameters,
        }
        if options.instructions:
            request["instructions"] = options.instructions
        tools = options.describe_tools()
        if tools:
            request["tools"] = [{"type": "function", "strict": False, **tool} for tool in tools]
        return request

    def _state(
        self, response: Any, *, thread_id: str, run_id: str, progress: dict[str, Any]
    ) -> RunState:
        status = _STATUS.get(response.status or "queued", response.status or "queued")
        calls = tuple(
            ToolCall(id=item.call_id, name=item.name, arguments=item.arguments)
            for item in response.output or []
            if getattr(item, "type", None) == "function_call"
        )
        usage = None
        error = None
        if status == "completed" and calls:
            status = "requires_action"
            # Carried to the submission, which adds it to the chain's usage.
            progress = {**progress, "pending_usage": _usage_of(response).as_dict()}
        elif status in ("completed", "failed", "incomplete", "cancelled"):
            usage = _usage_from(progress.get("usage")) + _usage_of(response)
        if response.error is not None:
            error = f"{response.error.code}: {response.error.message}"
        elif response.incomplete_details is not None:
            error = f"incomplete: {response.incomplete_details.reason}"
        elif status == "cancelled":
            error = "cancelled"
        return RunState(
            id=run_id,
            thread_id=thread_id,
            status=status,
            required_tool_calls=calls if status == "requires_action" else (),
            usage=usage,
            model=response.model,
            error=error,
            created_at=_time(response.created_at),
            completed_at=_time(getattr(response, "completed_at", None))
            if status not in ("queued", "in_progress", "requires_action")
            else None,
            progress=progress,
            replies=tuple(_messages_in(response.output or [], thread_id, run_id=run_id))
            if status in ("completed", "incomplete")
            else (),
        )


def _new_progress(first: Any) -> dict[str, Any]:
    """The progress of a run whose first response is ``first`` (a response or its id)."""
    if isinstance(first, str):
        return {"chain": [first], "usage": Usage().as_dict()}
    return {"chain": [first.id], "usage": Usage().as_dict(), "started_at": first.created_at}


def _extended(progress: dict[str, Any], response_id: str) -> dict[str, Any]:
    usage = _usage_from(progress.get("usage")) + _usage_from(progress.get("pending_usage"))
    chain = list(progress.get("chain") or [])
    extended = {"chain": [*chain, response_id], "usage": usage.as_dict()}
    if "started_at" in progress:
        extended["started_at"] = progress["started_at"]
    return extended


def _user_input(text: str) -> list[dict[str, Any]]:
    return [{"type": "message", "role": "user", "content": text}]


def _output_items(outputs: list[ToolOutput]) -> list[dict[str, Any]]:
    return [
        {"type": "function_call_output", "call_id": o.tool_call_id, "output": o.output}
        for o in outputs
    ]
