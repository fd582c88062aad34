"""GraphQL over HTTP (the GraphQL Foundation's draft) for ``oae serve``: what to answer in.

* Responses are ``application/json`` (what most clients want) or, when the ``Accept``
  header prefers it, ``application/graphql-response+json``. Under both the HTTP status is
  the engine's ``status_code``: a response with ``data`` is 200, one without is 4xx or
  5xx, which is the rule the newer media type makes a must.
* A POST must say ``Content-Type: application/json``; anything else is a 415.
* GET carries ``query``, ``variables``, ``operationName`` in the query string, for queries
  only: a mutation sent by GET (which caches and prefetchers may repeat) is a 405.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from graphql import GraphQLSyntaxError, OperationType, get_operation_ast, parse

__all__ = [
    "GRAPHQL_RESPONSE_TYPE",
    "JSON_TYPE",
    "HttpRefusal",
    "check_post_content_type",
    "get_payload",
    "response_media_type",
]

GRAPHQL_RESPONSE_TYPE = "application/graphql-response+json"
JSON_TYPE = "application/json"
_JSON_WILDCARDS = (JSON_TYPE, "application/*", "*/*")


class HttpRefusal(Exception):
    """A request refused before the engine sees it: status, code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


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
    fields = parse_qs(query_string, keep_blank_values=True)
    query = _single(fields, "query")
    if not query or not query.strip():
        raise HttpRefusal(400, "BAD_REQUEST", "GET /graphql needs a query parameter.")
    payload: dict[str, Any] = {"query": query}
    operation_name = _single(fields, "operationName")
    if operation_name:
        payload["operationName"] = operation_name
    variables = _single(fields, "variables")
    if variables:
        try:
            payload["variables"] = json.loads(variables)
        except (json.JSONDecodeError, RecursionError, ValueError):
            raise HttpRefusal(400, "BAD_REQUEST", "variables is not valid JSON.") from None
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
