"""The Assistants API backend (``client.beta.threads``), polled or streamed.

OpenAI turned this API off on 2026-08-26; it still serves any Assistants-compatible
server (``openai_base_url``), and its shut-down answer is turned into an error that says
to switch ``openai_backend`` to ``responses``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import partial
from typing import Any

from ..errors import BadRequestError, EngineError, UpstreamError
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
from .paging import FIRST_PAGE, newest_first

__all__ = ["AssistantsBackend"]

# How many messages one page of a listing asks for.
_PAGE = 100


@contextmanager
def _quiet_deprecation() -> Iterator[None]:
    """Every Assistants call warns that the API is deprecated; users chose it knowingly."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def _time(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=timezone.utc) if value else None


def _text_of(message: Any) -> str:
    parts = []
    for block in message.content or []:
        text = getattr(block, "text", None)
        if text is not None:
            parts.append(text.value)
    return "\n".join(parts)


def _message(message: Any) -> Message:
    return Message(
        id=message.id,
        thread_id=message.thread_id,
        role=message.role,
        text=_text_of(message),
        created_at=_time(message.created_at) or datetime.now(timezone.utc),
        run_id=message.run_id,
    )


def _run_state(run: Any, user_message: Message | None = None) -> RunState:
    calls: tuple[ToolCall, ...] = ()
    if run.status == "requires_action" and run.required_action is not None:
        calls = tuple(
            ToolCall(id=call.id, name=call.function.name, arguments=call.function.arguments)
            for call in run.required_action.submit_tool_outputs.tool_calls
        )
    usage = None
    if run.usage is not None:
        usage = Usage(
            prompt_tokens=run.usage.prompt_tokens or 0,
            completion_tokens=run.usage.completion_tokens or 0,
            total_tokens=run.usage.total_tokens or 0,
        )
    error = None
    if run.last_error is not None:
        error = f"{run.last_error.code}: {run.last_error.message}"
    elif run.incomplete_details is not None:
        error = f"incomplete: {run.incomplete_details.reason}"
    elif run.status in ("expired", "cancelled"):
        error = run.status
    finished = run.completed_at or run.failed_at or run.cancelled_at
    return RunState(
        id=run.id,
        thread_id=run.thread_id,
        status=run.status,
        required_tool_calls=calls,
        usage=usage,
        model=run.model,
        error=error,
        created_at=_time(run.created_at),
        completed_at=_time(finished),
        user_message=user_message,
    )


