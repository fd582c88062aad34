"""A sandbox without the Conversations API, like a provider that only serves Responses."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai import OpenAI

from openai_assistant_engine.sandbox import SandboxServer


@pytest.fixture
def bare() -> Iterator[tuple[SandboxServer, OpenAI]]:
    with (
        SandboxServer(conversations_api=False) as server,
        OpenAI(api_key="sk-sandbox", base_url=server.base_url, max_retries=0) as client,
    ):
        yield server, client


def invalid_url(method: str, path: str) -> dict[str, Any]:
    return {
        "message": f"Invalid URL ({method} {path})",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }


def test_every_conversations_route_is_an_openai_404(bare: tuple[SandboxServer, OpenAI]) -> None:
    _server, client = bare
    attempts = [
        ("POST", "/v1/conversations", lambda: client.conversations.create()),
        ("GET", "/v1/conversations/conv_x", lambda: client.conversations.retrieve("conv_x")),
        (
            "POST",
            "/v1/conversations/conv_x/items",
            lambda: client.conversations.items.create(
                "conv_x", items=[{"type": "message", "role": "user", "content": "x"}]
            ),
        ),
        (
            "GET",
            "/v1/conversations/conv_x/items",
            lambda: client.conversations.items.list("conv_x"),
        ),
        (
            "DELETE",
            "/v1/conversations/conv_x",
            lambda: client.conversations.delete("conv_x"),
        ),
    ]
    for method, path, attempt in attempts:
        with pytest.raises(openai.NotFoundError) as caught:
            attempt()
        assert caught.value.body == invalid_url(method, path)


def test_a_conversation_parameter_is_an_unrecognized_argument(
    bare: tuple[SandboxServer, OpenAI],
) -> None:
    _server, client = bare
    for reference in ("conv_x", {"id": "conv_x"}):
        with pytest.raises(openai.BadRequestError) as caught:
            client.responses.create(model="m", input="hi", conversation=reference)
        assert caught.value.body == {
            "message": "Unrecognized request argument supplied: conversation",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }


def test_stateless_and_chained_responses_keep_working(bare: tuple[SandboxServer, OpenAI]) -> None:
    _server, client = bare
    text = 'Look up\ncall:weather {"city": "Oslo"}\ncall2:clock'
    history: list[Any] = [{"type": "message", "role": "user", "content": text}]
    first = client.responses.create(model="m", store=False, input=history)
    [call] = first.output
    assert call.type == "function_call" and call.name == "weather"
    with pytest.raises(openai.NotFoundError):  # store=False keeps nothing to chain to
        client.responses.retrieve(first.id)
    # The full history goes back each time: echoed output items, then their outputs.
    history += [
        call.model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": call.call_id, "output": "snow"},
    ]
    second = client.responses.create(model="m", store=False, input=history)
    [call] = second.output
    assert call.type == "function_call" and call.name == "clock"
    history += [
        {
            "type": "function_call",
            "call_id": call.call_id,
            "name": call.name,
            "arguments": call.arguments,
        },
        {
            "type": "function_call_output",
            "call_id": call.call_id,
            "output": [{"type": "input_text", "text": "noon"}],
        },
    ]
    third = client.responses.create(model="m", store=False, input=history)
    assert third.output_text == "Tool results: clock=noon"
    history += [
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": third.output_text}],
        },
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Bye"}]},
    ]
    fourth = client.responses.create(model="m", store=False, input=history)
    assert fourth.output_text == "Echo: Bye"
    assert fourth.usage is not None
    # Words read: the first message (6), snow, noon, "Tool results: clock=noon" (3), Bye.
    assert fourth.usage.input_tokens == 6 + 1 + 1 + 3 + 1
    chained = client.responses.create(model="m", input="call:ping")
    [ping] = chained.output
    assert ping.type == "function_call"
    follow = client.responses.create(
        model="m",
        previous_response_id=chained.id,
        input=[{"type": "function_call_output", "call_id": ping.call_id, "output": "ok"}],
    )
    assert follow.output_text == "Tool results: ping=ok"


def test_the_switch_flips_at_run_time_by_attribute_and_admin_route(
    sandbox: SandboxServer, client: OpenAI
) -> None:
    assert sandbox.conversations_api is True
    conversation = client.conversations.create()
    sandbox.conversations_api = False
    with pytest.raises(openai.NotFoundError):
        client.conversations.retrieve(conversation.id)
    sandbox.conversations_api = True
    assert client.conversations.retrieve(conversation.id).id == conversation.id
    assert admin(sandbox, "/conversations_api", {"enabled": False}) == {"ok": True}
    assert sandbox.conversations_api is False
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model="m", input="x", conversation=conversation.id)
    admin(sandbox, "/conversations_api", {"enabled": True})
    reply = client.responses.create(model="m", input="back", conversation=conversation.id)
    assert reply.output_text == "Echo: back"


def test_cli_flag_serves_without_conversations() -> None:
    command = [sys.executable, "-m", "openai_assistant_engine.sandbox", "--port", "0"]
    process = subprocess.Popen([*command, "--no-conversations"], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        with OpenAI(api_key="sk-sandbox", base_url=base_url, max_retries=0) as client:
            with pytest.raises(openai.NotFoundError):
                client.conversations.create()
            assert client.responses.create(model="m", input="cli").output_text == "Echo: cli"
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def admin(sandbox: SandboxServer, path: str, body: Any) -> Any:
    request = urllib.request.Request(
        sandbox.base_url.removesuffix("/v1") + "/_sandbox" + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read())
