"""What every command shares with the terminal: the error ``main`` prints, and logging."""

from __future__ import annotations

import logging
import sys

__all__ = ["CommandError", "configure_logging"]

_QUIET_LOGGERS = ("httpx", "httpx2", "openai", "werkzeug", "botocore", "urllib3", "pynamodb")


class CommandError(Exception):
    """A command failed in a way the user can act on; ``main`` prints it and exits 1."""


def configure_logging(verbose: bool, *, quiet_engine: bool = False) -> None:
    """Log to stderr; unless ``verbose``, the SDKs (and, if asked, the engine) say only warnings.

    ``quiet_engine`` is for the commands whose output is the conversation itself.
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if verbose:
        return
    quiet = (*_QUIET_LOGGERS, "openai_assistant_engine") if quiet_engine else _QUIET_LOGGERS
    for name in quiet:
        logging.getLogger(name).setLevel(logging.WARNING)
