"""The two custom scalars of the contract: JSON (any value) and DateTime (ISO 8601)."""

from __future__ import annotations

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
        return value_from_ast_untyped(node, _variables)


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
