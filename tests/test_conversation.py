"""Conversations through the spec document: ask, follow the run, read the answer and records.

The engine speaks GraphQL in, the official SDK to the sandbox and PynamoDB to moto out;
every test runs on both backends, and the ones where the driver matters on both drivers
(the streaming worker and poll-driven currentRun).
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from .conversation_calls import TERMINAL
from .toolbox import conversation_tools

BACKENDS = ["assistants", "responses", "chat", "responses-engine"]
# Where the model server holds the conversation and runs it in the background.
UPSTREAM_HELD = ["assistants", "responses"]
DRIVERS = ["poll", "stream"]


def _usage_is_counted(usage: dict) -> None:
    assert usage["prompt_tokens"] > 0
    assert usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_conversation_is_answered_read_and_recorded(make_chat, backend, driver):
    chat = make_chat(backend, driver)

    asked, run = chat.converse("Hello there")
    thread_id, run_id = asked["threadId"], asked["currentRunId"]
    assert asked["assistantId"] == chat.assistant_id
    assert asked["userQuery"] == "Hello there"
    assert run["status"] == "completed"
    assert (run["threadId"], run["runId"]) == (thread_id, run_id)
    _usage_is_counted(run["usage"])

    last = chat.last_message(thread_id)
    assert last["role"] == "assistant"
    assert last["message"] == "Echo: Hello there"
    assert (last["threadId"], last["runId"]) == (thread_id, run_id)
    assert last["messageId"] and last["createdAt"]

    oldest_first = chat.live_messages(thread_id, order="asc")
    assert [(m["role"], m["message"]) for m in oldest_first] == [
        ("user", "Hello there"),
        ("assistant", "Echo: Hello there"),
    ]
    assert all(m["runId"] == run_id and m["threadId"] == thread_id for m in oldest_first)
    assert chat.live_messages(thread_id, order="desc") == oldest_first[::-1]
    assert chat.live_messages(thread_id, roles=["user"]) == oldest_first[:1]
    assert chat.live_messages(thread_id, roles=["assistant"], order="asc") == oldest_first[1:]

    thread = chat.thread(thread_id)
    assert thread["threadId"] == thread_id
    assert thread["assistant"]["assistant_id"] == chat.assistant_id
    [recorded] = thread["runs"]
    assert recorded["run_id"] == run_id and recorded["status"] == "completed"
    assert recorded["usage"] == run["usage"]
    assert recorded["error"] is None and recorded["completed_at"]

    stored = {m["messageId"]: m for m in chat.message_list(thread_id)}
    assert {m["messageId"] for m in oldest_first} == set(stored)
    assert all(m["runId"] == run_id for m in stored.values())
    assert sorted((m["role"], m["message"]) for m in stored.values()) == [
        ("assistant", "Echo: Hello there"),
        ("user", "Hello there"),
    ]

    # A second turn on the same thread.
    again, second = chat.converse("And again", thread_id=thread_id)
    assert again["threadId"] == thread_id and again["currentRunId"] != run_id
    assert second["status"] == "completed"
    # The whole thread is the model's context now: more prompt tokens than the first turn.
    assert second["usage"]["prompt_tokens"] > run["usage"]["prompt_tokens"]
    assert chat.last_message(thread_id)["message"] == "Echo: And again"
    assert chat.last_message(thread_id, role="user")["message"] == "And again"
    assert [m["message"] for m in chat.live_messages(thread_id, order="asc")] == [
        "Hello there",
        "Echo: Hello there",
        "And again",
        "Echo: And again",
    ]
    runs = {r["run_id"]: r for r in chat.thread(thread_id)["runs"]}
    assert set(runs) == {run_id, again["currentRunId"]}
    assert all(r["status"] == "completed" for r in runs.values())
    assert len(chat.message_list(thread_id)) == 4


# Engine-held backends have no background mode: polled, the ask returns with the model's
# first answer (test_engine_held.py); streamed, as soon as the run exists.
@pytest.mark.parametrize("backend", UPSTREAM_HELD)
def test_ask_returns_before_the_run_completes(make_chat, backend):
    chat = make_chat(backend, "poll")
    asked = chat.ask("steps:3\nTake your time")

    # The run id exists at once; the run goes on (queued or in progress) until polled on.
    first = chat.current_run(asked["threadId"], asked["currentRunId"])
    assert first["status"] not in TERMINAL
    assert first["usage"] == {}
    record = chat.run_record(asked["threadId"], asked["currentRunId"])
    assert record["status"] not in TERMINAL

    final = chat.wait_for_run(asked["threadId"], asked["currentRunId"])
    assert final["status"] == "completed"
    assert chat.last_message(asked["threadId"])["message"] == "Echo: Take your time"


@pytest.mark.parametrize(
    ("backend", "driver"),
    # Polled, an engine-held run's round is taken by the second ask itself (it advances
    # the thread's run first), which then ends: that ask is answered, not refused.
    [(b, d) for b in BACKENDS for d in DRIVERS if b in UPSTREAM_HELD or d == "stream"],
)
def test_second_ask_while_a_run_is_active_answers_409(make_chat, backend, driver):
    chat = make_chat(backend, driver)
    # Polled, the run waits for currentRun; streamed, the worker is busy with a slow tool.
    first = f'Slow one\ncall:count {{"label": "busy-{uuid.uuid4().hex[:8]}", "pause": 0.5}}'
    asked = chat.ask(first)
    thread_id = asked["threadId"]

    refused = chat.ask_response("Are you there?", thread_id=thread_id)
    assert refused["status_code"] == 409, refused
    [error] = refused["errors"]
    assert error["extensions"]["code"] == "CONFLICT"
    assert asked["currentRunId"] in error["message"]
    assert "poll currentRun" in error["message"]
    assert not (refused.get("data") or {}).get("askOpenAi")

    assert chat.wait_for_run(thread_id, asked["currentRunId"])["status"] == "completed"
    # Once the run ended the thread takes the next question, and the refused one left no trace.
    _, run = chat.converse("Are you there now?", thread_id=thread_id)
    assert run["status"] == "completed"
    assert [m["message"] for m in chat.live_messages(thread_id, roles=["user"])] == [
        first,
        "Are you there now?",
    ]


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_ten_simultaneous_asks_on_one_thread_start_one_run_and_answer_409_to_the_rest(
    make_chat, backend, driver
):
    """A busy thread is a conflict, however the asks interleave: one starts a run, every
    other one answers 409 and leaves no question behind (was 9 x 502 on Responses with the
    stream driver: the losers reached OpenAI with the conversation's pending tool call)."""
    chat = make_chat(backend, driver)
    thread_id = chat.converse("Hello")[0]["threadId"]
    start = threading.Barrier(10)
    label = f"crowd-{uuid.uuid4().hex[:8]}"

    def ask(number: int) -> dict:
        start.wait(10)
        text = f'Crowd {number}\ncall:count {{"label": "{label}-{number}", "pause": 0.2}}'
        return chat.ask_response(text, thread_id=thread_id)

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(ask, range(10)))

    statuses = sorted(answer["status_code"] for answer in answers)
    assert statuses == [200] + [409] * 9, answers
    [won] = [answer["data"]["askOpenAi"] for answer in answers if answer["status_code"] == 200]
    for answer in answers:
        if answer["status_code"] == 409:
            assert answer["errors"][0]["extensions"]["code"] == "CONFLICT", answer
    run = chat.wait_for_run(thread_id, won["currentRunId"])
    assert run["status"] == "completed", run
    questions = [m["message"] for m in chat.live_messages(thread_id, roles=["user"])]
    assert questions == ["Hello", won["userQuery"]], questions
    winner = int(won["userQuery"].split()[1])
    ran = {n: conversation_tools.invocations[f"{label}-{n}"] for n in range(10)}
    assert ran == {n: int(n == winner) for n in range(10)}, ran


