"""The Assistants API subset: assistants, threads, messages, runs and run steps.

Runs advance deterministically: a non-streamed run is ``queued`` when created, and each
retrieve moves it one tick (``in_progress`` for ``steps:N`` ticks, then its turn is
taken). When a latency is set, wall time adds one tick per latency period, so a run
nobody polls still ends. Streamed runs take their turn at once and emit the events the
real API sends, in the same order.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .protocol import (
    DONE,
    ApiError,
    ApiRequest,
    EventStream,
    JsonReply,
    Reply,
    Route,
    new_id,
    not_found,
    now,
    paginate,
    route,
)
from .script import Script, Turn, count_words, parse_script, text_chunks

__all__ = ["ASSISTANTS_SHUTDOWN_ERROR", "AssistantsApi"]

# Our assumption of what OpenAI answers once the Assistants API is gone (HTTP 404).
ASSISTANTS_SHUTDOWN_ERROR: dict[str, Any] = {
    "error": {
        "message": "The Assistants API has been shut down as of 2026-08-26. "
        "Migrate to the Responses API.",
        "type": "invalid_request_error",
        "code": "api_shutdown",
        "param": None,
    }
}

DEFAULT_MODEL = "gpt-sandbox"
ACTIVE_STATUSES = frozenset({"queued", "in_progress", "requires_action", "cancelling"})
RUN_LIFETIME_SECONDS = 600

Emit = Callable[[str, dict[str, Any]], None]


def _no_emit(_event: str, _data: dict[str, Any]) -> None:
    """Non-streamed runs take the same code path as streamed ones, minus the events."""


@dataclass
class _Run:
    id: str
    thread_id: str
    assistant_id: str
    model: str
    instructions: str
    tools: list[Any]
    metadata: dict[str, Any]
    temperature: float | None
    top_p: float | None
    script: Script
    created_at: int = field(default_factory=now)
    status: str = "queued"
    started_at: int | None = None
    completed_at: int | None = None
    failed_at: int | None = None
    cancelled_at: int | None = None
    last_error: dict[str, str] | None = None
    incomplete_details: dict[str, str] | None = None
    pending_calls: list[dict[str, Any]] = field(default_factory=list)
    pending_step: dict[str, Any] | None = None
    usage: dict[str, int] | None = None
    rounds_done: int = 0
    last_outputs: list[tuple[str, str]] = field(default_factory=list)
    output_words: int = 0  # words of every tool output submitted to this run
    calls_made: int = 0
    polls: int = 0
    queued_at: float = field(default_factory=time.monotonic)
    steps: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        required_action = None
        if self.status == "requires_action":
            required_action = {
                "type": "submit_tool_outputs",
                "submit_tool_outputs": {"tool_calls": copy.deepcopy(self.pending_calls)},
            }
        active = self.status in ACTIVE_STATUSES
        return {
            "id": self.id,
            "object": "thread.run",
            "created_at": self.created_at,
            "assistant_id": self.assistant_id,
            "thread_id": self.thread_id,
            "status": self.status,
            "started_at": self.started_at,
            "expires_at": self.created_at + RUN_LIFETIME_SECONDS if active else None,
            "cancelled_at": self.cancelled_at,
            "failed_at": self.failed_at,
            "completed_at": self.completed_at,
            "required_action": required_action,
            "last_error": self.last_error,
            "model": self.model,
            "instructions": self.instructions,
            "tools": self.tools,
            "metadata": self.metadata,
            "usage": dict(self.usage) if self.usage else None,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_prompt_tokens": None,
            "max_completion_tokens": None,
            "truncation_strategy": {"type": "auto", "last_messages": None},
            "incomplete_details": self.incomplete_details,
            "response_format": "auto",
            "tool_choice": "auto",
            "parallel_tool_calls": True,
        }


@dataclass
class _Thread:
    id: str
    metadata: dict[str, Any]
    created_at: int = field(default_factory=now)
    messages: list[dict[str, Any]] = field(default_factory=list)
    runs: list[_Run] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "thread",
            "created_at": self.created_at,
            "metadata": self.metadata,
            "tool_resources": {},
        }


def _text_of(content: Any) -> str:
    """Text of message content given as a string or as a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if not isinstance(part, dict):
                continue
            text = part.get("text")
            if isinstance(text, dict):  # stored shape: {"value": ..., "annotations": []}
                text = text.get("value")
            if isinstance(text, str):
                texts.append(text)
        return "\n".join(texts)
    raise ApiError(
        400, "Invalid 'content': expected a string or a list of content parts.", param="content"
    )


