"""Conversation item batches: OpenAI's 20-item cap, and every item kind a history holds."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from openai import OpenAI
from openai.types.conversations import ConversationItem
from pydantic import TypeAdapter


def user_items(count: int) -> list[Any]:
    return [{"type": "message", "role": "user", "content": f"m{n}"} for n in range(count)]


def assert_too_many(caught: pytest.ExceptionInfo[openai.BadRequestError], count: int) -> None:
    assert caught.value.body == {
        "message": "Invalid 'items': array too long. Expected an array with maximum length 20, "
        f"but got an array with length {count} instead.",
        "type": "invalid_request_error",
        "param": "items",
        "code": "array_above_max_length",
    }


def test_twenty_items_per_request_are_accepted_and_twenty_one_are_a_400(client: OpenAI) -> None:
    conversation = client.conversations.create(items=user_items(20))
    with pytest.raises(openai.BadRequestError) as caught:
        client.conversations.create(items=user_items(21))
    assert_too_many(caught, 21)
    added = client.conversations.items.create(conversation.id, items=user_items(20))
    assert len(added.data) == 20
    with pytest.raises(openai.BadRequestError) as caught:
        client.conversations.items.create(conversation.id, items=user_items(25))
    assert_too_many(caught, 25)
    # A refused batch adds nothing; batches of 20 add up past 20.
    items = client.conversations.items.list(conversation.id, limit=100).data
    assert len(items) == 40


def test_a_whole_history_fits_in_batches_and_answers_like_it_happened(client: OpenAI) -> None:
    history: list[Any] = [
        {"type": "message", "role": "user", "content": "call:a {}\ncall2:b"},
        {"type": "function_call", "call_id": "call_1", "name": "a", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "first"},
        {"type": "function_call", "call_id": "call_2", "name": "b", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_2", "output": "second"},
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Tool results: b=second"}],
        },
        {"type": "message", "role": "assistant", "content": "A plain string reply"},
    ]
    conversation = client.conversations.create(items=history[:3])
    client.conversations.items.create(conversation.id, items=history[3:])
    items = client.conversations.items.with_raw_response.list(conversation.id, order="asc")
    data = items.http_response.json()["data"]
    assert [(item["type"], item.get("role")) for item in data] == [
        ("message", "user"),
        ("function_call", None),
        ("function_call_output", None),
        ("function_call", None),
        ("function_call_output", None),
        ("message", "assistant"),
        ("message", "assistant"),
    ]
    assert data[6]["content"] == [
        {"type": "output_text", "text": "A plain string reply", "annotations": []}
    ]
    adapter = TypeAdapter(ConversationItem)
    for item in data:
        adapter.validate_python(item)
    reply = client.responses.create(model="m", conversation=conversation.id, input="Next")
    assert reply.output_text == "Echo: Next"
