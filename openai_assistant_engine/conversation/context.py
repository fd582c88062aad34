"""The context of an engine-held conversation: which earlier turns a request carries.

What is stored, and why it suffices to rebuild a conversation exactly:

* ``messages``: every user message and every assistant reply, with its run id and a time
  that orders the thread (message_order.py places each after the one before). A reply
  after tool calls is marked ``after_tool_calls``.
* ``tool_calls``: every call of a run (id, name, the arguments as the model sent them) and
  the output sent back for it, claimed before it ran (the claim's time orders them).

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

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from ..backends.base import HistoryItem
from ..store import Store
from .tokens import TokenCounter

__all__ = ["MAX_MESSAGES_READ", "ContextWindow"]

_logger = logging.getLogger(__name__)
# Messages read per page, and at most per request (a bound on reads, whatever the budget).
_PAGE = 50
MAX_MESSAGES_READ = 1_000


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
                items += self._tool_items(run)
            items.append(HistoryItem("assistant", str(reply.get("message") or "")))
        return items

    def _tool_items(self, run_id: str) -> list[HistoryItem]:
        records = [r for r in self._store.list_tool_calls(run_id) if r.get("output") is not None]
        records.sort(key=lambda r: (r.get("claimed_at") or r.get("started_at"), r["tool_call_id"]))
        items: list[HistoryItem] = []
        for record in records:
            items.append(
                HistoryItem(
                    "function_call",
                    call_id=record["tool_call_id"],
                    name=str(record.get("name") or ""),
                    arguments=str(record.get("arguments") or "{}"),
                )
            )
            output = str(record["output"])
            items.append(HistoryItem("function_output", output, call_id=record["tool_call_id"]))
        return items
