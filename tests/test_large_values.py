"""Texts over DynamoDB's 400 KB item limit, through the contract, on both backends.

A reply, a user's question and a function's output are recorded whole however long they
are; the run's end, its usage and the thread's state are recorded with them, and the
thread stays usable.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

# 150,000 CJK characters: 450,000 bytes of UTF-8, over one DynamoDB item.
CJK = "字"
TIMES = 150_000
LONG = CJK * TIMES


def _assert_usable(chat: Any, thread_id: str) -> None:
    """A later turn on the thread runs to its end, and the thread has no run left active."""
    _, run = chat.converse("still there?", thread_id)
    assert run["status"] == "completed", run
    assert chat.last_message(thread_id)["message"] == "Echo: still there?"


@pytest.mark.parametrize("backend", ["assistants", "responses"])
def test_a_function_result_over_the_item_limit_is_recorded_whole(
    make_chat: Callable[..., Any], backend: str
) -> None:
    chat = make_chat(backend)
    arguments = json.dumps({"text": CJK, "times": TIMES})
    asked, run = chat.converse(f"call:repeat {arguments}")
    assert run["status"] == "completed", run
    assert run["usage"]["total_tokens"] > 0

    (record,) = chat.tool_calls(asked["currentRunId"])
    assert record["status"] == "completed"
    assert json.loads(record["output"]) == LONG
    assert "output_parts" not in record


@pytest.mark.parametrize(
    ("backend", "driver"), [("assistants", "poll"), ("responses", "poll"), ("responses", "stream")]
)
def test_a_reply_over_the_item_limit_is_recorded_whole(
    make_chat: Callable[..., Any], backend: str, driver: str
) -> None:
    chat = make_chat(backend, driver)
    arguments = json.dumps({"text": CJK, "times": TIMES})
    asked, run = chat.converse(f"call:repeat {arguments}")
    thread_id = asked["threadId"]
    assert run["status"] == "completed", run

    expected = f"Tool results: repeat={json.dumps(LONG, ensure_ascii=False)}"
    recorded = {m["role"]: m["message"] for m in chat.message_list(thread_id)}
    assert recorded["assistant"] == expected
    assert chat.last_message(thread_id)["message"] == expected
    assert chat.run_record(thread_id, asked["currentRunId"])["status"] == "completed"
    _assert_usable(chat, thread_id)


@pytest.mark.parametrize("backend", ["assistants", "responses"])
def test_a_user_query_over_the_item_limit_is_recorded_whole(
    make_chat: Callable[..., Any], backend: str
) -> None:
    chat = make_chat(backend)
    asked, run = chat.converse(LONG)
    thread_id = asked["threadId"]
    assert run["status"] == "completed", run
    assert run["usage"]["prompt_tokens"] > 0

    recorded = {m["role"]: m["message"] for m in chat.message_list(thread_id)}
    assert recorded == {"user": LONG, "assistant": f"Echo: {LONG}"}
    _assert_usable(chat, thread_id)


def test_a_long_message_rewritten_short_or_deleted_keeps_no_long_text(
    make_chat: Callable[..., Any],
) -> None:
    chat = make_chat("responses")
    asked, _ = chat.converse(LONG)
    thread_id = asked["threadId"]
    user, reply = sorted(chat.message_list(thread_id), key=lambda m: m["role"] != "user")
    parts = chat.engine.store.models.ValuePart
    before = parts.count()
    chat.data(
        "insertUpdateMessage",
        threadId=thread_id,
        messageId=user["messageId"],
        runId=user["runId"],
        role="user",
        message="redacted",
        createdAt=user["createdAt"],
    )
    assert {m["message"] for m in chat.message_list(thread_id)} == {"redacted", reply["message"]}

    chat.data("deleteMessage", threadId=thread_id, messageId=reply["messageId"])
    assert [m["message"] for m in chat.message_list(thread_id)] == ["redacted"]
    # Neither the redacted question nor the deleted reply left its parts behind.
    assert parts.count() == before - 2 * 2
