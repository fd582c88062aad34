"""The handler class: a GraphQL payload in, the JSON response of the contract out.

This is the one place where errors become GraphQL errors with a status code, where
SilvaEngine's conventions (``operation_name``, ``Decimal`` numbers, extra keys) are
absorbed, and where secrets are kept out of responses.
"""

from __future__ import annotations

import json
import logging
import math
import re
import sys
import uuid
from collections.abc import Mapping
from datetime import date, datetime, timezone
from decimal import Decimal
from functools import cached_property
from typing import Any

from graphql import GraphQLError, execute

from .config import Settings
from .document_cache import DocumentCache
from .errors import BadRequestError, EngineError
from .log_text import single_line
from .schema import build_schema, operation_names
from .schema.limits import limit_rules

__all__ = ["OpenaiAssistantEngine", "deploy"]

_SCHEMA = build_schema()
_LIMIT_RULES = limit_rules()
MAX_QUERY_LENGTH = 100_000
# Variables nest at most this deep (the contract's JSON arguments need a handful of levels).
MAX_VARIABLES_DEPTH = 64
_MAX_NUMBER = int(sys.float_info.max)  # numbers in variables must fit a double, as in JSON
_SURROGATE = re.compile("[\ud800-\udfff]")
_DOCUMENT_CACHE_SIZE = 256
# Tokens held by all cached documents (a 10,000-token tree is some 5 MB): about 100 MB.
_DOCUMENT_CACHE_TOKENS = 200_000


_DOCUMENTS = DocumentCache(
    _SCHEMA.graphql_schema,
    _LIMIT_RULES,
    size=_DOCUMENT_CACHE_SIZE,
    max_tokens=_DOCUMENT_CACHE_TOKENS,
)


class RequestContext:
    """What resolvers see as ``info.context``: the services of one engine."""

    def __init__(self, engine: OpenaiAssistantEngine) -> None:
        self._engine = engine
        self.logger = engine.logger
        self.settings = engine.settings

    @property
    def store(self) -> Any:
        return self._engine.store

    @property
    def conversation(self) -> Any:
        return self._engine.conversation


