"""Keep the values of secret settings out of every log line, whoever writes it.

The engine never logs a secret itself, but the libraries under it may: at DEBUG, botocore
logs each request with its headers, and the ``Authorization`` header names the AWS access
key id. A filter on one logger would not see records of its children, and a filter on a
handler misses handlers added later, so this wraps the process's log record factory:
every record of every logger passes through it once, when it is created (only records a
logger's level lets through are ever created).

The cost is one formatting of the message, and a scan of it per secret, for each record;
nothing at all until some setting holds a secret. A record that names a secret gets the
redacted text as its message (and no args); a logged exception whose traceback names one
gets a redacted ``exc_text``, which ``logging.Formatter`` prints instead of formatting the
exception again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["REDACTED", "redact_secrets_in_logs"]

REDACTED = "[redacted]"

_lock = threading.Lock()
_traceback_formatter = logging.Formatter()


class _RedactingRecordFactory:
    def __init__(self, wrapped: Callable[..., logging.LogRecord]) -> None:
        self.wrapped = wrapped
        self.secrets: tuple[str, ...] = ()  # longest first; replaced whole, never mutated

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.wrapped(*args, **kwargs)
        if self.secrets:
            _redact(record, self.secrets)
        return record


def redact_secrets_in_logs(secrets: Iterable[str]) -> None:
    """Redact ``secrets`` from every log record created from now on, in this process."""
    new = {secret for secret in secrets if secret}
    if not new:
        return
    with _lock:
        factory = logging.getLogRecordFactory()
        if not isinstance(factory, _RedactingRecordFactory):
            factory = _RedactingRecordFactory(factory)
            logging.setLogRecordFactory(factory)
        if not new.issubset(factory.secrets):
            # Longest first, so a secret that contains another is replaced whole.
            factory.secrets = tuple(sorted(new.union(factory.secrets), key=len, reverse=True))


def _redact(record: logging.LogRecord, secrets: tuple[str, ...]) -> None:
    try:
        message = record.getMessage()
    except Exception:
        return  # a broken format string: the handler reports it as it always does
    if any(secret in message for secret in secrets):
        record.msg, record.args = _scrub(message, secrets), None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        text = _traceback_formatter.formatException(record.exc_info)
        if any(secret in text for secret in secrets):
            record.exc_text = _scrub(text, secrets)


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text