def test_backend_switch_leaves_old_threads_readable(make_chat):
    from .conversation_calls import FUNCTIONS, RESPONSES_CONFIGURATION

    old = make_chat("assistants", "poll")
    # The same record serves both backends: the Responses backend needs its model.
    old.register(FUNCTIONS, RESPONSES_CONFIGURATION)
    asked, run = old.converse("Before the switch")
    assert run["status"] == "completed"
    old_thread = asked["threadId"]

    new = old.rebuilt(openai_backend="responses")
    # The old thread remembers it lives on the Assistants API.
    assert new.last_message(old_thread)["message"] == "Echo: Before the switch"
    assert [m["message"] for m in new.live_messages(old_thread, order="asc")] == [
        "Before the switch",
        "Echo: Before the switch",
    ]
    assert new.thread(old_thread)["runs"][0]["status"] == "completed"

    fresh, fresh_run = new.converse("After the switch")
    assert fresh_run["status"] == "completed"
    assert fresh["threadId"] != old_thread
    assert fresh["threadId"].startswith("conv_")  # a Responses conversation
    assert fresh["currentRunId"].startswith("resp_")
    assert new.last_message(fresh["threadId"])["message"] == "Echo: After the switch"
    # And the old thread still goes on, on its own backend.
    _, later = new.converse("Still here?", thread_id=old_thread)
    assert later["status"] == "completed"
    assert new.last_message(old_thread)["message"] == "Echo: Still here?"


