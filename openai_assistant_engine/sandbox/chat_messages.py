"""Chat Completions ``messages`` -> the shared model's items, validated as OpenAI does.

system/developer messages become instruction messages, user and assistant text become
messages, an assistant's ``tool_calls`` become function calls and ``role: tool`` messages
their outputs. The tool-call pairing rules are OpenAI's, with its wording, so a client
that breaks them here would break against the real API too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from .model import FunctionCall, FunctionOutput, Item, Message
from .protocol import ApiError

__all__ = ["CHAT_ROLES", "to_items"]

_T = TypeVar("_T")

CHAT_ROLES = ("system", "developer", "user", "assistant", "tool")

TOOL_WITHOUT_CALL = (
    "Invalid parameter: messages with role 'tool' must be a response to a preceeding "
    "message with 'tool_calls'."
)
CALLS_WITHOUT_TOOLS = (
    "An assistant message with 'tool_calls' must be followed by tool messages responding "
    "to each 'tool_call_id'. The following tool_call_ids did not have response messages: "
)


@dataclass
class _OpenCalls:
    """The tool_call ids of the latest assistant message still waiting for tool messages."""

    ids: list[str]
    answered: set[str] = field(default_factory=set)

    def unanswered(self) -> list[str]:
        return [call_id for call_id in self.ids if call_id not in self.answered]


def to_items(raw: Any) -> list[Item]:
    """The model's context for ``messages``; raises a 400 :class:`ApiError` if invalid."""
    if raw is None:
        raise ApiError(
            400,
            "Missing required parameter: 'messages'.",
            code="missing_required_parameter",
            param="messages",
        )
    if not isinstance(raw, list):
        raise ApiError(
            400,
            f"Invalid type for 'messages': expected an array, but got {_json_type(raw)} instead.",
            code="invalid_type",
            param="messages",
        )
    if not raw:
        raise ApiError(
            400,
            "Invalid 'messages': empty array. Expected an array with minimum length 1, "
            "but got an empty array instead.",
            code="empty_array",
            param="messages",
        )
    items: list[Item] = []
    open_calls: _OpenCalls | None = None
    for index, message in enumerate(raw):
        where = f"messages.[{index}]"
        if not isinstance(message, dict):
            raise ApiError(
                400,
                f"Invalid type for '{where}': expected an object, "
                f"but got {_json_type(message)} instead.",
                code="invalid_type",
                param=where,
            )
        role = message.get("role")
        if role not in CHAT_ROLES:
            supported = ", ".join(f"'{name}'" for name in CHAT_ROLES)
            raise ApiError(
                400,
                f"Invalid value: '{role}'. Supported values are: {supported}.",
                code="invalid_value",
                param=f"{where}.role",
            )
        if role == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str):
                raise ApiError(
                    400,
                    "Missing parameter 'tool_call_id': messages with role 'tool' must have "
                    "a 'tool_call_id'.",
                    param=f"{where}.tool_call_id",
                )
            if open_calls is None or call_id not in open_calls.ids:
                raise ApiError(400, TOOL_WITHOUT_CALL, param=f"{where}.role")
            open_calls.answered.add(call_id)
            items.append(FunctionOutput(call_id, _text(message, where, required=True)))
            continue
        _close(open_calls, where)
        open_calls = None
        if role != "assistant":
            items.append(Message(role, _text(message, where, required=True)))
            continue
        calls = _tool_calls(message.get("tool_calls"), where)
        text = _text(message, where, required=not calls)
        if text:
            items.append(Message("assistant", text))
        items.extend(calls)
        if calls:
            open_calls = _OpenCalls([call.call_id for call in calls])
    _close(open_calls, f"messages.[{len(raw) - 1}]")
    return items


def _close(open_calls: _OpenCalls | None, where: str) -> None:
    """A non-tool message (or the end) may only follow once every call is answered."""
    missing = open_calls.unanswered() if open_calls is not None else []
    if missing:
        raise ApiError(400, CALLS_WITHOUT_TOOLS + ", ".join(missing), param=f"{where}.role")


def _text(message: dict[str, Any], where: str, required: bool) -> str:
    """A message's text: string content, or its text parts joined by newlines."""
    content = message.get("content")
    if content is None:
        if required:
            raise ApiError(
                400,
                "Invalid value for 'content': expected a string, got null.",
                param=f"{where}.content",
            )
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(part, dict) for part in content):
        # Non-text parts (images, audio, files) are accepted; the script only reads text.
        return "\n".join(
            part["text"]
            for part in content
            if part.get("type") == "text" and isinstance(part.get("text"), str)
        )
    raise ApiError(
        400,
        f"Invalid type for '{where}.content': expected one of a string or array of objects, "
        f"but got {_json_type(content)} instead.",
        code="invalid_type",
        param=f"{where}.content",
    )


def _tool_calls(raw: Any, where: str) -> list[FunctionCall]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ApiError(
            400,
            f"Invalid type for '{where}.tool_calls': expected an array, "
            f"but got {_json_type(raw)} instead.",
            code="invalid_type",
            param=f"{where}.tool_calls",
        )
    calls = []
    for index, call in enumerate(raw):
        at = f"{where}.tool_calls.[{index}]"
        call = _required(call, at, dict)
        kind = call.get("type", "function")
        if kind != "function":
            raise ApiError(
                400,
                f"Invalid value: '{kind}'. Supported values are: 'function'.",
                code="invalid_value",
                param=f"{at}.type",
            )
        function = _required(call.get("function"), f"{at}.function", dict)
        calls.append(
            FunctionCall(
                _required(call.get("id"), f"{at}.id", str),
                _required(function.get("name"), f"{at}.function.name", str),
                _required(function.get("arguments"), f"{at}.function.arguments", str),
            )
        )
    return calls


def _required(value: Any, param: str, kind: type[_T]) -> _T:
    if value is None:
        raise ApiError(
            400,
            f"Missing required parameter: '{param}'.",
            code="missing_required_parameter",
            param=param,
        )
    if not isinstance(value, kind):
        expected = "an object" if kind is dict else "a string"
        raise ApiError(
            400,
            f"Invalid type for '{param}': expected {expected}, "
            f"but got {_json_type(value)} instead.",
            code="invalid_type",
            param=param,
        )
    return value


def _json_type(value: Any) -> str:
    """How OpenAI's validation errors name a JSON value's type."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null"
