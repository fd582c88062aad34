"""Record times that keep a thread's messages in conversation order.

``messageList`` reads a thread's messages by ``created_at`` (the messages table's local
index). OpenAI's times have one-second resolution: a question, its answer and the next
question often share a second, and DynamoDB returns ties in no useful order. The engine
records a conversation's messages in the order they happen (an answer is recorded before
the next question can be asked), so a message recorded within a second of the thread's
latest one is placed a microsecond after it: the recorded times strictly increase.

The messages a run's end records are placed together: one read of the thread's newest
message, then each message after the one before it.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from pynamodb.models import Model

__all__ = ["latest_other_time", "placed_after"]

_RESOLUTION = timedelta(seconds=1)  # of the times OpenAI gives a message
_STEP = timedelta(microseconds=1)  # the finest step a recorded time shows


def latest_other_time(
    model: type[Model], thread_id: str, message_ids: Collection[str]
) -> datetime | None:
    """The recorded time of the thread's newest message that is not one of
    ``message_ids`` (those about to be recorded, or recorded again)."""
    newest = model.created_at_index.query(
        thread_id, scan_index_forward=False, limit=len(message_ids) + 1, consistent_read=True
    )
    return next((m.created_at for m in newest if m.message_id not in message_ids), None)


def placed_after(latest: datetime | None, created_at: datetime) -> datetime:
    """The time a message created at ``created_at`` is recorded with, so that it sorts
    after ``latest``. An older message (more than a second before ``latest``: one
    recorded late) keeps its own time: it belongs where that time puts it."""
    if latest is None or latest < created_at or latest - created_at >= _RESOLUTION:
        return created_at
    return latest + _STEP
