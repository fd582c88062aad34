"""Record times that keep a thread's messages in conversation order.

``messageList`` reads a thread's messages by ``created_at`` (the messages table's local
index). OpenAI's times have one-second resolution: a question, its answer and the next
question often share a second, and DynamoDB returns ties in no useful order. The engine
records a conversation's messages in the order they happen (an answer is recorded before
the next question can be asked), so a message recorded within a second of the thread's
latest one is placed a microsecond after it: the recorded times strictly increase.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.models import Model

__all__ = ["conversation_time"]

_RESOLUTION = timedelta(seconds=1)  # of the times OpenAI gives a message
_STEP = timedelta(microseconds=1)  # the finest step a recorded time shows


def conversation_time(
    model: type[Model], thread_id: str, message_id: str, created_at: datetime
) -> datetime:
    """The time a message just recorded for the first time at ``created_at`` should
    have so that it sorts after the thread's latest other message.

    An older message (one recorded late, more than a second before the latest) keeps its
    own time: it belongs where that time puts it.
    """
    newest = model.created_at_index.query(
        thread_id, scan_index_forward=False, limit=2, consistent_read=True
    )
    latest = next((m for m in newest if m.message_id != message_id), None)
    if latest is None:
        return created_at
    if latest.created_at < created_at or latest.created_at - created_at >= _RESOLUTION:
        return created_at
    return latest.created_at + _STEP
