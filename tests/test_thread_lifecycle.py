"""A thread's life through the contract, on both backends: who may ask in it, when it
may be deleted, and the order its messages come back in."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest

BACKENDS = ["assistants", "responses"]


def _thread_ids(chat: Any) -> list[str]:
    threads = chat.data("getThreadList", assistantId=chat.assistant_id, pageNumber=1, limit=100)[
        "threadList"
    ]["threadList"]
    return [thread["threadId"] for thread in threads]


def _other_assistant(chat: Any) -> Any:
    """A chat with an OpenAI assistant of its own (make_chat shares one on Assistants)."""
    from openai import OpenAI

    from .conversation_calls import FUNCTIONS, Chat

    with (
        OpenAI(api_key="sk-sandbox", base_url=chat.settings["openai_base_url"]) as client,
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", DeprecationWarning)
        assistant_id = client.beta.assistants.create(model="gpt-sandbox", name="other").id
    other = Chat(
        document=chat.document,
        logger=chat.logger,
        settings=chat.settings,
        assistant_type=f"{chat.assistant_type}-other",
        assistant_id=assistant_id,
    )
    other.register(FUNCTIONS, None)
    return other


@pytest.mark.parametrize("backend", BACKENDS)
def test_delete_thread_is_refused_while_its_run_is_active(
    make_chat: Callable[..., Any], backend: str
) -> None:
    chat = make_chat(backend)
    asked = chat.ask("steps:4\nhello")
    thread_id, run_id = asked["threadId"], asked["currentRunId"]
    keys = {"assistantId": chat.assistant_id, "threadId": thread_id}

    refused = chat.send("deleteThread", **keys)
    assert refused["status_code"] == 409, refused
    assert run_id in refused["errors"][0]["message"]
    # Nothing was deleted: the run is still followed to its end and recorded.
    assert chat.wait_for_run(thread_id, run_id)["status"] == "completed"
    assert chat.run_record(thread_id, run_id)["status"] == "completed"

    assert chat.data("deleteThread", **keys)["deleteThread"]["ok"] is True
    assert chat.send("getThread", **keys)["status_code"] == 404


@pytest.mark.parametrize("backend", BACKENDS)
def test_delete_thread_records_a_run_that_ended_unpolled_then_deletes(
    make_chat: Callable[..., Any], backend: str
) -> None:
    chat = make_chat(backend)
    asked = chat.ask("steps:0\nhello")
    keys = {"assistantId": chat.assistant_id, "threadId": asked["threadId"]}
    assert chat.data("deleteThread", **keys)["deleteThread"]["ok"] is True
    assert chat.send("getThread", **keys)["status_code"] == 404


@pytest.mark.parametrize("backend", BACKENDS)
def test_ask_in_a_thread_unknown_upstream_writes_nothing(
    make_chat: Callable[..., Any], backend: str
) -> None:
    chat = make_chat(backend)
    unknown = "thread_nobody_made" if backend == "assistants" else "conv_nobody_made"
    response = chat.ask_response("hello", unknown)
    assert response["status_code"] == 404, response
    assert unknown not in _thread_ids(chat)
    found = chat.send("getThread", assistantId=chat.assistant_id, threadId=unknown)
    assert found["status_code"] == 404


@pytest.mark.parametrize("backend", BACKENDS)
def test_ask_in_another_assistants_thread_is_refused_and_writes_nothing(
    make_chat: Callable[..., Any], backend: str
) -> None:
    owner = make_chat(backend)
    asked = owner.ask("steps:4\nmine")
    thread_id = asked["threadId"]
    intruder = _other_assistant(owner) if backend == "assistants" else make_chat(backend)

    response = intruder.ask_response("let me in", thread_id)
    assert response["status_code"] == 404, response
    assert thread_id not in _thread_ids(intruder)
    # The owner's run was neither disturbed nor joined by a second one.
    assert owner.wait_for_run(thread_id, asked["currentRunId"])["status"] == "completed"
    assert [m["message"] for m in owner.live_messages(thread_id)] == ["steps:4\nmine", "Echo: mine"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_message_list_is_in_conversation_order(make_chat: Callable[..., Any], backend: str) -> None:
    # OpenAI's message times have one-second resolution: these turns share seconds.
    chat = make_chat(backend)
    asked, _ = chat.converse("turn 1")
    thread_id = asked["threadId"]
    for number in (2, 3, 4):
        chat.converse(f"turn {number}", thread_id)

    listed = chat.message_list(thread_id)
    expected = [text for n in (1, 2, 3, 4) for text in (f"turn {n}", f"Echo: turn {n}")]
    assert [m["message"] for m in listed] == expected
    times = [m["createdAt"] for m in listed]
    assert times == sorted(set(times)), times  # strictly increasing
