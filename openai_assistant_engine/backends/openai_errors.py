"""OpenAI SDK exceptions to engine errors, in one place for every backend.

The SDK has already retried 408/409/429/5xx (bounded by ``max_retries``) when one of its
exceptions reaches us, so everything transient here becomes a 502.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import ConflictError, EngineError, NotFoundError, UpstreamError

__all__ = ["ASSISTANTS_SHUTDOWN_HINT", "openai_errors"]

ASSISTANTS_SHUTDOWN_HINT = (
    "OpenAI turned the Assistants API off on 2026-08-26; set the setting "
    "openai_backend=responses (or OPENAI_BACKEND=responses) to use the Responses API."
)
# OpenAI's error codes for "this thread is busy", matched first; the message texts below
# only where a server sends no code.
_BUSY_CODES = frozenset({"conversation_locked", "thread_locked", "run_active", "active_run"})
_ACTIVE_RUN_MARKERS = (
    "while a run",
    "already has an active run",
    "is locked",
    "in progress",
    "currently operating on this conversation",  # a response still runs on it
    "no tool output found for function call",  # a turn still waits for tool outputs
)
# A submission that came too late: another driver moved the run on meanwhile.
_MOVED_ON_MARKERS = ("do not accept tool outputs", "expected tool outputs for call_ids")
_SHUTDOWN_MARKERS = ("shut down", "shutdown", "has been turned off", "no longer available")


@contextmanager
def openai_errors(backend: str, action: str) -> Iterator[None]:
    """Translate SDK errors raised while doing ``action`` on ``backend``."""
    import openai  # the caller already imported it; this is a cheap lookup

    try:
        yield
    except EngineError:
        raise
    except openai.APIStatusError as exc:
        message = _message_of(exc)
        lowered = message.lower()
        code = getattr(exc, "code", None)
        if backend == "assistants" and (
            code == "api_shutdown" or any(marker in lowered for marker in _SHUTDOWN_MARKERS)
        ):
            raise UpstreamError(f"{action}: {message} {ASSISTANTS_SHUTDOWN_HINT}") from exc
        if exc.status_code == 404:
            raise NotFoundError(f"{action}: OpenAI answered not found: {message}") from exc
        if code in _BUSY_CODES or (
            exc.status_code in (400, 409) and any(m in lowered for m in _ACTIVE_RUN_MARKERS)
        ):
            raise ConflictError(
                f"{action}: a run is still active on this thread; wait for it to finish "
                f"(poll currentRun) before asking again. OpenAI said: {message}"
            ) from exc
        if exc.status_code == 400 and any(m in lowered for m in _MOVED_ON_MARKERS):
            raise ConflictError(f"{action}: the run has moved on. OpenAI said: {message}") from exc
        if exc.status_code in (401, 403):
            raise UpstreamError(
                f"{action}: OpenAI refused the credentials ({exc.status_code}); check the "
                "openai_api_key setting."
            ) from exc
        raise UpstreamError(f"{action}: OpenAI answered {exc.status_code}: {message}") from exc
    except openai.APITimeoutError as exc:
        raise UpstreamError(f"{action}: OpenAI did not answer in time.") from exc
    except openai.APIConnectionError as exc:
        raise UpstreamError(f"{action}: could not reach OpenAI ({exc.message}).") from exc


def _message_of(exc: object) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return str(getattr(exc, "message", exc))