def _text_block(value: str) -> dict[str, Any]:
    return {"type": "text", "text": {"value": value, "annotations": []}}


class AssistantsApi:
    """In-memory Assistants state; every public method is one HTTP route."""

    def __init__(self, latency: Callable[[], float]) -> None:
        self._latency = latency
        self._lock = threading.RLock()
        self._assistants: dict[str, dict[str, Any]] = {}
        self._threads: dict[str, _Thread] = {}

    def routes(self) -> list[Route]:
        table = [
            ("POST", "/assistants", self.create_assistant),
            ("GET", "/assistants", self.list_assistants),
            ("GET", "/assistants/{assistant_id}", self.retrieve_assistant),
            ("POST", "/assistants/{assistant_id}", self.update_assistant),
            ("DELETE", "/assistants/{assistant_id}", self.delete_assistant),
            ("POST", "/threads", self.create_thread),
            ("GET", "/threads/{thread_id}", self.retrieve_thread),
            ("POST", "/threads/{thread_id}", self.update_thread),
            ("DELETE", "/threads/{thread_id}", self.delete_thread),
            ("POST", "/threads/{thread_id}/messages", self.create_message),
            ("GET", "/threads/{thread_id}/messages", self.list_messages),
            ("GET", "/threads/{thread_id}/messages/{message_id}", self.retrieve_message),
            ("POST", "/threads/{thread_id}/runs", self.create_run),
            ("GET", "/threads/{thread_id}/runs", self.list_runs),
            ("GET", "/threads/{thread_id}/runs/{run_id}", self.retrieve_run),
            ("POST", "/threads/{thread_id}/runs/{run_id}/cancel", self.cancel_run),
            (
                "POST",
                "/threads/{thread_id}/runs/{run_id}/submit_tool_outputs",
                self.submit_tool_outputs,
            ),
            ("GET", "/threads/{thread_id}/runs/{run_id}/steps", self.list_steps),
            ("GET", "/threads/{thread_id}/runs/{run_id}/steps/{step_id}", self.retrieve_step),
        ]
        return [route(method, path, handler, "assistants") for method, path, handler in table]

    # -- assistants -------------------------------------------------------------------

    def create_assistant(self, req: ApiRequest) -> Reply:
        body = req.body
        assistant = {
            "id": new_id("asst"),
            "object": "assistant",
            "created_at": now(),
            "name": body.get("name"),
            "description": body.get("description"),
            "model": body.get("model") or DEFAULT_MODEL,
            "instructions": body.get("instructions"),
            "tools": list(body.get("tools") or []),
            "metadata": dict(body.get("metadata") or {}),
            "temperature": body.get("temperature", 1.0),
            "top_p": body.get("top_p", 1.0),
            "response_format": body.get("response_format", "auto"),
            "tool_resources": {},
        }
        with self._lock:
            self._assistants[assistant["id"]] = assistant
            return JsonReply(copy.deepcopy(assistant))

    def list_assistants(self, req: ApiRequest) -> Reply:
        with self._lock:
            return JsonReply(paginate(copy.deepcopy(list(self._assistants.values())), req))

    def retrieve_assistant(self, req: ApiRequest, assistant_id: str) -> Reply:
        with self._lock:
            return JsonReply(copy.deepcopy(self._assistant(assistant_id)))

    def update_assistant(self, req: ApiRequest, assistant_id: str) -> Reply:
        editable = (
            "name",
            "description",
            "model",
            "instructions",
            "tools",
            "metadata",
            "temperature",
            "top_p",
            "response_format",
        )
        with self._lock:
            assistant = self._assistant(assistant_id)
            assistant.update({k: v for k, v in req.body.items() if k in editable})
            return JsonReply(copy.deepcopy(assistant))

    def delete_assistant(self, req: ApiRequest, assistant_id: str) -> Reply:
        with self._lock:
            self._assistant(assistant_id)
            del self._assistants[assistant_id]
        return JsonReply({"id": assistant_id, "object": "assistant.deleted", "deleted": True})

    # -- threads and messages ---------------------------------------------------------

    def create_thread(self, req: ApiRequest) -> Reply:
        thread = _Thread(new_id("thread"), dict(req.body.get("metadata") or {}))
        for message in req.body.get("messages") or []:
            self._append_message(thread, message)
        with self._lock:
            self._threads[thread.id] = thread
            return JsonReply(thread.to_json())

    def retrieve_thread(self, req: ApiRequest, thread_id: str) -> Reply:
        with self._lock:
            return JsonReply(self._thread(thread_id).to_json())

    def update_thread(self, req: ApiRequest, thread_id: str) -> Reply:
        with self._lock:
            thread = self._thread(thread_id)
            if "metadata" in req.body:
                thread.metadata = dict(req.body["metadata"] or {})
            return JsonReply(thread.to_json())

    def delete_thread(self, req: ApiRequest, thread_id: str) -> Reply:
        with self._lock:
            self._thread(thread_id)
            del self._threads[thread_id]
        return JsonReply({"id": thread_id, "object": "thread.deleted", "deleted": True})

    def create_message(self, req: ApiRequest, thread_id: str) -> Reply:
        with self._lock:
            thread = self._thread(thread_id)
            active = self._active_run(thread)
            if active is not None:
                raise ApiError(
                    400, f"Can't add messages to {thread.id} while a run {active.id} is active."
                )
            return JsonReply(copy.deepcopy(self._append_message(thread, req.body)))

    def list_messages(self, req: ApiRequest, thread_id: str) -> Reply:
        with self._lock:
            thread = self._thread(thread_id)
            self._active_run(thread)  # lets wall-time progress show up in the list
            messages = thread.messages
            if "run_id" in req.query:
                messages = [m for m in messages if m["run_id"] == req.query["run_id"]]
            return JsonReply(paginate(copy.deepcopy(messages), req))

    def retrieve_message(self, req: ApiRequest, thread_id: str, message_id: str) -> Reply:
        with self._lock:
            thread = self._thread(thread_id)
            for message in thread.messages:
                if message["id"] == message_id:
                    return JsonReply(copy.deepcopy(message))
            raise not_found("message", message_id)

    # -- runs -------------------------------------------------------------------------

    def create_run(self, req: ApiRequest, thread_id: str) -> Reply:
        body = req.body
        with self._lock:
            thread = self._thread(thread_id)
            assistant_id = body.get("assistant_id")
            if not isinstance(assistant_id, str):
                raise ApiError(
                    400, "Missing required parameter: 'assistant_id'.", param="assistant_id"
                )
            assistant = self._assistant(assistant_id)
            active = self._active_run(thread)
            if active is not None:
                raise ApiError(400, f"Thread {thread.id} already has an active run {active.id}.")
            for message in body.get("additional_messages") or []:
                self._append_message(thread, message)
            instructions = body.get("instructions")
            if instructions is None:
                instructions = assistant["instructions"] or ""
            if body.get("additional_instructions"):
                instructions = f"{instructions}\n{body['additional_instructions']}".strip()
            user_texts = [_text_of(m["content"]) for m in thread.messages if m["role"] == "user"]
            run = _Run(
                id=new_id("run"),
                thread_id=thread.id,
                assistant_id=assistant_id,
                model=body.get("model") or assistant["model"] or DEFAULT_MODEL,
                instructions=instructions,
                tools=list(body["tools"] if body.get("tools") is not None else assistant["tools"]),
                metadata=dict(body.get("metadata") or {}),
                temperature=body.get("temperature", assistant["temperature"]),
                top_p=body.get("top_p", assistant["top_p"]),
                script=parse_script(user_texts[-1] if user_texts else ""),
            )
            thread.runs.append(run)
            if not body.get("stream"):
                return JsonReply(run.to_json())
            events: list[tuple[str, Any]] = []
            emit = _collector(events)
            emit("thread.run.created", run.to_json())
            emit("thread.run.queued", run.to_json())
            self._start(run, emit)
            self._take_turn(thread, run, emit)
        return _event_stream(events)

    def list_runs(self, req: ApiRequest, thread_id: str) -> Reply:
        with self._lock:
            thread = self._thread(thread_id)
            self._active_run(thread)
            return JsonReply(paginate([run.to_json() for run in thread.runs], req))

    def retrieve_run(self, req: ApiRequest, thread_id: str, run_id: str) -> Reply:
        with self._lock:
            thread = self._thread(thread_id)
            run = self._run(thread, run_id)
            run.polls += 1
            self._advance(thread, run)
            return JsonReply(run.to_json())

    def cancel_run(self, req: ApiRequest, thread_id: str, run_id: str) -> Reply:
        with self._lock:
            thread = self._thread(thread_id)
            run = self._run(thread, run_id)
            self._advance(thread, run)
            if run.status not in ACTIVE_STATUSES:
                raise ApiError(400, f"Cannot cancel run with status '{run.status}'.")
            # Straight to "cancelled" (not "cancelling"): nothing runs in the background here.
            run.status, run.cancelled_at = "cancelled", now()
            if run.pending_step is not None:
                run.pending_step.update(status="cancelled", cancelled_at=run.cancelled_at)
                run.pending_step = None
            run.pending_calls = []
            return JsonReply(run.to_json())

    def submit_tool_outputs(self, req: ApiRequest, thread_id: str, run_id: str) -> Reply:
        outputs = req.body.get("tool_outputs")
        if not isinstance(outputs, list) or not all(isinstance(o, dict) for o in outputs):
            raise ApiError(400, "Missing required parameter: 'tool_outputs'.", param="tool_outputs")
        with self._lock:
            thread = self._thread(thread_id)
            run = self._run(thread, run_id)
            self._advance(thread, run)
            if run.status != "requires_action":
                raise ApiError(400, f'Runs in status "{run.status}" do not accept tool outputs.')
            expected = [call["id"] for call in run.pending_calls]
            given = [o.get("tool_call_id") for o in outputs]
            if sorted(map(str, given)) != sorted(expected):
                raise ApiError(
                    400,
                    f"Expected tool outputs for call_ids {expected}, got {given}.",
                    param="tool_outputs",
                )
            by_id = {o["tool_call_id"]: str(o.get("output") or "") for o in outputs}
            run.last_outputs = [(c["function"]["name"], by_id[c["id"]]) for c in run.pending_calls]
            run.output_words += count_words(*by_id.values())
            step = run.pending_step
            if step is not None:
                for call in step["step_details"]["tool_calls"]:
                    call["function"]["output"] = by_id.get(call["id"])
                step.update(status="completed", completed_at=now())
            run.pending_step, run.pending_calls = None, []
            run.rounds_done += 1
            run.status, run.polls, run.queued_at = "queued", 0, time.monotonic()
            if not req.body.get("stream"):
                return JsonReply(run.to_json())
            events: list[tuple[str, Any]] = []
            emit = _collector(events)
            if step is not None:
                emit("thread.run.step.completed", step)
            emit("thread.run.queued", run.to_json())
            self._start(run, emit)
            self._take_turn(thread, run, emit)
        return _event_stream(events)

    def list_steps(self, req: ApiRequest, thread_id: str, run_id: str) -> Reply:
        with self._lock:
            run = self._run(self._thread(thread_id), run_id)
            return JsonReply(paginate(copy.deepcopy(run.steps), req))

    def retrieve_step(self, req: ApiRequest, thread_id: str, run_id: str, step_id: str) -> Reply:
        with self._lock:
            run = self._run(self._thread(thread_id), run_id)
            for step in run.steps:
                if step["id"] == step_id:
                    return JsonReply(copy.deepcopy(step))
            raise not_found("run step", step_id)

    # -- lookups (caller holds the lock) ------------------------------------------------

    def _assistant(self, assistant_id: str) -> dict[str, Any]:
        try:
            return self._assistants[assistant_id]
        except KeyError:
            raise not_found("assistant", assistant_id) from None

    def _thread(self, thread_id: str) -> _Thread:
        try:
            return self._threads[thread_id]
        except KeyError:
            raise not_found("thread", thread_id) from None

    def _run(self, thread: _Thread, run_id: str) -> _Run:
        for run in thread.runs:
            if run.id == run_id:
                return run
        raise not_found("run", run_id)

    def _active_run(self, thread: _Thread) -> _Run | None:
        for run in thread.runs:
            self._advance(thread, run)
            if run.status in ACTIVE_STATUSES:
                return run
        return None

    def _append_message(self, thread: _Thread, message: Any) -> dict[str, Any]:
        if not isinstance(message, dict):
            raise ApiError(400, "Invalid message: expected an object.", param="messages")
        role = message.get("role", "user")
        if role not in ("user", "assistant"):
            raise ApiError(
                400, f"Invalid 'role': '{role}'. Expected 'user' or 'assistant'.", param="role"
            )
        stored = self._message(thread, role, _text_of(message.get("content", "")))
        stored["metadata"] = dict(message.get("metadata") or {})
        thread.messages.append(stored)
        return stored

    @staticmethod
    def _message(thread: _Thread, role: str, text: str, run: _Run | None = None) -> dict:
        return {
            "id": new_id("msg"),
            "object": "thread.message",
            "created_at": now(),
            "thread_id": thread.id,
            "role": role,
            "content": [_text_block(text)],
            "assistant_id": run.assistant_id if run else None,
            "run_id": run.id if run else None,
            "attachments": [],
            "metadata": {},
            "status": "completed",
            "completed_at": None,
            "incomplete_at": None,
            "incomplete_details": None,
        }

    # -- the run state machine (caller holds the lock) -----------------------------------

    def _advance(self, thread: _Thread, run: _Run) -> None:
        """Move a polled run on by its ticks: retrieves, plus latency periods of wall time."""
        if run.status not in ("queued", "in_progress"):
            return
        latency = self._latency()
        ticks = run.polls
        if latency > 0:
            ticks += int((time.monotonic() - run.queued_at) / latency)
        if ticks == 0:
            return
        self._start(run, _no_emit)
        if ticks > run.script.steps:
            self._take_turn(thread, run, _no_emit)

    @staticmethod
    def _start(run: _Run, emit: Emit) -> None:
        if run.status == "queued":
            run.status = "in_progress"
            run.started_at = run.started_at or now()
            emit("thread.run.in_progress", run.to_json())

    def _new_step(self, run: _Run, kind: str, details: dict[str, Any]) -> dict[str, Any]:
        step = {
            "id": new_id("step"),
            "object": "thread.run.step",
            "created_at": now(),
            "run_id": run.id,
            "assistant_id": run.assistant_id,
            "thread_id": run.thread_id,
            "type": kind,
            "status": "in_progress",
            "step_details": details,
            "last_error": None,
            "expired_at": None,
            "cancelled_at": None,
            "failed_at": None,
            "completed_at": None,
            "metadata": {},
            "usage": None,
        }
        run.steps.append(step)
        return step

    def _take_turn(self, thread: _Thread, run: _Run, emit: Emit) -> None:
        turn = run.script.next_turn(run.rounds_done, run.last_outputs)
        if turn.asks_for_calls:
            self._ask_for_calls(run, turn, emit)
            return
        ending = turn.ending
        reply_words = 0
        if ending is None or ending.kind == "incomplete":
            reply_words = self._reply(thread, run, turn, emit)
        prompt = (
            count_words(*(_text_of(m["content"]) for m in thread.messages if m["run_id"] != run.id))
            + run.output_words
        )
        completion = reply_words + run.calls_made
        run.usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        stamp = now()
        if ending is None:
            run.status, run.completed_at = "completed", stamp
        elif ending.kind == "fail":
            run.status, run.failed_at = "failed", stamp
            run.last_error = {"code": ending.code, "message": ending.message}
        elif ending.kind == "expire":
            run.status = "expired"
        elif ending.kind == "cancel":
            run.status, run.cancelled_at = "cancelled", stamp
        else:
            run.status = "incomplete"
            run.incomplete_details = {"reason": "max_completion_tokens"}
        emit(f"thread.run.{run.status}", run.to_json())

    def _ask_for_calls(self, run: _Run, turn: Turn, emit: Emit) -> None:
        calls = [
            {
                "id": new_id("call"),
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in turn.calls
        ]
        step = self._new_step(run, "tool_calls", {"type": "tool_calls", "tool_calls": []})
        emit("thread.run.step.created", step)
        emit("thread.run.step.in_progress", step)
        for index, call in enumerate(calls):
            step_call = {**copy.deepcopy(call), "index": index}
            step_call["function"]["output"] = None
            emit(
                "thread.run.step.delta",
                {
                    "id": step["id"],
                    "object": "thread.run.step.delta",
                    "delta": {"step_details": {"type": "tool_calls", "tool_calls": [step_call]}},
                },
            )
        step["step_details"]["tool_calls"] = [
            {**copy.deepcopy(c), "function": {**c["function"], "output": None}} for c in calls
        ]
        run.pending_calls, run.pending_step = calls, step
        run.calls_made += len(calls)
        run.status = "requires_action"
        emit("thread.run.requires_action", run.to_json())

    def _reply(self, thread: _Thread, run: _Run, turn: Turn, emit: Emit) -> int:
        """Write the assistant's message (streaming its deltas); returns its word count."""
        message = self._message(thread, "assistant", "", run)
        message.update(status="in_progress", content=[])
        thread.messages.append(message)
        step = self._new_step(
            run,
            "message_creation",
            {"type": "message_creation", "message_creation": {"message_id": message["id"]}},
        )
        emit("thread.run.step.created", step)
        emit("thread.run.step.in_progress", step)
        emit("thread.message.created", message)
        emit("thread.message.in_progress", message)
        for index, chunk in enumerate(text_chunks(turn.reply)):
            text: dict[str, Any] = {"value": chunk}
            if index == 0:
                text["annotations"] = []
            emit(
                "thread.message.delta",
                {
                    "id": message["id"],
                    "object": "thread.message.delta",
                    "delta": {"content": [{"index": 0, "type": "text", "text": text}]},
                },
            )
        message["content"] = [_text_block(turn.reply)]
        stamp = now()
        if turn.ending is not None:  # "incomplete": the reply was cut short
            message.update(
                status="incomplete",
                incomplete_at=stamp,
                incomplete_details={"reason": "max_tokens"},
            )
        else:
            message.update(status="completed", completed_at=stamp)
        emit(f"thread.message.{message['status']}", message)
        step.update(status="completed", completed_at=stamp)
        emit("thread.run.step.completed", step)
        return count_words(turn.reply)


def _collector(events: list[tuple[str, Any]]) -> Emit:
    def emit(event: str, data: dict[str, Any]) -> None:
        # Snapshot now: the objects keep changing after the event is queued.
        events.append((event, copy.deepcopy(data)))

    return emit


def _event_stream(events: list[tuple[str, Any]]) -> EventStream:
    def produce() -> Iterator[tuple[str, Any]]:
        yield from events
        yield "done", DONE

    return EventStream(produce())