class OpenaiAssistantEngine:
    """SilvaEngine-style handler: ``OpenaiAssistantEngine(logger, **setting)``."""

    def __init__(self, logger: logging.Logger | None = None, **setting: Any) -> None:
        self.logger = logger or logging.getLogger(__name__)
        self.settings = Settings.load(setting)

    @cached_property
    def store(self) -> Any:
        from .store.connection import cached_store

        return cached_store(self.settings)

    @cached_property
    def conversation(self) -> Any:
        from .conversation import Conversation

        return Conversation(settings=self.settings, store=self.store, logger=self.logger)

    # ------------------------------------------------------------------ entry points
    def open_assistant_graphql(self, **params: Any) -> str:
        """Execute ``{query, variables, operation_name}``; return the JSON response text."""
        response = self.execute(params)
        try:
            return self.to_json(response)
        except Exception:  # a value JSON cannot write: still answer with the contract
            reference = uuid.uuid4().hex[:12]
            self.logger.exception("Could not write the response (reference %s)", reference)
            return self.to_json(_error_response([_internal_error(reference)], 500))

    def execute(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The response as a dict (``data`` or ``errors``, and ``status_code``)."""
        try:
            return self._execute(params)
        except EngineError as exc:
            return _error_response([_engine_error(exc)], exc.status)
        except Exception:
            reference = uuid.uuid4().hex[:12]
            self.logger.exception("Unexpected engine failure (reference %s)", reference)
            return _error_response([_internal_error(reference)], 500)

    def to_json(self, response: Mapping[str, Any]) -> str:
        text = json.dumps(response, default=_json_default, ensure_ascii=False)
        if not text.isascii() and _SURROGATE.search(text):
            # A lone surrogate (an operation name echoed in a message...) has no UTF-8
            # form, so no HTTP front end could send this text: escape it, as JSON allows.
            text = json.dumps(response, default=_json_default)
        for secret in self.settings.secret_values():
            text = text.replace(secret, "[redacted]")
        return text

    # ------------------------------------------------------------------ internals
    def _execute(self, params: Mapping[str, Any]) -> dict[str, Any]:
        query = params.get("query")
        if not isinstance(query, str) or not query.strip():
            raise BadRequestError("Invalid operations: the payload has no GraphQL 'query'.")
        if len(query) > MAX_QUERY_LENGTH:
            raise BadRequestError(
                f"The query is {len(query)} characters; the limit is {MAX_QUERY_LENGTH}."
            )
        variables = _read_variables(params.get("variables"))
        operation_name = params.get("operation_name") or params.get("operationName")
        if operation_name is not None and not isinstance(operation_name, str):
            raise BadRequestError("operation_name must be a string.")

        document, errors, introspects = _DOCUMENTS.get(query)
        if document is None:
            return _error_response([_graphql_error(e, "BAD_REQUEST") for e in errors], 400)
        if introspects and not self.settings.graphql_introspection:
            # graphql-core reports every introspection field; the first names the root one.
            first = errors[0]
            message = f"{first.message.rstrip('.')}: the setting graphql_introspection is off."
            return _error_response(
                [_graphql_error(GraphQLError(message, first.nodes), "BAD_REQUEST")], 400
            )

        self.logger.debug("GraphQL operation %s", single_line(operation_name))
        result = execute(
            _SCHEMA.graphql_schema,
            document,
            context_value=RequestContext(self),
            variable_values=variables,
            operation_name=operation_name,
        )
        if not result.errors:
            return {"data": result.data, "status_code": 200}
        return self._errors_response(result.errors)

    def _errors_response(self, errors: list[GraphQLError]) -> dict[str, Any]:
        formatted = []
        statuses = []
        for error in errors:
            original = error.original_error
            if isinstance(original, EngineError):
                formatted.append(_graphql_error(error, original.code))
                statuses.append(original.status)
            elif error.path is None or original is None:
                # Request errors: variables, unknown operation, coercion. Nothing ran.
                formatted.append(_graphql_error(error, "BAD_REQUEST"))
                statuses.append(400)
            else:
                reference = uuid.uuid4().hex[:12]
                self.logger.error(
                    "Unexpected error in %s (reference %s)",
                    ".".join(map(str, error.path)),
                    reference,
                    exc_info=original,
                )
                payload = _internal_error(reference)
                payload.update(_locations(error))
                formatted.append(payload)
                statuses.append(500)
        return _error_response(formatted, max(statuses))


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
    """Variables as plain JSON values; anything JSON cannot carry is a 400, not a 500 later.

    SilvaEngine parses JSON numbers as Decimal and graphene wants int or float. Values that
    would break a later step (an infinite or 5000-digit number, a lone surrogate that no
    UTF-8 encoder accepts, nesting that exhausts recursion, a set or bytes) stop here,
    with the variable's path in the message.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if not value.isascii() and _SURROGATE.search(value):
            raise _bad_variable(path, "is not valid Unicode text (it holds a lone surrogate)")
        return value
    if isinstance(value, (int, float, Decimal)):
        number = _plain_number(value)
        if number is None:
            raise _bad_variable(
                path, f"is not a finite number of at most {_MAX_NUMBER:.3g} in magnitude"
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


def _plain_number(value: int | float | Decimal) -> int | float | None:
    """``value`` as int or float; None when it is not finite or is beyond a double's range."""
    if isinstance(value, Decimal):
        if not value.is_finite() or abs(value) > _MAX_NUMBER:
            return None
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value if -_MAX_NUMBER <= value <= _MAX_NUMBER else None


def _bad_variable(path: tuple[str | int, ...], problem: str) -> BadRequestError:
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)
    where = where[1:] if where.startswith(".") else where
    if not where:
        return BadRequestError(f"The variables object {problem}.")
    shown = f"${where}" if len(where) <= 200 else f"${where[:200]}..."
    return BadRequestError(f"Variable {shown} {problem}.")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return _plain_number(value)  # DynamoDB numbers: always finite
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def _locations(error: GraphQLError) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if error.locations:
        extra["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        extra["path"] = list(error.path)
    return extra


def _graphql_error(error: GraphQLError, code: str) -> dict[str, Any]:
    payload: dict[str, Any] = {"message": error.message}
    payload.update(_locations(error))
    payload["extensions"] = {"code": code}
    return payload


def _engine_error(error: EngineError) -> dict[str, Any]:
    return {"message": error.message, "extensions": {"code": error.code}}


def _internal_error(reference: str) -> dict[str, Any]:
    return {
        "message": f"Internal server error (reference {reference}); the engine log has details.",
        "extensions": {"code": "INTERNAL_ERROR", "reference": reference},
    }


def _error_response(errors: list[dict[str, Any]], status: int) -> dict[str, Any]:
    return {"errors": errors, "status_code": status}


def deploy() -> list[dict[str, Any]]:
    """SilvaEngine's registry entry: the class, its method and every operation it allows."""
    names = operation_names(_SCHEMA)
    return [
        {
            "service": "openai_assistant_engine",
            "class": "OpenaiAssistantEngine",
            "functions": {
                "open_assistant_graphql": {
                    "is_static": False,
                    "label": "OpenAI Assistant GraphQL",
                    "query": [{"action": name, "label": _label(name)} for name in names["query"]],
                    "mutation": [
                        {"action": name, "label": _label(name)} for name in names["mutation"]
                    ],
                    "type": "RequestResponse",
                    "support_methods": ["POST"],
                    "is_auth_required": False,
                    "is_graphql": True,
                    "settings": "openai_assistant_engine",
                    "disabled_in_resources": True,
                }
            },
        }
    ]


def _label(name: str) -> str:
    words = []
    current = ""
    for char in name:
        if char.isupper() and current:
            words.append(current)
            current = char
        else:
            current += char
    words.append(current)
    return " ".join(word.capitalize() for word in words)
