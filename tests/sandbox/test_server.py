"""The HTTP layer: faults, latency, request log, admin surface, shutdown mode, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import openai
import pytest
from openai import OpenAI

from openai_assistant_engine.sandbox import ASSISTANTS_SHUTDOWN_ERROR, SandboxServer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def admin(sandbox: SandboxServer, method: str, path: str, body: Any = None) -> Any:
    root = sandbox.base_url.removesuffix("/v1")
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{root}/_sandbox{path}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read())


def test_injected_429s_are_retried_by_the_sdk_until_success(sandbox: SandboxServer) -> None:
    sandbox.inject_errors(status=429, count=2, path_contains="/responses")
    with OpenAI(api_key="sk-sandbox", base_url=sandbox.base_url, max_retries=2) as client:
        started = time.monotonic()
        response = client.responses.create(model="m", input="hi")
        assert time.monotonic() - started < 0.5  # retry-after-ms keeps the retries quick
    assert response.output_text == "Echo: hi"
    assert sandbox.request_log == [("POST", "/v1/responses")] * 3


def test_a_persistent_500_makes_the_sdk_raise_internal_server_error(
    sandbox: SandboxServer, client: OpenAI
) -> None:
    sandbox.inject_errors(status=500, count=10)
    with pytest.raises(openai.InternalServerError) as caught:
        client.beta.threads.create()
    assert caught.value.body["type"] == "server_error"  # type: ignore[index]
    assert len(sandbox.request_log) == 2  # the first try and max_retries=1
    sandbox.clear_errors()
    assert client.beta.threads.create().id.startswith("thread_")


def test_an_injected_429_carries_openai_error_json_and_retry_after_ms(
    sandbox: SandboxServer,
) -> None:
    sandbox.inject_errors(status=429, count=1)
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{sandbox.base_url}/conversations/conv_x")
    assert caught.value.code == 429
    assert caught.value.headers["retry-after-ms"] == "10"
    assert json.loads(caught.value.read())["error"]["code"] == "rate_limit_exceeded"


def test_faults_only_hit_requests_matching_path_and_method(
    sandbox: SandboxServer, client: OpenAI
) -> None:
    sandbox.inject_errors(status=400, count=1, path_contains="/runs", method="GET")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    assistant = client.beta.assistants.create(model="m")
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    with pytest.raises(openai.BadRequestError):
        client.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
    assert client.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "in_progress"


def test_assistants_shutdown_answers_404_api_shutdown_on_every_assistants_endpoint(
    sandbox: SandboxServer, client: OpenAI
) -> None:
    thread = client.beta.threads.create()
    sandbox.assistants_shutdown = True
    for attempt in (
        lambda: client.beta.assistants.create(model="m"),
        lambda: client.beta.threads.create(),
        lambda: client.beta.threads.retrieve(thread.id),
        lambda: client.beta.threads.messages.list(thread_id=thread.id),
    ):
        with pytest.raises(openai.NotFoundError) as caught:
            attempt()
        assert caught.value.code == "api_shutdown"
        assert caught.value.body == ASSISTANTS_SHUTDOWN_ERROR["error"]
    assert client.responses.create(model="m", input="still here").status == "completed"
    sandbox.assistants_shutdown = False
    assert client.beta.threads.retrieve(thread.id).id == thread.id


def test_assistants_shutdown_can_be_set_at_construction() -> None:
    with (
        SandboxServer(assistants_shutdown=True) as server,
        OpenAI(api_key="sk-sandbox", base_url=server.base_url, max_retries=0) as client,
    ):
        with pytest.raises(openai.NotFoundError) as caught:
            client.beta.threads.create()
        assert "shut down" in caught.value.message


def test_latency_delays_api_requests_but_not_admin_requests(
    sandbox: SandboxServer, client: OpenAI
) -> None:
    sandbox.set_latency(0.2)
    assert sandbox.latency_seconds == 0.2
    started = time.monotonic()
    client.conversations.create()
    assert time.monotonic() - started >= 0.2
    started = time.monotonic()
    admin(sandbox, "GET", "/requests")
    assert time.monotonic() - started < 0.15


def test_with_latency_an_unpolled_run_also_advances_with_wall_time(
    sandbox: SandboxServer, client: OpenAI
) -> None:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    assistant = client.beta.assistants.create(model="m")
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    sandbox.set_latency(0.02)  # one tick per 20 ms: queued -> in_progress -> completed
    time.sleep(0.1)
    messages = client.beta.threads.messages.list(thread_id=thread.id).data  # no run retrieve
    assert messages[0].content[0].text.value == "Echo: hi"
    assert messages[0].run_id == run.id


def test_admin_http_surface_steers_faults_latency_and_shows_requests(
    sandbox: SandboxServer, client: OpenAI
) -> None:
    assert admin(
        sandbox, "POST", "/faults", {"status": 500, "count": 3, "path_contains": "/runs"}
    ) == {"ok": True}
    thread = client.beta.threads.create()  # not matched by the fault
    assert admin(sandbox, "GET", "/requests") == {"requests": [["POST", "/v1/threads"]]}
    with pytest.raises(openai.InternalServerError):
        client.beta.threads.runs.list(thread_id=thread.id)
    admin(sandbox, "DELETE", "/faults")
    client.beta.threads.runs.list(thread_id=thread.id)
    admin(sandbox, "POST", "/latency", {"seconds": 0.05})
    assert sandbox.latency_seconds == 0.05
    admin(sandbox, "POST", "/assistants_shutdown", {"enabled": True})
    assert sandbox.assistants_shutdown is True
    admin(sandbox, "DELETE", "/requests")
    assert sandbox.request_log == []


def test_request_log_records_method_and_path_in_order_and_clears(
    sandbox: SandboxServer, client: OpenAI
) -> None:
    conversation = client.conversations.create()
    client.conversations.items.list(conversation.id, limit=5)
    assert sandbox.request_log == [
        ("POST", "/v1/conversations"),
        ("GET", f"/v1/conversations/{conversation.id}/items"),
    ]
    sandbox.clear_request_log()
    assert sandbox.request_log == []


def test_unknown_routes_answer_404_invalid_url(sandbox: SandboxServer) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{sandbox.base_url}/nothing/here")
    assert caught.value.code == 404
    assert json.loads(caught.value.read())["error"]["message"] == (
        "Invalid URL (GET /v1/nothing/here)"
    )


def test_many_threads_share_one_sandbox_safely(sandbox: SandboxServer) -> None:
    with OpenAI(api_key="sk-sandbox", base_url=sandbox.base_url, max_retries=0) as client:
        assistant = client.beta.assistants.create(model="m")

        def converse(n: int) -> tuple[str, str]:
            thread = client.beta.threads.create(messages=[{"role": "user", "content": f"hi {n}"}])
            client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
            assistant_text = client.beta.threads.messages.list(thread_id=thread.id).data[0]
            response = client.responses.create(model="m", input=f"yo {n}")
            return assistant_text.content[0].text.value, response.output_text

        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(converse, range(24)))
    assert results == [(f"Echo: hi {n}", f"Echo: yo {n}") for n in range(24)]


def test_stop_closes_the_port(client: OpenAI, sandbox: SandboxServer) -> None:
    client.conversations.create()  # leaves a keep-alive connection open
    sandbox.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{sandbox.base_url}/conversations/x", timeout=2)


def test_module_entry_point_serves_and_prints_its_base_url() -> None:
    command = [
        sys.executable,
        "-m",
        "openai_assistant_engine.sandbox",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--latency",
        "0",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        with OpenAI(api_key="sk-sandbox", base_url=base_url, max_retries=0) as client:
            assert client.responses.create(model="m", input="cli").output_text == "Echo: cli"
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