class AssistantsBackend:
    name = "assistants"
    conversation_state = "openai"
    refuses_repeated_outputs = True

    def __init__(self, client: Any) -> None:
        self._client = client

    def check_options(self, options: TurnOptions) -> None:
        """The OpenAI assistant named by ``assistant_id`` holds the model and the tools."""

    def lost_start(self, thread_id: str, run: RunState, *, streamed: bool) -> tuple[bool, str]:
        # A thread's runs can be listed: the repeated ask finds this one (trace_ask).
        return False, (
            f"Run {run.id!r} has started on OpenAI but could not be recorded: repeat "
            "askOpenAi to pick it up."
        )

    @property
    def _threads(self) -> Any:
        return self._client.beta.threads

    def create_thread(self) -> str:
        with _quiet_deprecation(), openai_errors(self.name, "Creating a thread"):
            return self._threads.create().id

    def adopt_thread(self, thread_id: str, items: Sequence[HistoryItem]) -> str:
        raise BadRequestError(
            "Threads cannot be moved onto the Assistants API (OpenAI turned it off on "
            "2026-08-26): move them to chat or responses."
        )

    def start_turn(
        self, thread_id: str, text: str, options: TurnOptions, asked: Message | None = None
    ) -> RunState:
        # The message goes with the run (additional_messages): one request, so a failure
        # never leaves a message without its run, and a repeated ask adds no second copy.
        with _quiet_deprecation(), openai_errors(self.name, "Starting a run"):
            run = self._threads.runs.create(
                thread_id=thread_id,
                assistant_id=options.assistant_id,
                **_user_input(text, asked),
                **_run_overrides(options),
            )
        return _run_state(run, asked or self._user_message_of(run))

    def _user_message_of(self, run: Any) -> Message | None:
        """The message a run was started with: the thread's newest user message, read
        just after the run started (no message can be added while a run is active)."""
        try:
            with _quiet_deprecation(), openai_errors(self.name, "Reading the user's message"):
                page = self._threads.messages.list(run.thread_id, order="desc", limit=FIRST_PAGE)
        except EngineError as exc:
            raise type(exc)(
                f"{exc.message} Run {run.id} has started: repeat askOpenAi to pick it up.",
                details=exc.details,
            ) from exc
        return next((_message(m) for m in page.data if m.role == "user"), None)

    def trace_ask(self, thread_id: str) -> AskTrace:
        with _quiet_deprecation(), openai_errors(self.name, "Looking for the thread's last run"):
            runs = self._threads.runs.list(thread_id, order="desc", limit=1).data
        if not runs:
            return AskTrace()
        return AskTrace(run=_run_state(runs[0], self._user_message_of(runs[0])))

    def submitted_tool_outputs(self, thread_id: str, state: RunState) -> dict[str, str]:
        outputs: dict[str, str] = {}
        with _quiet_deprecation(), openai_errors(self.name, "Reading the run's steps"):
            for step in self._threads.runs.steps.list(state.id, thread_id=thread_id, limit=_PAGE):
                details = step.step_details
                for call in getattr(details, "tool_calls", None) or []:
                    function = getattr(call, "function", None)
                    if function is not None and function.output is not None:
                        outputs[call.id] = function.output
        return outputs

    def get_run(self, thread_id: str, run_id: str, progress: dict[str, Any]) -> RunState:
        with _quiet_deprecation(), openai_errors(self.name, "Reading the run"):
            return _run_state(self._threads.runs.retrieve(run_id, thread_id=thread_id))

    def submit_tool_outputs(
        self,
        thread_id: str,
        run_id: str,
        outputs: list[ToolOutput],
        options: TurnOptions,
        progress: dict[str, Any],
    ) -> RunState:
        with _quiet_deprecation(), openai_errors(self.name, "Submitting tool outputs"):
            run = self._threads.runs.submit_tool_outputs(
                run_id, thread_id=thread_id, tool_outputs=_outputs(outputs)
            )
        return _run_state(run)

    def cancel_run(self, thread_id: str, run_id: str, progress: dict[str, Any]) -> RunState:
        with _quiet_deprecation(), openai_errors(self.name, "Cancelling the run"):
            return _run_state(self._threads.runs.cancel(run_id, thread_id=thread_id))

    def run_messages(self, thread_id: str, state: RunState) -> list[Message]:
        # The user's message was recorded when the turn started; the replies carry run_id.
        with _quiet_deprecation(), openai_errors(self.name, "Reading the run's messages"):
            page = self._threads.messages.list(thread_id, run_id=state.id, order="asc", limit=_PAGE)
            return [_message(m) for m in page if m.run_id == state.id]

    def latest_message(self, thread_id: str, role: str) -> Message | None:
        # The newest message is nearly always the one asked for: read a few, page on rarely.
        with _quiet_deprecation(), openai_errors(self.name, "Reading the last message"):
            listing = partial(self._threads.messages.list, thread_id, order="desc")
            for message in newest_first(listing):
                if message.role == role:
                    return _message(message)
        return None

    def list_messages(self, thread_id: str, roles: list[str] | None, order: str) -> list[Message]:
        with _quiet_deprecation(), openai_errors(self.name, "Listing the thread's messages"):
            messages = [
                _message(m)
                for m in self._threads.messages.list(thread_id, order=order, limit=_PAGE)
            ]
        return [m for m in messages if not roles or m.role in roles]

    # ------------------------------------------------------------------ streaming
    def stream_turn(self, thread_id: str, text: str, options: TurnOptions) -> Iterator[StreamEvent]:
        with _quiet_deprecation():
            opened = self._threads.runs.stream(
                thread_id=thread_id,
                assistant_id=options.assistant_id,
                **_user_input(text, None),
                **_run_overrides(options),
            )
        yield from self._follow(opened, "Streaming the run", announce=True)

    def stream_tool_outputs(
        self,
        thread_id: str,
        run_id: str,
        outputs: list[ToolOutput],
        options: TurnOptions,
        progress: dict[str, Any],
    ) -> Iterator[StreamEvent]:
        # Each submission opens a stream (and an event handler) of its own.
        with _quiet_deprecation():
            opened = self._threads.runs.submit_tool_outputs_stream(
                run_id=run_id, thread_id=thread_id, tool_outputs=_outputs(outputs)
            )
        yield from self._follow(opened, "Streaming tool outputs", announce=False)

    def _follow(self, opened: Any, action: str, *, announce: bool) -> Iterator[StreamEvent]:
        last_run: Any = None
        with _quiet_deprecation(), openai_errors(self.name, action), opened as stream:
            for event in stream:
                kind = event.event
                if kind == "thread.message.delta":
                    for part in event.data.delta.content or ():
                        text = getattr(getattr(part, "text", None), "value", None)
                        if text:
                            yield StreamEvent("text", text=text)
                elif kind.startswith("thread.run.") and not kind.startswith("thread.run.step"):
                    last_run = event.data
                    if announce and kind == "thread.run.created":
                        announce = False
                        first = _run_state(last_run, self._user_message_of(last_run))
                        yield StreamEvent("started", state=first)
        if last_run is None or last_run.status in ("queued", "in_progress"):
            raise UpstreamError(f"{action}: the stream ended before the run stopped.")
        yield StreamEvent("stopped", state=_run_state(last_run))


def _outputs(outputs: list[ToolOutput]) -> list[dict[str, str]]:
    return [{"tool_call_id": o.tool_call_id, "output": o.output} for o in outputs]


def _user_input(text: str, asked: Message | None) -> dict[str, Any]:
    if asked is not None:
        return {}
    return {"additional_messages": [{"role": "user", "content": text}]}


def _run_overrides(options: TurnOptions) -> dict[str, Any]:
    """Assistant-record settings that override the OpenAI assistant's own, when given."""
    overrides: dict[str, Any] = {}
    if options.model:
        overrides["model"] = options.model
    if options.instructions:
        overrides["instructions"] = options.instructions
    for name in ("temperature", "top_p", "max_prompt_tokens", "max_completion_tokens"):
        if name in options.parameters:
            overrides[name] = options.parameters[name]
    return overrides
