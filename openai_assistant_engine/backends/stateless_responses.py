"""The Responses API spoken statelessly (``store=false``, the whole conversation as
``input``): for servers without the Conversations API (vLLM, LiteLLM, Azure, Ollama...)
and for OpenAI itself when the engine is to hold the conversation.

Items map one to one: messages (``user`` text, ``assistant`` text), ``function_call``
items with their call id, ``function_call_output`` items answering them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .base import HistoryItem, ToolCall, Usage
from .engine_held import EngineHeldBackend, ModelAnswer, ModelRequest

__all__ = ["StatelessResponsesWire", "input_item", "stateless_responses_backend"]

_FINAL_EVENTS = frozenset({"response.completed", "response.failed", "response.incomplete"})


def stateless_responses_backend(client: Any) -> EngineHeldBackend:
    return EngineHeldBackend(StatelessResponsesWire(client))


class StatelessResponsesWire:
    name = "responses"

    def __init__(self, client: Any) -> None:
        self._client = client

    def complete(self, request: ModelRequest) -> ModelAnswer:
        return _answer_of(self._client.responses.create(**_body(request)))

    def stream(self, request: ModelRequest) -> Iterator[str | ModelAnswer]:
        with self._client.responses.create(**_body(request), stream=True) as events:
            for event in events:
                if event.type == "response.output_text.delta":
                    yield event.delta
                elif event.type in _FINAL_EVENTS:
                    yield _answer_of(event.response)
                    return


def _body(request: ModelRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": request.model,
        "input": [input_item(item) for item in request.items],
        "store": False,
        **request.parameters,
    }
    if request.instructions:
        body["instructions"] = request.instructions
    if request.tools:
        body["tools"] = [{"type": "function", "strict": False, **tool} for tool in request.tools]
    return body


def input_item(item: HistoryItem) -> dict[str, Any]:
    """``item`` as a Responses input item (a conversation item alike)."""
    if item.kind == "function_call":
        return {
            "type": "function_call",
            "call_id": item.call_id,
            "name": item.name,
            "arguments": item.arguments or "{}",
        }
    if item.kind == "function_output":
        return {"type": "function_call_output", "call_id": item.call_id, "output": item.text}
    return {"type": "message", "role": item.kind, "content": item.text}


def _answer_of(response: Any) -> ModelAnswer:
    calls: list[ToolCall] = []
    texts: list[str] = []
    for item in response.output or []:
        kind = getattr(item, "type", None)
        if kind == "function_call":
            calls.append(ToolCall(item.call_id, item.name, item.arguments or ""))
        elif kind == "message":
            texts.extend(
                part.text
                for part in getattr(item, "content", None) or []
                if isinstance(getattr(part, "text", None), str)
            )
    error = None
    if response.status == "failed":
        failure = response.error
        error = f"{failure.code}: {failure.message}" if failure is not None else "failed"
    elif response.status == "cancelled":
        error = "cancelled"
    incomplete = None
    if response.status == "incomplete":
        details = response.incomplete_details
        incomplete = (details.reason if details is not None else None) or "incomplete"
    usage = response.usage
    return ModelAnswer(
        text="\n".join(texts),
        calls=tuple(calls),
        usage=Usage(usage.input_tokens or 0, usage.output_tokens or 0, usage.total_tokens or 0)
        if usage is not None
        else Usage(),
        model=response.model,
        incomplete=incomplete,
        error=error,
    )
