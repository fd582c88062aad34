"""What route handlers receive and return, plus the OpenAI wire shapes they share.

Kept apart from the HTTP plumbing so the API fakes are plain functions over dicts.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ApiError",
    "ApiRequest",
    "EventStream",
    "JsonReply",
    "Reply",
    "Route",
    "new_id",
    "not_found",
    "now",
    "paginate",
    "route",
]

DONE = "[DONE]"


class ApiError(Exception):
    """Raised by handlers; answered as OpenAI's ``{"error": {...}}`` body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


def not_found(kind: str, object_id: str) -> ApiError:
    return ApiError(404, f"No {kind} found with id '{object_id}'.")


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    query: Mapping[str, str]
    body: Mapping[str, Any]

    def query_int(self, name: str, default: int) -> int:
        raw = self.query.get(name)
        if raw is None:
            return default
        try:
            return int(raw)
        except ValueError:
            raise ApiError(400, f"Invalid '{name}': expected an integer.", param=name) from None


@dataclass(frozen=True)
class JsonReply:
    body: Any
    status: int = 200


@dataclass
class EventStream:
    """Server-sent events: ``(event name, JSON-able data or "[DONE]")`` pairs, produced lazily.

    A generator may do its bookkeeping in ``finally``: the server closes it when the
    client goes away, so state is committed even for abandoned streams.
    """

    events: Iterator[tuple[str, Any]]
    # Chat Completions streams send bare ``data:`` lines: the SDK reads a named event as
    # an Assistants event, so the names are dropped.
    data_only: bool = False


Reply = JsonReply | EventStream
Handler = Callable[..., Reply]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    # "assistants" routes obey assistants_shutdown, "conversations" ones conversations_api.
    family: str = field(default="")


def route(method: str, template: str, handler: Handler, family: str = "") -> Route:
    """``route("GET", "/threads/{thread_id}", f)``; path params become keyword arguments."""
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return Route(method, re.compile(f"^{regex}$"), handler, family)


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def now() -> int:
    return int(time.time())


def paginate(items: list[dict[str, Any]], req: ApiRequest, default_order: str = "desc") -> dict:
    """OpenAI's cursor list: ``limit``, ``order``, ``after``, ``before`` over oldest-first items."""
    limit = max(1, min(req.query_int("limit", 20), 100))
    order = req.query.get("order", default_order)
    if order not in ("asc", "desc"):
        raise ApiError(400, f"Invalid 'order': '{order}'. Expected 'asc' or 'desc'.", param="order")
    ordered = items if order == "asc" else items[::-1]
    ids = [item["id"] for item in ordered]
    after, before = req.query.get("after"), req.query.get("before")
    start, stop = 0, len(ordered)
    for name, cursor in (("after", after), ("before", before)):
        if cursor is not None and cursor not in ids:
            raise ApiError(
                400, f"Invalid '{name}' cursor: '{cursor}' is not in this list.", param=name
            )
    if after is not None:
        start = ids.index(after) + 1
    if before is not None:
        stop = ids.index(before)
    if before is not None and after is None:
        # A "before" page is the previous page: the items right in front of the cursor.
        page = ordered[max(start, stop - limit) : stop]
        has_more = stop - limit > start
    else:
        page = ordered[start : min(stop, start + limit)]
        has_more = start + limit < stop
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": has_more,
    }
