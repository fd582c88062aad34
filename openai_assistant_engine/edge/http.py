"""GraphQL over HTTP (the GraphQL Foundation's draft): the rules ``oae serve`` and the
Lambda handler share.

* Responses are ``application/json`` (what most clients want) or, when the ``Accept``
  header prefers it, ``application/graphql-response+json``. Under both the HTTP status is
  the engine's ``status_code``: a response with ``data`` is 200, one without is 4xx or
  5xx, which is the rule the newer media type makes a must.
* A POST must say ``Content-Type: application/json``; anything else is a 415.
* GET carries ``query``, ``variables``, ``operationName`` in the query string, for queries
  only: a mutation sent by GET (which caches and prefetchers may repeat) is a 405, with
  ``Allow: POST``.
* A body over the ``max_body_bytes`` setting is a 413.
* Every answer is the state of a conversation at that moment: ``Cache-Control: no-store``.
  A 401 says ``WWW-Authenticate: Bearer``.
* CORS: an allowed origin gets the same methods, headers and max age everywhere (which
  origins are allowed is the transport's policy: loopback pages and ``cors_origins`` for
  ``oae serve``, any origin for the Lambda API, whose callers need a bearer token).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from graphql import GraphQLSyntaxError, OperationType, get_operation_ast, parse

__all__ = [
    "ALLOWED_METHODS",
    "GRAPHQL_RESPONSE_TYPE",
    "JSON_TYPE",
    "HttpRefusal",
    "answer_headers",
    "check_body_size",
    "check_post_content_type",
    "cors_headers",
    "get_payload",
    "get_payload_of_fields",
    "method_not_allowed",
    "response_media_type",
]

GRAPHQL_RESPONSE_TYPE = "application/graphql-response+json"
JSON_TYPE = "application/json"
_JSON_WILDCARDS = (JSON_TYPE, "application/*", "*/*")
_CORS = {
    "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization, X-Api-Key",
    "Access-Control-Max-Age": "600",
}


ALLOWED_METHODS = "GET, POST, OPTIONS"


class HttpRefusal(Exception):
    """A request refused before the engine sees it: status, code, message (and for a
    405 the methods to use instead)."""

    def __init__(self, status: int, code: str, message: str, *, allow: str = "POST") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.allow = allow


def method_not_allowed(method: str) -> HttpRefusal:
    return HttpRefusal(
        405,
        "METHOD_NOT_ALLOWED",
        f"/graphql takes {ALLOWED_METHODS}, not {method[:20]}.",
        allow=ALLOWED_METHODS,
    )


def answer_headers(
    status: int, media_type: str | None = JSON_TYPE, *, allow: str = "POST"
) -> dict[str, str]:
    """The headers of an answer of ``status`` (CORS apart)."""
    headers = {"Cache-Control": "no-store"}
    if media_type:
        headers["Content-Type"] = f"{media_type}; charset=utf-8"
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    elif status == 405:
        headers["Allow"] = allow
    return headers


def cors_headers(allowed_origin: str) -> dict[str, str]:
    """The CORS headers for an origin the transport allows (``*``: any)."""
    headers = {"Access-Control-Allow-Origin": allowed_origin, **_CORS}
    if allowed_origin != "*":
        headers["Vary"] = "Origin"
    return headers


def check_body_size(size: int, max_bytes: int) -> None:
    """A body of ``size`` bytes is within ``max_bytes``; raises a 413 otherwise."""
    if size > max_bytes:
        raise HttpRefusal(
            413,
            "BAD_REQUEST",
            f"The request body is over {max_bytes} bytes (the max_body_bytes setting).",
        )


def response_media_type(accept: str | None) -> str:
    """The media type to answer in; raises a 406 when ``accept`` takes neither JSON type.

    No ``Accept`` (or ``*/*``) means ``application/json``, as for the clients that predate
    the newer type; at equal weight the newer type is chosen.
    """
    if accept is None or not accept.strip():
        return JSON_TYPE
    best: tuple[float, bool] | None = None
    for part in accept.split(","):
        media, _, parameters = part.partition(";")
        media = media.strip().lower()
        if media == GRAPHQL_RESPONSE_TYPE:
            newer = True
        elif media in _JSON_WILDCARDS:
            newer = False
        else:
            continue
        weight = _quality(parameters)
        if weight > 0 and (best is None or (weight, newer) > best):
            best = (weight, newer)
    if best is None:
        raise HttpRefusal(
            406,
            "NOT_ACCEPTABLE",
            f"The server answers {GRAPHQL_RESPONSE_TYPE} or {JSON_TYPE}; the Accept header "
            "takes neither.",
        )
    return GRAPHQL_RESPONSE_TYPE if best[1] else JSON_TYPE


def _quality(parameters: str) -> float:
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def check_post_content_type(content_type: str | None) -> None:
    """A POST body is JSON and says so; raises a 415 otherwise."""
    media = (content_type or "").partition(";")[0].strip().lower()
    if media != JSON_TYPE:
        shown = f"Content-Type {content_type!r}" if content_type else "no Content-Type"
        raise HttpRefusal(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            f"POST /graphql takes Content-Type: {JSON_TYPE}; this request has {shown}.",
        )


def get_payload(query_string: str) -> Mapping[str, Any]:
    """The GraphQL payload of ``GET /graphql?query=...``; raises for a mutation or no query."""
    return get_payload_of_fields(parse_qs(query_string, keep_blank_values=True))


def get_payload_of_fields(fields: Mapping[str, list[str]]) -> Mapping[str, Any]:
    """:func:`get_payload` for a query string already split into its fields."""
    query = _single(fields, "query")
    if not query or not query.strip():
        raise HttpRefusal(400, "BAD_REQUEST", "GET /graphql needs a query parameter.")
    payload: dict[str, Any] = {"query": query}
    operation_name = _single(fields, "operationName")
    if operation_name:
        payload["operationName"] = operation_name
    variables = _single(fields, "variables")
    if variables:
        payload["variables"] = variables  # JSON text: read by the engine, as from a body
    if _is_mutation(query, operation_name):
        raise HttpRefusal(
            405, "METHOD_NOT_ALLOWED", "Mutations are sent with POST; GET runs queries only."
        )
    return payload


def _single(fields: Mapping[str, list[str]], name: str) -> str | None:
    values = fields.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise HttpRefusal(400, "BAD_REQUEST", f"The query string holds {name} more than once.")
    return values[0]


def _is_mutation(query: str, operation_name: str | None) -> bool:
    """Whether the operation GET would run is a mutation (the engine reports bad documents)."""
    try:
        operation = get_operation_ast(parse(query), operation_name)
    except (GraphQLSyntaxError, RecursionError):
        return False
    return operation is not None and operation.operation != OperationType.QUERY
