"""Chat Completions, spoken statelessly: any OpenAI-compatible model server.

Items become messages: the instructions a ``system`` message first; a round's function
calls one ``assistant`` message with ``tool_calls`` (with the text the model said before
calling, if any); each output a ``tool`` message answering its call id. Streamed answers
ask for usage (``stream_options.include_usage``): it comes in a last chunk of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .base import HistoryItem, ToolCall, Usage
from .engine_held import EngineHeldBackend, ModelAnswer, ModelRequest

__all__ = ["ChatWire", "chat_backend"]

# finish_reason values that cut an answer short.
_CUT_SHORT = frozenset({"length", "content_filter"})


def chat_backend(client: Any) -> EngineHeldBackend:
    return EngineHeldBackend(ChatWire(client))


class ChatWire:
    name = "chat"

    def __init__(self, client: Any) -> None:
        self._client = client

    def complete(self, request: ModelRequest) -> ModelAnswer:
        completion = self._client.chat.completions.create(**_body(request))
        choice = completion.choices[0]
        message = choice.message
        calls = tuple(
            ToolCall(call.id, call.function.name, call.function.arguments or "")
            for call in message.tool_calls or []
            if getattr(call, "function", None) is not None
        )
        return ModelAnswer(
            text=message.content or "",
            calls=calls,
            usage=_usage_of(completion.usage),
            model=completion.model,
            incomplete=choice.finish_reason if choice.finish_reason in _CUT_SHORT else None,
        )

    def stream(self, request: ModelRequest) -> Iterator[str | ModelAnswer]:
        body = {**_body(request), "stream": True, "stream_options": {"include_usage": True}}
        text: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        usage, model, finish = Usage(), None, None
        with self._client.chat.completions.create(**body) as chunks:
            for chunk in chunks:
                model = chunk.model or model
                if chunk.usage is not None:
                    usage = _usage_of(chunk.usage)
                for choice in chunk.choices or []:
                    finish = choice.finish_reason or finish
                    delta = choice.delta
                    if delta is None:
                        continue
                    if delta.content:
                        text.append(delta.content)
                        yield delta.content
                    for part in delta.tool_calls or []:
                        _accumulate(calls.setdefault(part.index, {}), part)
        if finish is None:
            return  # no last chunk: the engine reports the stream cut short
        yield ModelAnswer(
            text="".join(text),
            calls=tuple(
                ToolCall(call.get("id", ""), call.get("name", ""), call.get("arguments", ""))
                for _, call in sorted(calls.items())
            ),
            usage=usage,
            model=model,
            incomplete=finish if finish in _CUT_SHORT else None,
        )


def _accumulate(call: dict[str, str], part: Any) -> None:
    """A streamed call comes in pieces: id and name first, the arguments in fragments."""
    if part.id:
        call["id"] = part.id
    function = part.function
    if function is None:
        return
    if function.name:
        call["name"] = call.get("name", "") + function.name
    if function.arguments:
        call["arguments"] = call.get("arguments", "") + function.arguments


def _body(request: ModelRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": request.model,
        "messages": _messages(request),
        **request.parameters,
    }
    if request.tools:
        body["tools"] = [{"type": "function", "function": tool} for tool in request.tools]
    return body


def _messages(request: ModelRequest) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if request.instructions:
        messages.append({"role": "system", "content": request.instructions})
    for item in request.items:
        if item.kind == "function_call":
            last = messages[-1] if messages else None
            if last is None or last["role"] != "assistant":  # a round's first call
                last = {"role": "assistant", "content": None}
                messages.append(last)
            last.setdefault("tool_calls", []).append(_tool_call(item))
        elif item.kind == "function_output":
            messages.append({"role": "tool", "tool_call_id": item.call_id, "content": item.text})
        elif item.kind in ("user", "assistant"):
            messages.append({"role": item.kind, "content": item.text})
    return messages


def _tool_call(item: HistoryItem) -> dict[str, Any]:
    return {
        "id": item.call_id,
        "type": "function",
        "function": {"name": item.name, "arguments": item.arguments or "{}"},
    }


def _usage_of(usage: Any) -> Usage:
    if usage is None:
        return Usage()
    return Usage(
        prompt_tokens=usage.prompt_tokens or 0,
        completion_tokens=usage.completion_tokens or 0,
        total_tokens=usage.total_tokens or 0,
    )
