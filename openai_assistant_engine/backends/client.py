"""The official OpenAI client, built from settings once per process per key and URL."""

from __future__ import annotations

import functools
from typing import Any

from ..config import Settings
from ..errors import ConfigurationError

__all__ = ["openai_client"]

# The SDK retries 408/409/429/5xx and timeouts this many times with backoff before raising.
MAX_RETRIES = 2


def openai_client(settings: Settings) -> Any:
    if not settings.openai_api_key:
        raise ConfigurationError(
            "No OpenAI API key: set the setting openai_api_key (or the environment "
            "variable OPENAI_API_KEY, or openai_api_key in .env)."
        )
    return _client(
        settings.openai_api_key, settings.openai_base_url, settings.openai_timeout_seconds
    )


@functools.lru_cache(maxsize=8)
def _client(api_key: str, base_url: str | None, timeout_seconds: float) -> Any:
    # Imported here: the SDK costs ~0.45 s to import, and data-only requests never need it.
    from openai import OpenAI

    # The timeout bounds each attempt (a request OpenAI may still carry out: the engine
    # finds such a run again when the same askOpenAi is repeated).
    return OpenAI(
        api_key=api_key, base_url=base_url, max_retries=MAX_RETRIES, timeout=timeout_seconds
    )
