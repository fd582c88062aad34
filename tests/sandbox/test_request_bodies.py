"""What the model received: the JSON bodies of recent API requests."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from openai import OpenAI

from openai_assistant_engine.sandbox import SandboxServer
from openai_assistant_engine.sandbox.server import MAX_KEPT_BODIES


def admin(sandbox: SandboxServer, method: str, path: str) -> Any:
    url = sandbox.base_url.removesuffix("/v1") + "/_sandbox" + path
    with urllib.request.urlopen(urllib.request.Request(url, method=method)) as answer:
        return json.loads(answer.read())


def test_bodies_are_kept_in_order_with_method_and_path(
    sandbox: SandboxServer, client: OpenAI
) -> None:
    conversation = client.conversations.create(metadata={"k": "v"})
    client.conversations.items.list(conversation.id)
    client.responses.create(model="m", input="hi", conversation=conversation.id)
    assert sandbox.request_bodies == [
        ("POST", "/v1/conversations", {"metadata": {"k": "v"}}),
        ("GET", f"/v1/conversations/{conversation.id}/items", None),
        ("POST", "/v1/responses", {"model": "m", "input": "hi", "conversation": conversation.id}),
    ]


def test_bodies_are_copies(sandbox: SandboxServer, client: OpenAI) -> None:
    client.responses.create(model="m", input="hi")
    sandbox.request_bodies[0][2]["input"] = "changed"
    assert sandbox.request_bodies[0][2]["input"] == "hi"


def test_faulted_and_invalid_requests_are_kept_too(sandbox: SandboxServer) -> None:
    sandbox.inject_errors(status=500, count=1)
    with OpenAI(api_key="sk-sandbox", base_url=sandbox.base_url, max_retries=1) as client:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    request = urllib.request.Request(
        sandbox.base_url + "/responses", data=b"{not json", method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request)
    assert caught.value.code == 400
    bodies = sandbox.request_bodies
    assert [path for _m, path, _b in bodies] == ["/v1/chat/completions"] * 2 + ["/v1/responses"]
    assert bodies[0][2] == bodies[1][2]
    assert bodies[2][2] == "{not json"


def test_only_the_last_thousand_bodies_are_kept(sandbox: SandboxServer, client: OpenAI) -> None:
    assert MAX_KEPT_BODIES == 1_000
    for n in range(MAX_KEPT_BODIES + 5):
        client.post("/conversations", body={"metadata": {"n": str(n)}}, cast_to=object)
    bodies = sandbox.request_bodies
    assert len(bodies) == MAX_KEPT_BODIES
    assert bodies[0][2] == {"metadata": {"n": "5"}}
    assert bodies[-1][2] == {"metadata": {"n": str(MAX_KEPT_BODIES + 4)}}


def test_clearing(sandbox: SandboxServer, client: OpenAI) -> None:
    client.responses.create(model="m", input="one")
    sandbox.clear_request_bodies()
    assert sandbox.request_bodies == [] and len(sandbox.request_log) == 1
    client.responses.create(model="m", input="two")
    sandbox.clear_request_log()  # clears both
    assert sandbox.request_bodies == [] and sandbox.request_log == []


def test_admin_route_shows_bodies_only_when_asked(sandbox: SandboxServer, client: OpenAI) -> None:
    client.responses.create(model="m", input="hi")
    assert admin(sandbox, "GET", "/requests") == {"requests": [["POST", "/v1/responses"]]}
    assert admin(sandbox, "GET", "/requests?bodies=1") == {
        "requests": [["POST", "/v1/responses", {"model": "m", "input": "hi"}]]
    }
    assert admin(sandbox, "GET", "/requests?bodies=0") == {"requests": [["POST", "/v1/responses"]]}
    assert admin(sandbox, "DELETE", "/requests") == {"ok": True}
    assert admin(sandbox, "GET", "/requests?bodies=1") == {"requests": []}
