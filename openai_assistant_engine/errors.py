"""One exception tree for the whole engine.

Every error a caller can cause or meet carries a machine-readable ``code`` and the
HTTP ``status`` the response reports. The engine maps them to GraphQL errors in one
place (``engine.py``); nothing else catches, logs and re-raises them.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "EngineError",
    "ForbiddenError",
    "NotFoundError",
    "UnauthorizedError",
    "UpstreamError",
]


class EngineError(Exception):
    """Root of every error the engine reports to a caller."""

    code = "INTERNAL_ERROR"
    status = 500

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class BadRequestError(EngineError):
    """The request itself is wrong: syntax, variables, values."""

    code = "BAD_REQUEST"
    status = 400


class ConfigurationError(EngineError):
    """A setting is missing or malformed; the message names it and how to set it.

    The deployment is at fault, not the request, hence a 500 (with a useful message).
    """

    code = "CONFIGURATION_ERROR"
    status = 500


class NotFoundError(EngineError):
    """A record or upstream object that the request names does not exist."""

    code = "NOT_FOUND"
    status = 404

    @classmethod
    def for_keys(cls, what: str, **keys: Any) -> NotFoundError:
        named = ", ".join(f"{name}={value!r}" for name, value in keys.items())
        return cls(f"{what} not found ({named}).", details={"keys": keys})


class ConflictError(EngineError):
    """The request clashes with current state, e.g. a run is still active."""

    code = "CONFLICT"
    status = 409


class UpstreamError(EngineError):
    """OpenAI or AWS failed after bounded retries."""

    code = "UPSTREAM_ERROR"
    status = 502


class UnauthorizedError(EngineError):
    """The caller is not known: no credentials, or credentials that do not verify."""

    code = "UNAUTHENTICATED"
    status = 401


class ForbiddenError(EngineError):
    """The caller is known and not allowed this operation (not an admin)."""

    code = "FORBIDDEN"
    status = 403
