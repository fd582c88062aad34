"""The one response envelope of every transport, and how it becomes JSON text.

* success: ``{"data": {...}, "status_code": 200}``;
* failure: ``{"errors": [{"message", "locations"?, "path"?, "extensions": {"code"}}],
  "status_code": N}``: the status is the worst of the errors' (an unexpected error is a
  500 whose message gives a reference to the log line that has the traceback).

As text (:func:`render`): datetimes are ISO 8601 with an offset, ``Decimal`` is an int or
a float, a lone surrogate is escaped (it has no UTF-8 form, so no HTTP front end could
send it), and the value of every secret setting is replaced by ``[redacted]``. A value
JSON cannot write still gives the contract's shape: a 500 naming a reference.
"""

from __future__ import annotations

import json
import logging
import math
import re
import sys
import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from graphql import GraphQLError

from ..errors import EngineError

__all__ = [
    "MAX_NUMBER",
    "REDACTED",
    "engine_failure",
    "error_response",
    "errors_response",
    "failure",
    "graphql_error",
    "internal_error",
    "plain_number",
    "render",
    "to_json",
    "unexpected_failure",
]

REDACTED = "[redacted]"
MAX_NUMBER = int(sys.float_info.max)  # a JSON number must fit a double
_SURROGATE = re.compile("[\ud800-\udfff]")


# ---------------------------------------------------------------------------- the shapes
def error_response(status: int, code: str, message: str) -> dict[str, Any]:
    """A failure with one error that names no place in a document."""
    return failure([{"message": message, "extensions": {"code": code}}], status)


def failure(errors: list[dict[str, Any]], status: int) -> dict[str, Any]:
    return {"errors": errors, "status_code": status}


def engine_failure(error: EngineError) -> dict[str, Any]:
    return error_response(error.status, error.code, error.message)


def internal_error(reference: str) -> dict[str, Any]:
    return {
        "message": f"Internal server error (reference {reference}); the engine log has details.",
        "extensions": {"code": "INTERNAL_ERROR", "reference": reference},
    }


def unexpected_failure(logger: logging.Logger, what: str) -> dict[str, Any]:
    """A 500 for the exception being handled: its traceback logged under a reference."""
    reference = new_reference()
    logger.exception("%s (reference %s)", what, reference)
    return failure([internal_error(reference)], 500)


def new_reference() -> str:
    return uuid.uuid4().hex[:12]


def graphql_error(error: GraphQLError, code: str) -> dict[str, Any]:
    payload: dict[str, Any] = {"message": error.message}
    payload.update(_locations(error))
    payload["extensions"] = {"code": code}
    return payload


def errors_response(errors: Iterable[GraphQLError], logger: logging.Logger) -> dict[str, Any]:
    """The failure for graphql-core's errors: the one place they get codes and statuses."""
    formatted = []
    statuses = []
    for error in errors:
        original = error.original_error
        if isinstance(original, EngineError):
            formatted.append(graphql_error(error, original.code))
            statuses.append(original.status)
        elif error.path is None or original is None:
            # Request errors: variables, unknown operation, coercion. Nothing ran.
            formatted.append(graphql_error(error, "BAD_REQUEST"))
            statuses.append(400)
        else:
            reference = new_reference()
            logger.error(
                "Unexpected error in %s (reference %s)",
                ".".join(map(str, error.path)),
                reference,
                exc_info=original,
            )
            payload = internal_error(reference)
            payload.update(_locations(error))
            formatted.append(payload)
            statuses.append(500)
    return failure(formatted, max(statuses))


def _locations(error: GraphQLError) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if error.locations:
        extra["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        extra["path"] = list(error.path)
    return extra


# ---------------------------------------------------------------------------- as text
def render(response: Mapping[str, Any], secrets: Iterable[str], logger: logging.Logger) -> str:
    """``response`` as JSON text; a value JSON cannot write makes it a 500 instead."""
    secrets = tuple(secrets)
    try:
        return to_json(response, secrets)
    except Exception:
        return to_json(unexpected_failure(logger, "Could not write the response"), secrets)


def to_json(response: Mapping[str, Any], secrets: Iterable[str] = ()) -> str:
    """The JSON text of ``response``, secrets redacted; raises what ``json.dumps`` raises."""
    text = json.dumps(response, default=_json_default, ensure_ascii=False)
    if not text.isascii() and _SURROGATE.search(text):
        # A lone surrogate (an operation name echoed in a message...) has no UTF-8
        # form, so no HTTP front end could send this text: escape it, as JSON allows.
        text = json.dumps(response, default=_json_default)
    # Longest first, so a secret that contains another is replaced whole.
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def plain_number(value: int | float | Decimal) -> int | float | None:
    """``value`` as int or float; None when it is not finite or is beyond a double's range."""
    if isinstance(value, Decimal):
        if not value.is_finite() or abs(value) > MAX_NUMBER:
            return None
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value if -MAX_NUMBER <= value <= MAX_NUMBER else None


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return plain_number(value)  # DynamoDB numbers: always finite
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)
