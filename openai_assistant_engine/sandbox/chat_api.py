"""The Chat Completions API: ``POST /chat/completions``, answered by the shared model.

Stateless: the request's ``messages`` are the whole context (see ``chat_messages``), and
the answer comes from ``model.answer`` exactly as for the Responses API. Chat has no
status for a failed, expired or cancelled turn, so those endings answer HTTP 400 (which
the SDK does not retry); ``incomplete`` is a reply with ``finish_reason: "length"``.
``steps:N`` means nothing here: every answer is synchronous.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .chat_messages import to_items
from .model import Answer, answer
from .protocol import DONE, ApiError, ApiRequest, EventStream, JsonReply, Reply, Route, now, route
from .script import text_chunks

__all__ = ["ChatApi"]

ARGUMENT_CHUNK = 12  # characters of function arguments per streamed tool_call delta
# Where the script's ending has no Chat equivalent: (error code, message) of the 400.
_ENDING_ERRORS = {
    "expire": ("expired", "The request expired before the model answered."),
    "cancel": ("cancelled", "The request was cancelled before the model answered."),
}


@dataclass(frozen=True)
class _Completion:
    """One answered request, rendered as a chat.completion or as its chunks."""

    id: str
    created: int
    model: str
    answer: Answer
    call_ids: tuple[str, ...]

    @property
    def finish_reason(self) -> str:
        if self.answer.calls:
            return "tool_calls"
        return "length" if self.answer.ending is not None else "stop"

    def tool_calls(self) -> list[dict[str, Any]]:
        return [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call_id, call in zip(self.call_ids, self.answer.calls, strict=True)
        ]

    def usage(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.answer.input_tokens,
            "completion_tokens": self.answer.output_tokens,
            "total_tokens": self.answer.total_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        }

    def envelope(self, kind: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": kind,
            "created": self.created,
            "model": self.model,
            "service_tier": "default",
            "system_fingerprint": None,
        }

    def to_json(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": self.answer.reply if self.answer.has_reply else None,
            "refusal": None,
            "annotations": [],
        }
        if self.answer.calls:
            message["tool_calls"] = self.tool_calls()
        choice = {
            "index": 0,
            "message": message,
            "finish_reason": self.finish_reason,
            "logprobs": None,
        }
        return {**self.envelope("chat.completion"), "choices": [choice], "usage": self.usage()}

    def chunks(self, include_usage: bool) -> Iterator[dict[str, Any]]:
        """The chat.completion.chunk objects OpenAI streams for this answer, in order."""
        # With include_usage every chunk says "usage": null until the final usage chunk.
        tail = {"usage": None} if include_usage else {}

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            return {**self.envelope("chat.completion.chunk"), "choices": [choice], **tail}

        text = self.answer.reply if self.answer.has_reply else None
        yield chunk(
            {"role": "assistant", "content": "" if text is not None else None, "refusal": None}
        )
        for piece in text_chunks(text or ""):
            yield chunk({"content": piece})
        for index, call in enumerate(self.tool_calls()):
            function = call["function"]
            opening = {
                **call,
                "index": index,
                "function": {"name": function["name"], "arguments": ""},
            }
            yield chunk({"tool_calls": [opening]})
            arguments = function["arguments"]
            for start in range(0, len(arguments), ARGUMENT_CHUNK):
                fragment = arguments[start : start + ARGUMENT_CHUNK]
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
        yield chunk({}, self.finish_reason)
        if include_usage:
            yield {**self.envelope("chat.completion.chunk"), "choices": [], "usage": self.usage()}


class ChatApi:
    """Chat Completions; stateless, so one route and no locks."""

    def routes(self) -> list[Route]:
        return [route("POST", "/chat/completions", self.create_completion, "chat")]

    def create_completion(self, req: ApiRequest) -> Reply:
        body = req.body
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise ApiError(400, "you must provide a model parameter")
        context = to_items(body.get("messages"))
        stream = body.get("stream") is True
        options = body.get("stream_options")
        if options is not None and not stream:
            raise ApiError(
                400,
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                param="stream_options",
            )
        result = answer(context)
        _raise_for_ending(result)
        completion = _Completion(
            id=f"chatcmpl-{uuid.uuid4().hex[:29]}",
            created=now(),
            model=model,
            answer=result,
            call_ids=tuple(f"call_{uuid.uuid4().hex[:24]}" for _ in result.calls),
        )
        if not stream:
            return JsonReply(completion.to_json())
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        return EventStream(_events(completion, include_usage), data_only=True)


def _raise_for_ending(result: Answer) -> None:
    """fail/expire/cancel: a 400 the SDK raises as BadRequestError and does not retry."""
    ending = result.ending
    if result.calls or ending is None or ending.kind == "incomplete":
        return
    code, message = (
        (ending.code, ending.message) if ending.kind == "fail" else _ENDING_ERRORS[ending.kind]
    )
    raise ApiError(400, message, code=code)


def _events(completion: _Completion, include_usage: bool) -> Iterator[tuple[str, Any]]:
    for chunk in completion.chunks(include_usage):
        yield "", chunk
    yield "", DONE
