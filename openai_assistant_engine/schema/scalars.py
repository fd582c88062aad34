"""The two custom scalars of the contract: JSON (any value) and DateTime (ISO 8601)."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import Any

import graphene
from graphql.language import ast
from graphql.utilities import value_from_ast_untyped

__all__ = ["JSON", "DateTime", "parse_datetime"]


class JSON(graphene.Scalar):
    """Any JSON value, passed through unchanged both ways."""

    @staticmethod
    def serialize(value: Any) -> Any:
        return value

    @staticmethod
    def parse_value(value: Any) -> Any:
        return value

    @staticmethod
    def parse_literal(node: ast.ValueNode, _variables: Any = None) -> Any:
        return _finite_numbers(value_from_ast_untyped(node, _variables))


# graphql-core reads the literal 1e999 as inf, and a 5000-digit integer as nan; JSON has
# neither, so a response that echoed them back would not be JSON. Numbers must fit a
# double, as variables must (the engine checks those before they get here).
_MAX_NUMBER = sys.float_info.max


def _finite_numbers(value: Any) -> Any:
    if isinstance(value, (int, float)) and not abs(value) <= _MAX_NUMBER:
        shown = f"{value!r}" if isinstance(value, float) else "a number beyond 1.8e308"
        raise ValueError(f"JSON numbers must be finite and fit a double; got {shown}.")
    if isinstance(value, dict):
        for item in value.values():
            _finite_numbers(item)
    elif isinstance(value, list):
        for item in value:
            _finite_numbers(item)
    return value


def parse_datetime(value: Any) -> datetime:
    """ISO 8601 text to an aware datetime; text without an offset is taken as UTC."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(
                f"DateTime must be ISO 8601, e.g. 2024-05-01T12:30:00+00:00; got {value!r}."
            ) from exc
    else:
        raise ValueError(f"DateTime must be an ISO 8601 string; got {type(value).__name__}.")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        parsed.astimezone(timezone.utc)  # what storage does; 0001-01-01T00:00+05:00 can't
    except OverflowError as exc:
        raise ValueError(f"DateTime {value!r} is out of range once moved to UTC.") from exc
    return parsed


class DateTime(graphene.Scalar):
    """ISO 8601 date and time with an offset (UTC when the input gives none)."""

    @staticmethod
    def serialize(value: Any) -> str:
        return parse_datetime(value).isoformat()

    @staticmethod
    def parse_value(value: Any) -> datetime:
        return parse_datetime(value)

    @staticmethod
    def parse_literal(node: ast.ValueNode, _variables: Any = None) -> datetime:
        if not isinstance(node, ast.StringValueNode):
            raise ValueError("DateTime literal must be a string.")
        return parse_datetime(node.value)
