"""Conversations the engine holds: Chat Completions, and Responses without Conversations.

Every request to the model carries the conversation, rebuilt from the records; these
tests read what the sandbox received to check it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from openai_assistant_engine.sandbox import SandboxServer

from .graphql_calls import count_dynamodb_calls

# (backend, settings) of the two engine-held protocols.
ENGINE_HELD = {
    "chat": ("chat", {}),
    "responses-engine": ("responses", {"conversation_state": "engine"}),
}
MODEL_PATHS = ("/v1/chat/completions", "/v1/responses")


def model_requests(sandbox: SandboxServer) -> list[dict[str, Any]]:
    """The bodies of the model requests the sandbox received, in order."""
    return [
        body
        for method, path, body in sandbox.request_bodies
        if method == "POST" and path in MODEL_PATHS and isinstance(body, dict)
    ]


def sent_items(body: dict[str, Any]) -> list[tuple[str, str]]:
    """A model request's conversation as (kind, text) pairs, whichever the protocol."""
    pairs: list[tuple[str, str]] = []
    if "messages" in body:
        for message in body["messages"]:
            for call in message.get("tool_calls") or []:
                pairs.append(("call", f"{call['function']['name']} {call['id']}"))
            if message["role"] == "tool":
                pairs.append(("output", f"{message['content']} {message['tool_call_id']}"))
            elif message.get("content"):
                pairs.append((message["role"], message["content"]))
        return pairs
    if body.get("instructions"):
        pairs.append(("system", body["instructions"]))
    for item in body["input"]:
        if item.get("type") == "function_call":
            pairs.append(("call", f"{item['name']} {item['call_id']}"))
        elif item.get("type") == "function_call_output":
            pairs.append(("output", f"{item['output']} {item['call_id']}"))
        else:
            pairs.append((item["role"], item["content"]))
    return pairs


