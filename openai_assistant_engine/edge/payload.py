"""Request bodies and GraphQL payloads, read one way for every transport.

A body (``oae serve``'s, a Lambda proxy event's) is a JSON object. ``json.loads`` raises
more than ``JSONDecodeError``: a document nested a hundred thousand levels deep ends in
``RecursionError`` and a 5,000-digit integer in ``ValueError`` (Python refuses to convert
integers over 4,300 digits); uncaught, the first dropped the server's connection and the
second made API Gateway answer 502. Both are bad requests, said the same way everywhere.

A payload (a body, SilvaEngine's ``params``, a direct Lambda invocation) becomes an
:class:`Operation`: ``query`` (a non-empty string within ``MAX_QUERY_LENGTH``),
``variables`` (an object, or JSON text of one) and ``operation_name`` or
``operationName``. Variables become plain JSON values: SilvaEngine parses numbers as
``Decimal`` and graphene wants int or float; whatever would break a later step (an
infinite or 5000-digit number, a lone surrogate that no UTF-8 encoder accepts, nesting
that exhausts recursion, a set or bytes) is a 400 here, naming the variable's path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..errors import BadRequestError
from .envelope import MAX_NUMBER, plain_number

__all__ = [
    "MAX_QUERY_LENGTH",
    "MAX_VARIABLES_DEPTH",
    "Operation",
    "UnreadableJson",
    "operation_name_of",
    "parse_body",
    "parse_json_object",
    "read_operation",
]

MAX_QUERY_LENGTH = 100_000
# Variables nest at most this deep (the contract's JSON arguments need a handful of levels).
MAX_VARIABLES_DEPTH = 64
_SURROGATE = re.compile("[\ud800-\udfff]")


class UnreadableJson(BadRequestError):
    """The body is not a JSON object this engine can read; the message says why."""


# ---------------------------------------------------------------------------- bodies
def parse_body(raw: bytes | str) -> Mapping[str, Any]:
    """The JSON object of a request body; an empty body is refused like any other."""
    if not raw.strip():
        raise UnreadableJson("The request body is empty: send JSON with a GraphQL query.")
    return parse_json_object(raw)


def parse_json_object(raw: bytes | str, what: str = "The request body") -> Mapping[str, Any]:
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UnreadableJson(f"{what} is not valid JSON.") from None
    except RecursionError:
        raise UnreadableJson(f"{what} nests JSON too deep to be read.") from None
    except ValueError:  # int() refuses integers with more digits than its limit
        raise UnreadableJson(f"{what} holds a number with too many digits.") from None
    if not isinstance(value, Mapping):
        raise UnreadableJson(
            f"{what} must be a JSON object with query, variables and operationName."
        )
    return value


# ---------------------------------------------------------------------------- payloads
@dataclass(frozen=True)
class Operation:
    query: str
    variables: dict[str, Any]
    operation_name: str | None


def operation_name_of(payload: Mapping[str, Any]) -> Any:
    """The operation a payload names (``operation_name`` first, as SilvaEngine sends it)."""
    return payload.get("operation_name") or payload.get("operationName")


def read_operation(payload: Mapping[str, Any]) -> Operation:
    """The payload's operation; raises :class:`BadRequestError` saying what is wrong."""
    query = payload.get("query")
    if not isinstance(query, str) or not query.strip():
        raise BadRequestError("Invalid operations: the payload has no GraphQL 'query'.")
    if len(query) > MAX_QUERY_LENGTH:
        raise BadRequestError(
            f"The query is {len(query)} characters; the limit is {MAX_QUERY_LENGTH}."
        )
    variables = _read_variables(payload.get("variables"))
    operation_name = operation_name_of(payload)
    if operation_name is not None and not isinstance(operation_name, str):
        raise BadRequestError("operation_name must be a string.")
    return Operation(query, variables, operation_name)


def _read_variables(raw: Any) -> dict[str, Any]:
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise BadRequestError(f"variables are not valid JSON: {exc.msg}.") from exc
        except (RecursionError, ValueError) as exc:  # too deep; too many digits
            raise BadRequestError(
                f"variables are not valid JSON: {_describe_json_failure(exc)}."
            ) from None
    if not isinstance(raw, Mapping):
        raise BadRequestError("variables must be a JSON object.")
    return _plain_json(raw, ())


def _describe_json_failure(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return f"they nest more than {MAX_VARIABLES_DEPTH} levels deep"
    return "a number has too many digits"


def _plain_json(value: Any, path: tuple[str | int, ...]) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if not value.isascii() and _SURROGATE.search(value):
            raise _bad_variable(path, "is not valid Unicode text (it holds a lone surrogate)")
        return value
    if isinstance(value, (int, float, Decimal)):
        number = plain_number(value)
        if number is None:
            raise _bad_variable(
                path, f"is not a finite number of at most {MAX_NUMBER:.3g} in magnitude"
            )
        return number
    if len(path) >= MAX_VARIABLES_DEPTH:
        raise _bad_variable(path, f"nests more than {MAX_VARIABLES_DEPTH} levels deep")
    if isinstance(value, Mapping):
        plain = {}
        for key, item in value.items():
            if not isinstance(key, str) or (not key.isascii() and _SURROGATE.search(key)):
                raise _bad_variable(path, f"has a key that is not valid text ({key!r:.40})")
            plain[key] = _plain_json(item, (*path, key))
        return plain
    if isinstance(value, (list, tuple)):
        return [_plain_json(item, (*path, index)) for index, item in enumerate(value)]
    raise _bad_variable(path, f"is a {type(value).__name__}, which JSON cannot carry")


def _bad_variable(path: tuple[str | int, ...], problem: str) -> BadRequestError:
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)
    where = where[1:] if where.startswith(".") else where
    if not where:
        return BadRequestError(f"The variables object {problem}.")
    shown = f"${where}" if len(where) <= 200 else f"${where[:200]}..."
    return BadRequestError(f"Variable {shown} {problem}.")
