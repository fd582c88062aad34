"""migrateThread: an Assistants-era thread carried on, on chat and on OpenAI conversations."""

from __future__ import annotations

from typing import Any

import pytest
from openai import OpenAI

from openai_assistant_engine.sandbox import SandboxServer

MIGRATE = """
mutation migrateThread($assistantId: String!, $threadId: String!, $toBackend: String!,
                       $conversationState: String, $dryRun: Boolean) {
  migrateThread(assistantId: $assistantId, threadId: $threadId, toBackend: $toBackend,
                conversationState: $conversationState, dryRun: $dryRun) {
    migration {
      assistantId threadId fromBackend fromState toBackend toState changed dryRun
      messages toolCalls upstreamThreadId
    }
  }
}
"""


def migrate(chat: Any, thread_id: str, to_backend: str, **variables: Any) -> dict[str, Any]:
    return chat.send(
        "migrateThread",
        MIGRATE,
        assistantId=chat.assistant_id,
        threadId=thread_id,
        toBackend=to_backend,
        **variables,
    )


def migrated(chat: Any, thread_id: str, to_backend: str, **variables: Any) -> dict[str, Any]:
    response = migrate(chat, thread_id, to_backend, **variables)
    assert response["status_code"] == 200 and "errors" not in response, response
    return response["data"]["migrateThread"]["migration"]


def assistants_thread(make_chat: Any, plain_turns: int = 1) -> tuple[Any, str]:
    """A thread recorded on the Assistants API: plain turns, then one with a tool call."""
    chat = make_chat("assistants", "poll", openai_model="gpt-sandbox")
    asked, _ = chat.converse("first question")
    thread_id = asked["threadId"]
    for number in range(1, plain_turns):
        chat.converse(f"question {number}", thread_id)
    _, run = chat.converse('call:add {"a": 2, "b": 3}', thread_id)
    assert run["status"] == "completed" and thread_id.startswith("thread_")
    return chat, thread_id


def model_bodies(sandbox: SandboxServer, path: str) -> list[dict[str, Any]]:
    return [body for method, p, body in sandbox.request_bodies if method == "POST" and p == path]


def test_an_assistants_thread_goes_on_on_chat_with_its_whole_context(
    make_chat: Any, openai_sandbox: SandboxServer
) -> None:
    chat, thread_id = assistants_thread(make_chat)

    plan = migrated(chat, thread_id, "chat", dryRun=True)
    assert plan["changed"] and plan["dryRun"]
    assert (plan["fromBackend"], plan["toBackend"], plan["toState"]) == (
        "assistants",
        "chat",
        "engine",
    )
    assert (plan["messages"], plan["toolCalls"]) == (4, 1)
    record = chat.engine.store.get_thread(chat.assistant_id, thread_id)
    assert record["backend"] == "assistants" and "migrated_from" not in record  # dry run

    moved = migrated(chat, thread_id, "chat")
    assert moved["changed"] and not moved["dryRun"] and moved["upstreamThreadId"] is None
    again = migrated(chat, thread_id, "chat")
    assert not again["changed"]  # there already: nothing changes
    record = chat.engine.store.get_thread(chat.assistant_id, thread_id)
    assert (record["backend"], record["conversation_state"]) == ("chat", "engine")
    assert record["migrated_from"]["backend"] == "assistants"
    assert record["migrated_from"]["upstream_thread_id"] == thread_id

    openai_sandbox.clear_request_log()
    _, run = chat.converse("after the move", thread_id)
    assert run["status"] == "completed"
    assert not any("/threads" in path for _, path in openai_sandbox.request_log)
    (request,) = model_bodies(openai_sandbox, "/v1/chat/completions")
    roles_texts = [(m["role"], m.get("content")) for m in request["messages"]]
    assert roles_texts[:3] == [
        ("user", "first question"),
        ("assistant", "Echo: first question"),
        ("user", 'call:add {"a": 2, "b": 3}'),
    ]
    assert request["messages"][3]["tool_calls"][0]["function"]["name"] == "add"
    assert request["messages"][4]["role"] == "tool" and request["messages"][4]["content"] == "5"
    assert roles_texts[5:] == [("assistant", "Tool results: add=5"), ("user", "after the move")]
    assert chat.last_message(thread_id)["message"] == "Echo: after the move"


def test_an_assistants_thread_moves_into_an_openai_conversation_in_batches(
    make_chat: Any, openai_sandbox: SandboxServer
) -> None:
    chat, thread_id = assistants_thread(make_chat, plain_turns=10)  # 24 items: 2 batches
    openai_sandbox.clear_request_log()
    moved = migrated(chat, thread_id, "responses")
    assert moved["changed"] and moved["toState"] == "openai"
    conversation_id = moved["upstreamThreadId"]
    assert conversation_id.startswith("conv_") and moved["messages"] == 22
    posts = [p for m, p in openai_sandbox.request_log if m == "POST"]
    assert posts == ["/v1/conversations", f"/v1/conversations/{conversation_id}/items"]

    client = OpenAI(api_key="sk-sandbox", base_url=openai_sandbox.base_url)
    items = list(client.conversations.items.list(conversation_id, order="asc", limit=100))
    kinds = [item.type for item in items]
    assert len(items) == 24 and kinds.count("function_call") == 1
    assert kinds.count("function_call_output") == 1

    assert not migrated(chat, thread_id, "responses")["changed"]
    openai_sandbox.clear_request_log()
    _, run = chat.converse("in the conversation now", thread_id)
    assert run["status"] == "completed"
    (request,) = model_bodies(openai_sandbox, "/v1/responses")
    assert request["conversation"] == conversation_id
    # The caller still knows the thread by its id; records and reads use it.
    assert chat.last_message(thread_id)["message"] == "Echo: in the conversation now"
    live = chat.live_messages(thread_id, order="desc")
    assert live[0]["threadId"] == thread_id and live[0]["message"].startswith("Echo: in the")
    runs = chat.thread(thread_id)["runs"]
    assert runs and all(r["status"] == "completed" for r in runs)


def test_a_busy_thread_waits_and_bad_moves_are_refused(make_chat: Any) -> None:
    chat, thread_id = assistants_thread(make_chat)
    chat.ask("steps:50\nslow one", thread_id)
    busy = migrate(chat, thread_id, "chat")
    assert busy["status_code"] == 409, busy
    assert "migrateThread waits" in busy["errors"][0]["message"]

    other, idle_id = assistants_thread(make_chat)
    onto_assistants = migrate(other, idle_id, "responses", conversationState="nowhere")
    assert onto_assistants["status_code"] == 400
    unknown = migrate(other, "thread_nobody", "chat")
    assert unknown["status_code"] == 404
    moved = migrated(other, idle_id, "chat")
    back = migrate(other, idle_id, "assistants")
    assert moved["changed"] and back["status_code"] == 400
    assert "Assistants API" in back["errors"][0]["message"]


@pytest.mark.parametrize("state", ["engine"])
def test_a_thread_moves_to_stateless_responses(
    make_chat: Any, openai_sandbox: SandboxServer, state: str
) -> None:
    chat, thread_id = assistants_thread(make_chat)
    moved = migrated(chat, thread_id, "responses", conversationState=state)
    assert moved["toState"] == "engine" and moved["upstreamThreadId"] is None
    openai_sandbox.clear_request_log()
    _, run = chat.converse("stateless now", thread_id)
    assert run["status"] == "completed"
    (request,) = model_bodies(openai_sandbox, "/v1/responses")
    assert request["store"] is False
    assert request["input"][0]["content"] == "first question"