@pytest.mark.parametrize("backend", UPSTREAM_HELD)  # a conversation started elsewhere
def test_last_message_of_a_role_deep_in_a_long_thread_reads_full_pages(
    make_chat, openai_sandbox, backend
):
    """A conversation started elsewhere (no records: OpenAI is asked) whose only user
    message is 150 messages back: one small page, then pages of 100 (was 16 requests of
    10)."""
    from openai import OpenAI

    chat = make_chat(backend, "poll")
    sdk = OpenAI(api_key="sk-sandbox", base_url=openai_sandbox.base_url)
    replies = [{"role": "assistant", "content": f"Reply {n}"} for n in range(150)]
    if backend == "responses":
        thread_id = sdk.conversations.create(items=[{"role": "user", "content": "Lonely"}]).id
        for start in range(0, len(replies), 20):  # OpenAI takes 20 items per request
            sdk.conversations.items.create(thread_id, items=replies[start : start + 20])
    else:
        thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "Lonely"}])
        thread_id = thread.id
        for reply in replies:
            sdk.beta.threads.messages.create(thread_id, **reply)
    before = len(openai_sandbox.request_log)

    last = chat.last_message(thread_id, role="user")

    assert last["message"] == "Lonely"
    listings = [path for _, path in openai_sandbox.request_log[before:] if thread_id in path]
    assert len(listings) == 3, listings  # 10, then 100 + 41


@pytest.mark.parametrize("backend", BACKENDS)
def test_last_message_reads_the_recorded_reply_in_bounded_reads(make_chat, backend):
    from .graphql_calls import count_dynamodb_calls

    chat = make_chat(backend, "poll")
    asked, _ = chat.converse("First")
    thread_id = asked["threadId"]
    for text in ("Second", "Third"):
        chat.converse(text, thread_id=thread_id)

    for role, text in (("assistant", "Echo: Third"), ("user", "Third")):
        with count_dynamodb_calls(chat.engine.store) as calls:
            last = chat.last_message(thread_id, role=role)
        assert last["message"] == text and last["runId"] and last["createdAt"]
        # The thread's record and one page of its newest messages, however long it grows;
        # a read writes nothing.
        assert calls["GetItem"] <= 1 and calls["Query"] <= 1 and calls["Scan"] == 0, calls
        assert not {"PutItem", "UpdateItem", "BatchWriteItem"} & set(calls), calls
