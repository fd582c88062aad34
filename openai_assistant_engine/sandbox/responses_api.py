"""The Responses and Conversations API subset.

The model's context is a flat item list (messages, function calls, their outputs), taken
from the conversation, the ``previous_response_id`` chain, or the request alone, plus the
request's input. What the model answers (``model.answer``, shared with Chat Completions)
is decided when the request arrives; a background or streamed response only reveals it
later, and keeps its conversation locked until then. The Conversations routes form a
family of their own, so a server can leave them out.
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .model import FunctionCall, FunctionOutput, Item, Message, answer
from .protocol import (
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
from .script import Script, text_chunks

__all__ = ["ResponsesApi"]

DEFAULT_MODEL = "gpt-sandbox"
ACTIVE_STATUSES = frozenset({"queued", "in_progress"})
MESSAGE_ROLES = frozenset({"user", "assistant", "system", "developer"})
ARGUMENT_CHUNK = 12  # characters per function_call_arguments.delta
# Request parameters the response object echoes back (the model itself ignores them).
ECHOED_PARAMS = (
    "model",
    "instructions",
    "tools",
    "temperature",
    "top_p",
    "tool_choice",
    "parallel_tool_calls",
    "max_output_tokens",
    "max_tool_calls",
    "metadata",
    "text",
    "truncation",
    "user",
)

MAX_ITEMS_PER_REQUEST = 20  # OpenAI's cap on items added to a conversation at once
LOCKED = (
    "Another process is currently operating on this conversation. Please retry in a few seconds."
)


@dataclass
class _Outcome:
    """What the model answered, revealed when the response finishes."""

    status: str
    output: list[dict[str, Any]]
    usage: dict[str, Any] | None
    error: dict[str, str] | None = None
    incomplete_details: dict[str, str] | None = None


@dataclass
class _Response:
    id: str
    params: dict[str, Any]
    context: list[dict[str, Any]]  # everything the model saw, this request's input included
    input_items: list[dict[str, Any]]
    outcome: _Outcome
    steps: int
    conversation_id: str | None
    previous_response_id: str | None
    background: bool
    stored: bool
    status: str = "in_progress"
    created_at: int = field(default_factory=now)
    completed_at: int | None = None
    polls: int = 0
    queued_at: float = field(default_factory=time.monotonic)

    @property
    def finished(self) -> bool:
        return self.status not in ACTIVE_STATUSES

    def visible_output(self) -> list[dict[str, Any]]:
        return self.outcome.output if self.finished else []

    def to_json(self) -> dict[str, Any]:
        shown = self.status == self.outcome.status  # i.e. not queued/in progress/cancelled
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": self.status,
            "background": self.background,
            "error": self.outcome.error if shown else None,
            "incomplete_details": self.outcome.incomplete_details if shown else None,
            "instructions": self.params.get("instructions"),
            "max_output_tokens": self.params.get("max_output_tokens"),
            "max_tool_calls": self.params.get("max_tool_calls"),
            "model": self.params.get("model") or DEFAULT_MODEL,
            "output": copy.deepcopy(self.outcome.output) if shown else [],
            "parallel_tool_calls": self.params.get("parallel_tool_calls", True),
            "previous_response_id": self.previous_response_id,
            "conversation": {"id": self.conversation_id} if self.conversation_id else None,
            "reasoning": {"effort": None, "summary": None},
            "service_tier": "default",
            "store": self.stored,
            "temperature": self.params.get("temperature", 1.0),
            "text": self.params.get("text") or {"format": {"type": "text"}},
            "tool_choice": self.params.get("tool_choice", "auto"),
            "tools": [_echo_tool(tool) for tool in self.params.get("tools") or []],
            "top_p": self.params.get("top_p", 1.0),
            "truncation": self.params.get("truncation", "disabled"),
            "usage": copy.deepcopy(self.outcome.usage) if shown else None,
            "user": self.params.get("user"),
            "metadata": self.params.get("metadata") or {},
            "completed_at": self.completed_at,
        }


@dataclass
class _Conversation:
    id: str
    metadata: dict[str, Any]
    created_at: int = field(default_factory=now)
    items: list[dict[str, Any]] = field(default_factory=list)
    active_response_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "conversation",
            "created_at": self.created_at,
            "metadata": self.metadata,
        }


def _echo_tool(tool: Any) -> Any:
    if isinstance(tool, dict) and tool.get("type") == "function":
        return {"parameters": None, "description": None, "strict": True, **tool}
    return tool


def _item_text(item: dict[str, Any]) -> str:
    """Text of a message item's content, or of a function_call_output's output."""
    content = (
        item.get("output") if item.get("type") == "function_call_output" else item.get("content")
    )
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def _normalize_items(raw: Any, param: str) -> list[dict[str, Any]]:
    """Input items in their stored shape, each with a fresh id."""
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = [{"role": "user", "content": raw}]
    if not isinstance(raw, list):
        raise ApiError(
            400, f"Invalid '{param}': expected a string or a list of items.", param=param
        )
    items = []
    for index, item in enumerate(raw):
        where = f"{param}[{index}]"
        if not isinstance(item, dict):
            raise ApiError(400, f"Invalid '{where}': expected an object.", param=where)
        kind = item.get("type") or ("message" if "role" in item else None)
        if kind == "message":
            items.append(_message_item(item, where))
        elif kind == "function_call_output":
            if not isinstance(item.get("call_id"), str) or "output" not in item:
                raise ApiError(
                    400,
                    f"Invalid '{where}': function_call_output needs 'call_id' and 'output'.",
                    param=where,
                )
            items.append(
                {
                    "id": new_id("fco"),
                    "type": kind,
                    "call_id": item["call_id"],
                    "output": item["output"],
                    "status": "completed",
                }
            )
        elif kind == "function_call":
            if not all(isinstance(item.get(k), str) for k in ("call_id", "name", "arguments")):
                raise ApiError(
                    400,
                    f"Invalid '{where}': function_call needs 'call_id', 'name' and 'arguments'.",
                    param=where,
                )
            items.append(
                {
                    "id": new_id("fc"),
                    "type": kind,
                    "call_id": item["call_id"],
                    "name": item["name"],
                    "arguments": item["arguments"],
                    "status": "completed",
                }
            )
        else:
            raise ApiError(400, f"Invalid '{where}': unsupported item type '{kind}'.", param=where)
    return items


def _item_batch(raw: Any) -> list[dict[str, Any]]:
    """Items added to a conversation in one request: at most MAX_ITEMS_PER_REQUEST."""
    if isinstance(raw, list) and len(raw) > MAX_ITEMS_PER_REQUEST:
        raise ApiError(
            400,
            f"Invalid 'items': array too long. Expected an array with maximum length "
            f"{MAX_ITEMS_PER_REQUEST}, but got an array with length {len(raw)} instead.",
            code="array_above_max_length",
            param="items",
        )
    return _normalize_items(raw, "items")


def _message_item(item: dict[str, Any], where: str) -> dict[str, Any]:
    role, content = item.get("role"), item.get("content")
    if role not in MESSAGE_ROLES:
        raise ApiError(400, f"Invalid '{where}.role': '{role}'.", param=f"{where}.role")
    if isinstance(content, str):
        part_type = "output_text" if role == "assistant" else "input_text"
        parts = [{"type": part_type, "text": content}]
    elif isinstance(content, list) and all(isinstance(p, dict) for p in content):
        parts = [dict(part) for part in content]
    else:
        raise ApiError(
            400,
            f"Invalid '{where}.content': expected a string or a list of parts.",
            param=f"{where}.content",
        )
    for part in parts:
        if part.get("type") == "output_text":
            part.setdefault("annotations", [])
    return {
        "id": new_id("msg"),
        "type": "message",
        "role": role,
        "status": "completed",
        "content": parts,
    }


def _check_calls_answered(base: list[dict[str, Any]], new: list[dict[str, Any]]) -> None:
    """Every function call must be answered, by call_id, before the model speaks again."""
    items = base + new
    calls = [i["call_id"] for i in items if i["type"] == "function_call"]
    answered = {i["call_id"] for i in items if i["type"] == "function_call_output"}
    for item in new:
        if item["type"] == "function_call_output" and item["call_id"] not in calls:
            raise ApiError(
                400,
                f"No tool call found for function call output with call_id {item['call_id']}.",
                param="input",
            )
    for call_id in calls:
        if call_id not in answered:
            raise ApiError(400, f"No tool output found for function call {call_id}.", param="input")


def _neutral(item: dict[str, Any]) -> Item:
    """A stored item as the shared model sees it."""
    if item["type"] == "function_call":
        return FunctionCall(item["call_id"], item["name"], item["arguments"])
    if item["type"] == "function_call_output":
        return FunctionOutput(item["call_id"], _item_text(item))
    return Message(item["role"], _item_text(item))


def _think(context: list[dict[str, Any]]) -> tuple[Script, _Outcome]:
    """Run the scripted model over ``context``; returns its script and its answer."""
    result = answer([_neutral(item) for item in context])
    output: list[dict[str, Any]] = [
        {
            "id": new_id("fc"),
            "type": "function_call",
            "call_id": new_id("call"),
            "name": call.name,
            "arguments": call.arguments,
            "status": "completed",
        }
        for call in result.calls
    ]
    ending = result.ending
    if result.has_reply:
        output.append(
            {
                "id": new_id("msg"),
                "type": "message",
                "role": "assistant",
                "status": "incomplete" if ending else "completed",
                "content": [
                    {"type": "output_text", "text": result.reply, "annotations": [], "logprobs": []}
                ],
            }
        )
    usage = {
        "input_tokens": result.input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": result.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": result.total_tokens,
    }
    script = result.script
    if result.calls or ending is None:
        return script, _Outcome("completed", output, usage)
    if ending.kind == "fail":
        return script, _Outcome(
            "failed", [], usage, {"code": ending.code, "message": ending.message}
        )
    if ending.kind == "expire":  # Responses has no "expired": it fails instead
        return script, _Outcome(
            "failed",
            [],
            usage,
            {"code": "server_error", "message": "The response expired before it completed."},
        )
    if ending.kind == "cancel":
        return script, _Outcome("cancelled", [], usage)
    return script, _Outcome(
        "incomplete", output, usage, incomplete_details={"reason": "max_output_tokens"}
    )


class ResponsesApi:
    """In-memory Responses + Conversations state; every public method is one HTTP route."""

    def __init__(
        self,
        latency: Callable[[], float],
        conversations_enabled: Callable[[], bool] = lambda: True,
    ) -> None:
        self._latency = latency
        self._conversations_enabled = conversations_enabled
        self._lock = threading.RLock()
        self._responses: dict[str, _Response] = {}
        self._conversations: dict[str, _Conversation] = {}

    def routes(self) -> list[Route]:
        table = [
            ("POST", "/responses", self.create_response),
            ("GET", "/responses/{response_id}", self.retrieve_response),
            ("DELETE", "/responses/{response_id}", self.delete_response),
            ("POST", "/responses/{response_id}/cancel", self.cancel_response),
            ("GET", "/responses/{response_id}/input_items", self.list_input_items),
            ("POST", "/conversations", self.create_conversation),
            ("GET", "/conversations/{conversation_id}", self.retrieve_conversation),
            ("POST", "/conversations/{conversation_id}", self.update_conversation),
            ("DELETE", "/conversations/{conversation_id}", self.delete_conversation),
            ("POST", "/conversations/{conversation_id}/items", self.create_items),
            ("GET", "/conversations/{conversation_id}/items", self.list_items),
            ("GET", "/conversations/{conversation_id}/items/{item_id}", self.retrieve_item),
            ("DELETE", "/conversations/{conversation_id}/items/{item_id}", self.delete_item),
        ]
        # A server without a Conversations API drops the "conversations" family.
        return [
            route(
                method,
                path,
                handler,
                "conversations" if path.startswith("/conversations") else "responses",
            )
            for method, path, handler in table
        ]

    # -- responses --------------------------------------------------------------------

    def create_response(self, req: ApiRequest) -> Reply:
        body = req.body
        if "conversation" in body and not self._conversations_enabled():
            # What an API without conversations says of any parameter it doesn't know.
            raise ApiError(400, "Unrecognized request argument supplied: conversation")
        conversation_ref, previous_id = body.get("conversation"), body.get("previous_response_id")
        if conversation_ref and previous_id:
            raise ApiError(
                400,
                "Mutually exclusive parameters: Ensure you are only providing "
                "one of: 'previous_response_id' or 'conversation'.",
                param="conversation",
            )
        conversation_id = (
            conversation_ref.get("id") if isinstance(conversation_ref, dict) else conversation_ref
        )
        background, stream = bool(body.get("background")), bool(body.get("stream"))
        stored = body.get("store") is not False
        if background and not stored:
            raise ApiError(400, "Background mode requires 'store' to be true.", param="background")
        new_items = _normalize_items(body.get("input"), "input")
        with self._lock:
            conversation = None
            if conversation_id:
                conversation = self._conversation(str(conversation_id))
                self._check_unlocked(conversation)
                base = conversation.items
            elif previous_id:
                previous = self._response(str(previous_id))
                self._advance(previous)
                if not previous.finished:
                    raise ApiError(
                        400,
                        f"Previous response with id '{previous.id}' is still {previous.status}.",
                        param="previous_response_id",
                    )
                base = previous.context + copy.deepcopy(previous.visible_output())
            else:
                base = []
            _check_calls_answered(base, new_items)
            context = base + new_items
            script, outcome = _think(context)
            params = {key: body[key] for key in ECHOED_PARAMS if key in body}
            response = _Response(
                id=new_id("resp"),
                params=params,
                context=copy.deepcopy(context),
                input_items=new_items,
                outcome=outcome,
                steps=script.steps,
                conversation_id=conversation.id if conversation else None,
                previous_response_id=previous_id or None,
                background=background,
                stored=stored,
            )
            self._responses[response.id] = response
            if conversation is not None:
                conversation.items.extend(copy.deepcopy(new_items))
            if stream:
                self._lock_conversation(response)
                return EventStream(self._stream(response))
            if background:
                response.status = "queued"
                self._lock_conversation(response)
            else:
                self._finish(response)
            return JsonReply(response.to_json())

    def retrieve_response(self, req: ApiRequest, response_id: str) -> Reply:
        with self._lock:
            response = self._response(response_id)
            response.polls += 1
            self._advance(response)
            return JsonReply(response.to_json())

    def delete_response(self, req: ApiRequest, response_id: str) -> Reply:
        with self._lock:
            self._unlock_conversation(self._response(response_id))
            del self._responses[response_id]
        return JsonReply({"id": response_id, "object": "response", "deleted": True})

    def cancel_response(self, req: ApiRequest, response_id: str) -> Reply:
        with self._lock:
            response = self._response(response_id)
            if not response.background:
                raise ApiError(400, "Only responses created with background=true can be cancelled.")
            self._advance(response)
            if not response.finished:  # a finished one is answered as is, like OpenAI does
                response.status, response.completed_at = "cancelled", None
                response.outcome = _Outcome("cancelled", [], None)
                self._unlock_conversation(response)
            return JsonReply(response.to_json())

    def list_input_items(self, req: ApiRequest, response_id: str) -> Reply:
        with self._lock:
            response = self._response(response_id)
            return JsonReply(paginate(copy.deepcopy(response.input_items), req))

    # -- conversations ----------------------------------------------------------------

    def create_conversation(self, req: ApiRequest) -> Reply:
        conversation = _Conversation(new_id("conv"), dict(req.body.get("metadata") or {}))
        conversation.items = _item_batch(req.body.get("items"))
        with self._lock:
            self._conversations[conversation.id] = conversation
            return JsonReply(conversation.to_json())

    def retrieve_conversation(self, req: ApiRequest, conversation_id: str) -> Reply:
        with self._lock:
            return JsonReply(self._conversation(conversation_id).to_json())

    def update_conversation(self, req: ApiRequest, conversation_id: str) -> Reply:
        with self._lock:
            conversation = self._conversation(conversation_id)
            conversation.metadata = dict(req.body.get("metadata") or {})
            return JsonReply(conversation.to_json())

    def delete_conversation(self, req: ApiRequest, conversation_id: str) -> Reply:
        with self._lock:
            self._conversation(conversation_id)
            del self._conversations[conversation_id]
        return JsonReply({"id": conversation_id, "object": "conversation.deleted", "deleted": True})

    def create_items(self, req: ApiRequest, conversation_id: str) -> Reply:
        items = _item_batch(req.body.get("items"))
        with self._lock:
            conversation = self._conversation(conversation_id)
            self._check_unlocked(conversation)
            conversation.items.extend(items)
            return JsonReply(
                {
                    "object": "list",
                    "data": copy.deepcopy(items),
                    "has_more": False,
                    "first_id": items[0]["id"] if items else None,
                    "last_id": items[-1]["id"] if items else None,
                }
            )

    def list_items(self, req: ApiRequest, conversation_id: str) -> Reply:
        with self._lock:
            conversation = self._conversation(conversation_id)
            self._check_unlocked(conversation, raise_error=False)  # lets wall time progress
            return JsonReply(paginate(copy.deepcopy(conversation.items), req))

    def retrieve_item(self, req: ApiRequest, conversation_id: str, item_id: str) -> Reply:
        with self._lock:
            for item in self._conversation(conversation_id).items:
                if item["id"] == item_id:
                    return JsonReply(copy.deepcopy(item))
            raise not_found("item", item_id)

    def delete_item(self, req: ApiRequest, conversation_id: str, item_id: str) -> Reply:
        with self._lock:
            conversation = self._conversation(conversation_id)
            kept = [item for item in conversation.items if item["id"] != item_id]
            if len(kept) == len(conversation.items):
                raise not_found("item", item_id)
            conversation.items = kept
            return JsonReply(conversation.to_json())

    # -- helpers (caller holds the lock) ------------------------------------------------

    def _response(self, response_id: str) -> _Response:
        response = self._responses.get(response_id)
        if response is None or not response.stored:
            raise ApiError(404, f"Response with id '{response_id}' not found.")
        return response

    def _conversation(self, conversation_id: str) -> _Conversation:
        try:
            return self._conversations[conversation_id]
        except KeyError:
            raise ApiError(404, f"Conversation with id '{conversation_id}' not found.") from None

    def _check_unlocked(self, conversation: _Conversation, raise_error: bool = True) -> None:
        active = self._responses.get(conversation.active_response_id or "")
        if active is None:
            conversation.active_response_id = None
        else:
            self._advance(active)
        if conversation.active_response_id and raise_error:
            raise ApiError(400, LOCKED, code="conversation_locked", param="conversation")

    def _lock_conversation(self, response: _Response) -> None:
        if response.conversation_id in self._conversations:
            self._conversations[response.conversation_id].active_response_id = response.id

    def _unlock_conversation(self, response: _Response) -> None:
        conversation = self._conversations.get(response.conversation_id or "")
        if conversation is not None and conversation.active_response_id == response.id:
            conversation.active_response_id = None

    def _advance(self, response: _Response) -> None:
        """Move a background response on by its ticks: retrieves, plus latency periods."""
        if not response.background or response.finished:
            return
        latency = self._latency()
        ticks = response.polls
        if latency > 0:
            ticks += int((time.monotonic() - response.queued_at) / latency)
        if ticks > response.steps:
            self._finish(response)
        elif ticks > 0:
            response.status = "in_progress"

    def _finish(self, response: _Response) -> None:
        """Reveal the outcome: final status, and its output appended to the conversation."""
        if response.finished:  # e.g. cancelled meanwhile, or a stream polled to its end
            return
        response.status = response.outcome.status
        if response.status == "completed":
            response.completed_at = now()
        conversation = self._conversations.get(response.conversation_id or "")
        if conversation is not None:
            conversation.items.extend(copy.deepcopy(response.outcome.output))
        self._unlock_conversation(response)

    def _stream(self, response: _Response) -> Iterator[tuple[str, Any]]:
        numbers = itertools.count()

        def event(kind: str, **fields: Any) -> tuple[str, Any]:
            return kind, {"type": kind, "sequence_number": next(numbers), **fields}

        try:
            with self._lock:
                snapshot = response.to_json()
            yield event("response.created", response=snapshot)
            yield event("response.in_progress", response=snapshot)
            for index, item in enumerate(response.outcome.output):
                yield from _item_events(event, index, copy.deepcopy(item))
            with self._lock:
                self._finish(response)
                final = response.to_json()
            # No "response.cancelled" event exists: a cancelled stream ends as failed.
            kind = {"completed": "completed", "incomplete": "incomplete"}.get(
                final["status"], "failed"
            )
            yield event(f"response.{kind}", response=final)
        finally:
            with self._lock:
                if not response.finished:  # the client went away mid-stream
                    self._finish(response)


def _item_events(
    event: Callable[..., tuple[str, Any]], index: int, item: dict[str, Any]
) -> Iterator[tuple[str, Any]]:
    """The added/delta/done events that build one output item."""
    where = {"item_id": item["id"], "output_index": index}
    if item["type"] == "function_call":
        yield event(
            "response.output_item.added",
            output_index=index,
            item={**item, "arguments": "", "status": "in_progress"},
        )
        arguments = item["arguments"]
        for start in range(0, len(arguments), ARGUMENT_CHUNK):
            yield event(
                "response.function_call_arguments.delta",
                **where,
                delta=arguments[start : start + ARGUMENT_CHUNK],
            )
        yield event(
            "response.function_call_arguments.done", **where, arguments=arguments, name=item["name"]
        )
    else:
        text = item["content"][0]["text"]
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        yield event(
            "response.output_item.added",
            output_index=index,
            item={**item, "status": "in_progress", "content": []},
        )
        yield event("response.content_part.added", **where, content_index=0, part=part)
        for chunk in text_chunks(text):
            yield event(
                "response.output_text.delta", **where, content_index=0, delta=chunk, logprobs=[]
            )
        yield event("response.output_text.done", **where, content_index=0, text=text, logprobs=[])
        yield event(
            "response.content_part.done", **where, content_index=0, part={**part, "text": text}
        )
    yield event("response.output_item.done", output_index=index, item=item)