@pytest.fixture(params=sorted(ENGINE_HELD))
def protocol(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    return ENGINE_HELD[request.param]


@pytest.mark.parametrize("driver", ["poll", "stream"])
def test_the_third_turn_carries_the_first_two_with_their_tool_round(
    make_chat: Any, openai_sandbox: SandboxServer, protocol: Any, driver: str
) -> None:
    backend, settings = protocol
    chat = make_chat(backend, driver, **settings)
    asked, first = chat.converse("turn one")
    thread_id = asked["threadId"]
    _, second = chat.converse('call:add {"a": 2, "b": 3}', thread_id)
    openai_sandbox.clear_request_log()
    _, third = chat.converse("turn three", thread_id)
    assert [first["status"], second["status"], third["status"]] == ["completed"] * 3

    (request,) = model_requests(openai_sandbox)  # one request: one model round, no polls
    if backend == "responses":
        assert request["store"] is False and "conversation" not in request
    pairs = sent_items(request)
    call_id = next(text.split()[1] for kind, text in pairs if kind == "call")
    assert pairs == [
        ("user", "turn one"),
        ("assistant", "Echo: turn one"),
        ("user", 'call:add {"a": 2, "b": 3}'),
        ("call", f"add {call_id}"),
        ("output", f"5 {call_id}"),
        ("assistant", "Tool results: add=5"),
        ("user", "turn three"),
    ]
    assert chat.last_message(thread_id)["message"] == "Echo: turn three"
    roles = [m["role"] for m in chat.live_messages(thread_id)]
    assert roles == ["user", "assistant"] * 3
    record = chat.engine.store.get_thread(chat.assistant_id, thread_id)
    assert (record["backend"], record["conversation_state"]) == (backend, "engine")
    # The call ran once and is recorded with its output.
    (call,) = chat.tool_calls(second["runId"])
    assert call["name"] == "add" and call["output"] == "5" and call["status"] == "completed"
    usage = chat.run_record(thread_id, third["runId"])["usage"]
    assert usage["prompt_tokens"] > 0 and usage["total_tokens"] > usage["prompt_tokens"]


def test_a_poll_of_an_engine_held_run_asks_the_model_nothing(
    make_chat: Any, openai_sandbox: SandboxServer, protocol: Any
) -> None:
    backend, settings = protocol
    chat = make_chat(backend, "poll", **settings)
    asked = chat.ask('call:add {"a": 1, "b": 1}\ncall2:add {"a": 2, "b": 2}')
    openai_sandbox.clear_request_log()
    run = chat.wait_for_run(asked["threadId"], asked["currentRunId"])
    assert run["status"] == "completed"
    # Two rounds: one request each (the outputs), and the polls in between ask nothing.
    assert len(model_requests(openai_sandbox)) == 2
    assert chat.last_message(asked["threadId"])["message"] == "Tool results: add=4"


def test_the_instructions_go_first_and_every_turn_alike(
    make_chat: Any, openai_sandbox: SandboxServer, protocol: Any
) -> None:
    from .conversation_calls import FUNCTIONS, RESPONSES_CONFIGURATION

    backend, settings = protocol
    chat = make_chat(backend, "poll", **settings)
    chat.register(FUNCTIONS, {**RESPONSES_CONFIGURATION, "instructions": "Be brief."})
    asked, _ = chat.converse("one")
    openai_sandbox.clear_request_log()
    chat.converse("two", asked["threadId"])
    (request,) = model_requests(openai_sandbox)
    pairs = sent_items(request)
    assert pairs[0] == ("system", "Be brief.")
    assert pairs[1:] == [("user", "one"), ("assistant", "Echo: one"), ("user", "two")]


def test_a_model_server_that_refuses_the_request_fails_the_run_with_its_words(
    make_chat: Any, protocol: Any
) -> None:
    backend, settings = protocol
    chat = make_chat(backend, "poll", **settings)
    asked, run = chat.converse('call:add {"a": 1, "b": 2}\nfail:context_length_exceeded Too long')
    if backend == "chat":  # Chat Completions answers a failure with a 400
        assert run["status"] == "failed"
        assert (
            "context_length_exceeded" in chat.run_record(asked["threadId"], run["runId"])["error"]
        )
    else:  # Responses: a failed response
        assert run["status"] == "failed"
    # The thread goes on.
    _, after = chat.converse("again", asked["threadId"])
    assert after["status"] == "completed"


def test_a_server_without_conversations_gets_engine_held_threads(
    make_chat: Any, openai_sandbox: SandboxServer
) -> None:
    openai_sandbox.conversations_api = False
    try:
        # Settings of its own: what a process learns of a server is kept per settings.
        chat = make_chat("responses", "poll", openai_timeout_seconds=31)  # state: auto
        asked, first = chat.converse("hello")
        _, second = chat.converse("again", asked["threadId"])
    finally:
        openai_sandbox.conversations_api = True
    assert first["status"] == second["status"] == "completed"
    record = chat.engine.store.get_thread(chat.assistant_id, asked["threadId"])
    assert record["conversation_state"] == "engine"
    # What the process learnt holds for its next threads; another process (other
    # settings here) asks the server again, which has Conversations now.
    assert chat.ask("still engine-held")["threadId"].startswith("thread_")
    fresh = chat.rebuilt(openai_timeout_seconds=32)
    assert fresh.ask("on conversations")["threadId"].startswith("conv_")


def test_a_long_thread_is_read_newest_first_and_cut_at_the_budget(
    make_chat: Any, openai_sandbox: SandboxServer
) -> None:
    budget = 600
    chat = make_chat("chat", "poll", context_max_tokens=budget)
    asked, _ = chat.converse("the first question")
    thread_id = asked["threadId"]
    _record_many_turns(chat, thread_id, turns=1_000)  # 2,000 messages after the first turn

    openai_sandbox.clear_request_log()
    with count_dynamodb_calls(chat.engine.store) as calls:
        _, run = chat.converse("the newest question", thread_id)
    assert run["status"] == "completed"
    (request,) = model_requests(openai_sandbox)
    messages = request["messages"]
    texts = [m["content"] for m in messages]
    assert texts[-1] == "the newest question"
    assert "the first question" not in texts  # the oldest turn is left out
    assert texts[-3:-1] == ["question 999", "answer 999"]  # the newest are kept, in order
    # Whole turns only: each question with its answer.
    assert [m["role"] for m in messages[:-1]] == ["user", "assistant"] * ((len(messages) - 1) // 2)
    estimate = sum(4 + -(-len(m["content"].encode()) // 4) for m in messages)
    assert estimate <= budget
    # Reading stops at the budget: a page or two of messages, not the thread's 2,000.
    assert calls["items_read"] < 150, dict(calls)


def test_earlier_tool_rounds_replay_from_the_replies_without_reading_tool_calls(
    make_chat: Any, openai_sandbox: SandboxServer, protocol: Any
) -> None:
    backend, settings = protocol
    chat = make_chat(backend, "poll", **settings)
    asked, _ = chat.converse('call:add {"a": 0, "b": 1}')
    thread_id = asked["threadId"]
    with count_dynamodb_calls(chat.engine.store) as after_one:
        chat.converse("question after one tool turn", thread_id)
    for number in range(2, 8):
        chat.converse(f'call:add {{"a": {number}, "b": 1}}', thread_id)
    # A tool output above the copy's bound: its turn replays from tool_calls.
    chat.converse('call:repeat {"text": "long ", "times": 4000}', thread_id)
    with count_dynamodb_calls(chat.engine.store) as after_many:
        chat.converse("question after many", thread_id)
    openai_sandbox.clear_request_log()
    chat.converse("the last question", thread_id)

    (request,) = model_requests(openai_sandbox)
    outputs = [text for kind, text in sent_items(request) if kind == "output"]
    assert [o.split()[0] for o in outputs[:7]] == [str(n + 1) for n in range(8) if n != 1]
    assert outputs[7].startswith('"long long ') and len(outputs[7]) > 20_000
    # Seven earlier tool turns cost one Query more than one did (the large one's
    # tool_calls), not one per tool turn.
    assert after_many["Query"] == after_one["Query"] + 1, (dict(after_one), dict(after_many))


def _record_many_turns(chat: Any, thread_id: str, *, turns: int) -> None:
    from datetime import datetime, timedelta, timezone

    model = chat.engine.store.models.Message
    start = datetime.now(timezone.utc)
    with model.batch_write() as batch:
        for number in range(turns):
            for offset, (role, text) in enumerate(
                (("user", f"question {number}"), ("assistant", f"answer {number}"))
            ):
                batch.save(
                    model(
                        thread_id,
                        f"msg_bulk_{number}_{offset}",
                        run_id=f"run_bulk_{number}",
                        role=role,
                        message=text,
                        after_tool_calls=False if role == "assistant" else None,
                        created_at=start + timedelta(milliseconds=2 * number + offset + 1),
                    )
                )


def test_streamed_chat_text_arrives_as_events(make_chat: Any) -> None:
    chat = make_chat("chat", "stream")
    asked = chat.ask("tell me something long enough to stream in pieces")
    events = list(chat.engine.subscribe(asked["threadId"], asked["currentRunId"], idle_timeout=10))
    kinds = [event["type"] for event in events]
    assert kinds[0] == "run.started" and kinds[-1] == "run.completed"
    assert kinds.count("message.delta") > 1
    deltas = "".join(event["text"] for event in events if event["type"] == "message.delta")
    assert deltas == "Echo: tell me something long enough to stream in pieces"
    assert [event["seq"] for event in events] == list(range(1, len(events) + 1))
    assert json.loads(json.dumps(events[-1]["usage"]))["total_tokens"] > 0
