"""Counting tokens for the context budget: ``tiktoken`` where it knows the model, else an
estimate.

``tiktoken`` downloads a model's encoding once (then reads its cache: set
``TIKTOKEN_CACHE_DIR`` to a directory packaged with the function where the process has no
internet). When the model is unknown to it (a model of another server), or its encoding
cannot be had, the count is an estimate: one token per 4 bytes of UTF-8, rounded up, the
rule of thumb OpenAI gives for English (it over-counts code and under-counts CJK text by
up to 3x; a budget should leave room). Each item also costs a few tokens of framing
(role, call id), as the chat format adds them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from ..backends.base import HistoryItem

__all__ = ["TokenCounter"]

_logger = logging.getLogger(__name__)
_BYTES_PER_TOKEN = 4
# Framing of one item (role, separators; a call's id and name) on top of its text.
_ITEM_OVERHEAD = 4


def _estimate(text: str) -> int:
    size = len(text.encode("utf-8", "surrogatepass"))
    return -(-size // _BYTES_PER_TOKEN)


class TokenCounter:
    """Counts per model; one encoding lookup per model per process (a failed one too)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._encoders: dict[str, Callable[[str], int] | None] = {}

    def text(self, text: str | None, model: str | None) -> int:
        if not text:
            return 0
        return self._encoder(model)(text)

    def items(self, items: Iterable[HistoryItem], model: str | None) -> int:
        count = self._encoder(model)
        return sum(
            _ITEM_OVERHEAD + count(item.text) + count(item.name) + count(item.arguments)
            for item in items
        )

    def exact_for(self, model: str | None) -> bool:
        """Whether counts for ``model`` come from its tokenizer (not the estimate)."""
        return self._encoder(model) is not _count_estimate

    def _encoder(self, model: str | None) -> Callable[[str], int]:
        key = model or ""
        with self._lock:
            if key in self._encoders:
                return self._encoders[key] or _count_estimate
        encoder = _tiktoken_counter(key)
        with self._lock:
            self._encoders[key] = encoder
        return encoder or _count_estimate


def _count_estimate(text: str) -> int:
    return _estimate(text) if text else 0


def _tiktoken_counter(model: str) -> Callable[[str], int] | None:
    if not model:
        return None
    try:
        import tiktoken

        encoding = tiktoken.encoding_for_model(model)
    except KeyError:  # a model tiktoken does not know: another server's
        return None
    except Exception as exc:  # no encoding file and no way to download it
        _logger.info("Counting %s tokens by estimate: tiktoken could not load (%s)", model, exc)
        return None

    def count(text: str) -> int:
        return len(encoding.encode(text, disallowed_special=())) if text else 0

    return count
