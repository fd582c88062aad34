"""Conversations the engine holds: every model request carries the conversation.

Nothing upstream remembers a thread: the model server answers one stateless request per
model round (Chat Completions, or Responses with ``store=false``), and the conversation
is the engine's own records. A request is built from three parts, oldest first:

1. the thread's earlier turns, read from the records (``TurnOptions.history``: the
   conversation package reads them newest first and stops at the context budget);
2. this run's user message;
3. this run's rounds so far: each round's function calls, then their outputs.

The run's own part (2 and 3) and its answer live in the run's ``progress`` (stored with
the run record), so any process can continue any run and a poll needs no request at all:

==================  ==========================================  =======================
progress status     what ``get_run`` answers                     next move
==================  ==========================================  =======================
requires_action     the calls of the last round                  the driver runs them and
                                                                 submits: one request
completed,          the end, with the reply and summed usage     recorded by the driver
incomplete, failed
in_progress         a streaming worker is reading the answer;    a poll that sees it (the
                    read only when no live worker holds it       worker is gone) ends the
                    (it died): the run failed                    run as failed
cancelled           the end                                      recorded
==================  ==========================================  =======================

Ids are minted here (``thread_``, ``run_``, ``msg_``) and kept in ``progress``, so
recording a state twice writes the same records. A model server that refuses a request
(400, 404, 413, 422: a context too long, an unknown model) ends the run as failed with its
words; anything transient (429, 5xx, timeouts) stays the SDK's to retry, then a 502.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from ..errors import BadRequestError, NotFoundError, UpstreamError
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

__all__ = ["EngineHeldBackend", "ModelAnswer", "ModelRequest", "Wire"]

# A model server's refusal of the request itself: the run fails, repeating changes nothing.
_REFUSAL_STATUSES = frozenset({400, 404, 413, 422})
_INTERRUPTED = (
    "interrupted: the process reading this run's answer stopped before the answer ended; ask again"
)


@dataclass(frozen=True)
class ModelRequest:
    """One stateless request: instructions, the items in order, the tools."""

    model: str
    instructions: str | None
    items: tuple[HistoryItem, ...]
    tools: tuple[dict[str, Any], ...] = ()
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelAnswer:
    """What one model round answered: text, calls, or both; ``error`` when it failed."""

    text: str = ""
    calls: tuple[ToolCall, ...] = ()
    usage: Usage = field(default_factory=Usage)
    model: str | None = None
    # Why the answer was cut short (``max_output_tokens``, ``length``): an incomplete run.
    incomplete: str | None = None
    error: str | None = None


class Wire(Protocol):
    """One model API spoken statelessly."""

    name: str

    def complete(self, request: ModelRequest) -> ModelAnswer: ...

    def stream(self, request: ModelRequest) -> Iterator[str | ModelAnswer]:
        """Text deltas as they come, then the whole answer, last."""
        ...


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def _time(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=timezone.utc) if value else None


class EngineHeldBackend:
    conversation_state = "engine"
    # A repeated submission would only ask the model again; the round claim guards it.
    refuses_repeated_outputs = False

    def __init__(self, wire: Wire) -> None:
        self._wire = wire
        self.name = wire.name

    def check_options(self, options: TurnOptions) -> None:
        if not options.model:
            raise BadRequestError(
                f"Assistant {options.assistant_id!r} names no model: set the setting "
                "openai_model (OPENAI_MODEL), or configuration.model on the assistant record "
                "(insertUpdateAssistant's $configuration)."
            )

    def create_thread(self) -> str:
        return _new_id("thread")

    def adopt_thread(self, thread_id: str, items: Sequence[HistoryItem]) -> str:
        return thread_id  # the records are the conversation already: nothing to send

    # ------------------------------------------------------------------ runs
    def start_turn(
        self, thread_id: str, text: str, options: TurnOptions, asked: Message | None = None
    ) -> RunState:
        progress = _first_progress(thread_id, text)
        answer = self._answer(self._request(options, progress), "Asking the model")
        return self._state(thread_id, _with_answer(progress, answer))

    def stream_turn(self, thread_id: str, text: str, options: TurnOptions) -> Iterator[StreamEvent]:
        progress = _first_progress(thread_id, text)
        yield StreamEvent("started", state=self._state(thread_id, progress))
        yield from self._streamed(thread_id, progress, options, "Streaming the model's answer")

    def submit_tool_outputs(
        self,
        thread_id: str,
        run_id: str,
        outputs: list[ToolOutput],
        options: TurnOptions,
        progress: dict[str, Any],
    ) -> RunState:
        answered = _with_outputs(progress, outputs)
        answer = self._answer(self._request(options, answered), "Sending tool outputs")
        return self._state(thread_id, _with_answer(answered, answer))

    def stream_tool_outputs(
        self,
        thread_id: str,
        run_id: str,
        outputs: list[ToolOutput],
        options: TurnOptions,
        progress: dict[str, Any],
    ) -> Iterator[StreamEvent]:
        answered = _with_outputs(progress, outputs)
        yield from self._streamed(thread_id, answered, options, "Streaming tool outputs")

    def get_run(self, thread_id: str, run_id: str, progress: dict[str, Any]) -> RunState:
        if progress.get("run_id") != run_id or progress.get("thread_id") != thread_id:
            raise NotFoundError(f"Run {run_id!r} is not a run of thread {thread_id!r}.")
        if progress.get("status") == "in_progress":  # its reader is gone (see the table)
            progress = {**progress, "status": "failed", "error": _INTERRUPTED}
        return self._state(thread_id, progress)

    def cancel_run(self, thread_id: str, run_id: str, progress: dict[str, Any]) -> RunState:
        # Nothing runs upstream between requests: cancelling is recording it.
        return self._state(thread_id, {**progress, "status": "cancelled", "pending": []})

    def run_messages(self, thread_id: str, state: RunState) -> list[Message]:
        # A run's question is recorded with its start; an end that would record it again
        # is only ever a cancelled start (its record failed: the ask is to be repeated),
        # whose question must not join the conversation twice.
        cancelled = state.status == "cancelled"
        asked = [state.user_message] if state.user_message is not None and not cancelled else []
        return asked + list(state.replies)

    def submitted_tool_outputs(self, thread_id: str, state: RunState) -> dict[str, str]:
        return {
            item["call_id"]: item.get("text", "")
            for item in state.progress.get("items") or []
            if item.get("kind") == "function_output"
        }

    # ------------------------------------------------------------------ upstream: none
    def trace_ask(self, thread_id: str) -> AskTrace:
        return AskTrace()  # an ask that failed before its run was recorded left nothing

    def lost_start(self, thread_id: str, run: RunState, *, streamed: bool) -> tuple[bool, str]:
        # Nothing runs upstream: the run is abandoned (its record, if any, ends cancelled).
        return True, "Nothing was kept of that turn: repeat askOpenAi."

    def latest_message(self, thread_id: str, role: str) -> Message | None:
        # The records are the conversation: a thread with none is unknown here.
        raise NotFoundError(f"Thread {thread_id!r} has no records, and no model server keeps it.")

    def list_messages(self, thread_id: str, roles: list[str] | None, order: str) -> list[Message]:
        raise NotFoundError(f"Thread {thread_id!r} has no records, and no model server keeps it.")

    # ------------------------------------------------------------------ helpers
    def _request(self, options: TurnOptions, progress: dict[str, Any]) -> ModelRequest:
        self.check_options(options)
        own = tuple(HistoryItem.from_dict(item) for item in _own_items(progress))
        earlier = options.history(progress["run_id"], own)
        return ModelRequest(
            model=str(options.model),
            instructions=options.instructions,
            items=(*earlier, *own),
            tools=tuple(options.describe_tools()),
            parameters=dict(options.parameters),
        )

    def _answer(self, request: ModelRequest, action: str) -> ModelAnswer:
        import openai

        with openai_errors(self.name, action):
            try:
                return self._wire.complete(request)
            except openai.APIStatusError as exc:
                if exc.status_code not in _REFUSAL_STATUSES:
                    raise
                return ModelAnswer(error=_refusal(exc))

    def _streamed(
        self, thread_id: str, progress: dict[str, Any], options: TurnOptions, action: str
    ) -> Iterator[StreamEvent]:
        import openai

        request = self._request(options, progress)
        answer: ModelAnswer | None = None
        with openai_errors(self.name, action):
            try:
                for piece in self._wire.stream(request):
                    if isinstance(piece, ModelAnswer):
                        answer = piece
                    elif piece:
                        yield StreamEvent("text", text=piece)
            except openai.APIStatusError as exc:
                if exc.status_code not in _REFUSAL_STATUSES:
                    raise
                answer = ModelAnswer(error=_refusal(exc))
        if answer is None:
            raise UpstreamError(f"{action}: the stream ended before the answer did.")
        yield StreamEvent("stopped", state=self._state(thread_id, _with_answer(progress, answer)))

    def _state(self, thread_id: str, progress: dict[str, Any]) -> RunState:
        status = progress["status"]
        run_id = progress["run_id"]
        user = progress["user"]
        replies = tuple(
            Message(
                id=reply["id"],
                thread_id=thread_id,
                role="assistant",
                text=reply["text"],
                created_at=_time(progress.get("completed_at")),
                run_id=run_id,
            )
            for reply in progress.get("replies") or []
        )
        ended = status in ("completed", "incomplete", "failed", "cancelled")
        return RunState(
            id=run_id,
            thread_id=thread_id,
            status=status,
            required_tool_calls=tuple(
                ToolCall(call["call_id"], call["name"], call.get("arguments", ""))
                for call in progress.get("pending") or []
            )
            if status == "requires_action"
            else (),
            usage=_usage(progress.get("usage")) if ended else None,
            model=progress.get("model"),
            error=progress.get("error"),
            created_at=_time(progress.get("started_at")),
            completed_at=_time(progress.get("completed_at")) if ended else None,
            user_message=Message(
                id=user["id"],
                thread_id=thread_id,
                role="user",
                text=user["text"],
                created_at=_time(progress.get("started_at")),
                run_id=run_id,
            ),
            replies=replies if status in ("completed", "incomplete") else (),
            progress=progress,
        )


# ---------------------------------------------------------------------- progress
def _first_progress(thread_id: str, text: str) -> dict[str, Any]:
    return {
        "thread_id": thread_id,
        "run_id": _new_id("run"),
        "status": "in_progress",
        "started_at": time.time(),
        "user": {"id": _new_id("msg"), "text": text},
        "items": [],
        "pending": [],
        "usage": Usage().as_dict(),
    }


def _own_items(progress: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"kind": "user", "text": progress["user"]["text"]}, *(progress.get("items") or [])]


def _with_outputs(progress: dict[str, Any], outputs: Sequence[ToolOutput]) -> dict[str, Any]:
    """The round's calls and their outputs join the run's items, calls first, in the
    order the model asked for them."""
    by_id = {output.tool_call_id: output.output for output in outputs}
    pending = progress.get("pending") or []
    missing = [call["call_id"] for call in pending if call["call_id"] not in by_id]
    if missing:
        raise BadRequestError(f"No output for tool call(s) {', '.join(missing)}.")
    items = list(progress.get("items") or [])
    items += [{"kind": "function_call", **call} for call in pending]
    items += [
        {"kind": "function_output", "call_id": call["call_id"], "text": by_id[call["call_id"]]}
        for call in pending
    ]
    return {**progress, "status": "in_progress", "items": items, "pending": []}


def _with_answer(progress: dict[str, Any], answer: ModelAnswer) -> dict[str, Any]:
    usage = (_usage(progress.get("usage")) + answer.usage).as_dict()
    updated = {**progress, "usage": usage, "model": answer.model or progress.get("model")}
    if answer.error is not None:
        return {**updated, "status": "failed", "error": answer.error, "completed_at": time.time()}
    if answer.calls:
        items = list(progress.get("items") or [])
        if answer.text:  # said before calling: part of the conversation, not the reply
            items.append({"kind": "assistant", "text": answer.text})
        return {
            **updated,
            "status": "requires_action",
            "items": items,
            "pending": [
                {"call_id": call.id, "name": call.name, "arguments": call.arguments}
                for call in answer.calls
            ],
        }
    status = "incomplete" if answer.incomplete else "completed"
    return {
        **updated,
        "status": status,
        "error": f"incomplete: {answer.incomplete}" if answer.incomplete else None,
        "replies": [{"id": _new_id("msg"), "text": answer.text}] if answer.text else [],
        "completed_at": time.time(),
    }


def _usage(data: dict[str, Any] | None) -> Usage:
    data = data or {}
    return Usage(
        int(data.get("prompt_tokens", 0)),
        int(data.get("completion_tokens", 0)),
        int(data.get("total_tokens", 0)),
    )


def _refusal(exc: Any) -> str:
    body = getattr(exc, "body", None)
    error = body.get("error", body) if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    code = getattr(exc, "code", None) or exc.status_code
    return f"{code}: {message or exc.message}"
