"""The context of an engine-held conversation: which earlier turns a request carries.

What is stored, and why it suffices to rebuild a conversation exactly:

* ``messages``: every user message and every assistant reply, with its run id and a time
  that orders the thread (message_order.py places each after the one before). A reply
  after tool calls is marked ``after_tool_calls``.
* ``tool_calls``: every call of a run (id, name, the arguments as the model sent them) and
  the output sent back for it, claimed before it ran (the claim's time orders them).
* ``tool_replay`` on the first reply of a run of an engine-held thread: a copy of those
  calls and outputs in replay order, written when the run ended with every call answered
  and the copy is small (``TOOL_REPLAY_MAX_BYTES``). A replay reads it instead of the
  run's tool_calls, so a request costs the message pages it reads, not one more read per
  earlier turn; where it is absent (older records, large outputs) tool_calls is read.

A turn is replayed as: the user message, then each call of its run followed by its output
(in the order they were claimed), then the replies. Both APIs accept calls answered one
by one, so a round of parallel calls needs no grouping. A call with no recorded output
(it never ended) is left out with its output: a call without an answer is refused.

The policy (``context_max_tokens``): the instructions and the run's own items always go;
earlier turns are added newest first while they fit, whole (a call is never split from
its output, a reply never from its question); the first one that does not fit stops the
reading. Messages are read newest first a page at a time, at most ``MAX_MESSAGES_READ``
per request however long the thread is, and tool records only for replies marked (or
not known) to follow tool calls.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from ..backends.base import HistoryItem
from ..store import Store
from .tokens import TokenCounter

__all__ = ["MAX_MESSAGES_READ", "TOOL_REPLAY_MAX_BYTES", "ContextWindow", "tool_replay"]

_logger = logging.getLogger(__name__)
# Messages read per page, and at most per request (a bound on reads, whatever the budget).
_PAGE = 50
MAX_MESSAGES_READ = 1_000
# The largest copy of a run's tool calls kept on its reply (JSON bytes): a message item
# stays far below DynamoDB's 400 KB whatever its text.
TOOL_REPLAY_MAX_BYTES = 16_384


def tool_replay(records: Sequence[dict[str, Any]]) -> list[dict[str, str]] | None:
    """The copy of a run's tool call records kept on its reply, or None when a copy would
    not stand for them: a call not answered yet, or a copy above the size bound."""
    if any(r.get("output") is None or r.get("status") == "running" for r in records):
        return None
    copy = _replay_order(records)
    size = len(json.dumps(copy, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    return copy if size <= TOOL_REPLAY_MAX_BYTES else None


def _replay_order(records: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """Calls with their outputs in the order they were claimed."""
    ordered = sorted(
        records, key=lambda r: (r.get("claimed_at") or r.get("started_at"), r["tool_call_id"])
    )
    return [
        {
            "call_id": str(r["tool_call_id"]),
            "name": str(r.get("name") or ""),
            "arguments": str(r.get("arguments") or "{}"),
            "output": str(r["output"]),
        }
        for r in ordered
    ]


class ContextWindow:
    def __init__(self, store: Store, counter: TokenCounter, max_tokens: int) -> None:
        self._store = store
        self._counter = counter
        self._max_tokens = max_tokens

    def earlier_items(
        self,
        thread_id: str,
        run_id: str,
        sent: Sequence[HistoryItem],
        *,
        instructions: str | None,
        model: str | None,
    ) -> tuple[HistoryItem, ...]:
        """The thread's turns before run ``run_id`` that fit beside ``sent``, oldest first."""
        room = (
            self._max_tokens
            - self._counter.items(sent, model)
            - self._counter.text(instructions, model)
        )
        chosen: list[list[HistoryItem]] = []
        for turn in self._turns_newest_first(thread_id, run_id):
            cost = self._counter.items(turn, model)
            if cost > room:
                break
            room -= cost
            chosen.append(turn)
        return tuple(item for turn in reversed(chosen) for item in turn)

    def whole_conversation(self, thread_id: str, max_messages: int) -> tuple[HistoryItem, ...]:
        """Every recorded turn of the thread (up to ``max_messages`` messages, the newest
        kept), oldest first: what migrateThread carries to another backend."""
        turns = list(self._turns_newest_first(thread_id, "", max_messages))
        return tuple(item for turn in reversed(turns) for item in turn)

    # ------------------------------------------------------------------ reading
    def _turns_newest_first(
        self, thread_id: str, run_id: str, max_messages: int = MAX_MESSAGES_READ
    ) -> Iterator[list[HistoryItem]]:
        """Each turn (a user message and what answered it), newest first."""
        later: list[dict[str, Any]] = []  # the current turn's answers, newest first
        for message in self._messages_newest_first(thread_id, max_messages):
            if message.get("run_id") == run_id and run_id:
                continue  # this run's own: the request carries them already
            if message.get("role") == "user":
                yield self._turn(message, list(reversed(later)))
                later = []
            elif message.get("role") == "assistant":
                later.append(message)
        if later:  # replies whose question is older than what was read, or was deleted
            yield self._turn(None, list(reversed(later)))

    def _messages_newest_first(self, thread_id: str, most: int) -> Iterator[dict[str, Any]]:
        read, after = 0, None
        while read < most:
            page, after = self._store.newest_messages_page(
                thread_id, min(_PAGE, most - read), after
            )
            read += len(page)
            yield from page
            if after is None or not page:
                return
        _logger.info("Thread %s: history read stopped at %s messages", thread_id, read)

    def _turn(
        self, question: dict[str, Any] | None, replies: list[dict[str, Any]]
    ) -> list[HistoryItem]:
        items = [HistoryItem("user", str(question.get("message") or ""))] if question else []
        replayed: set[str] = set()
        for reply in replies:
            run = reply.get("run_id")
            if run and run not in replayed and reply.get("after_tool_calls") is not False:
                replayed.add(run)
                copy = reply.get("tool_replay")
                items += _items_of(copy) if isinstance(copy, list) else self._tool_items(run)
            items.append(HistoryItem("assistant", str(reply.get("message") or "")))
        return items

    def _tool_items(self, run_id: str) -> list[HistoryItem]:
        records = [r for r in self._store.list_tool_calls(run_id) if r.get("output") is not None]
        return _items_of(_replay_order(records))


def _items_of(replay: Sequence[dict[str, Any]]) -> list[HistoryItem]:
    items: list[HistoryItem] = []
    for call in replay:
        call_id = str(call.get("call_id") or "")
        items.append(
            HistoryItem(
                "function_call",
                call_id=call_id,
                name=str(call.get("name") or ""),
                arguments=str(call.get("arguments") or "{}"),
            )
        )
        items.append(HistoryItem("function_output", str(call.get("output") or ""), call_id=call_id))
    return items
