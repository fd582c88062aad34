"""When OpenAI misbehaves: retried faults, upstream errors, runs that end badly, shutdown.

Faults are injected into the sandbox over HTTP (``inject_errors``); the SDK sees real 429
and 500 answers with ``retry-after-ms``, and retries them (twice) before the engine
reports a 502 that names the step that failed. Runs that fail, expire or stop incomplete
are statuses with a recorded reason, never exceptions.
"""

from __future__ import annotations

import pytest

BACKENDS = ["assistants", "responses"]
DRIVERS = ["poll", "stream"]

# The request that creates a run, on each backend (streamed or not).
RUN_CREATING_PATH = {"assistants": "/runs", "responses": "/v1/responses"}
# The step an upstream failure while starting a run is reported as.
START_STEP = {
    ("assistants", "poll"): "Starting a run",
    ("assistants", "stream"): "Streaming the run",
    ("responses", "poll"): "Starting a response",
    ("responses", "stream"): "Streaming the response",
}


def _run_creations(log: list[tuple[str, str]], backend: str) -> int:
    if backend == "assistants":
        return sum(method == "POST" and path.endswith("/runs") for method, path in log)
    return sum(method == "POST" and path == "/v1/responses" for method, path in log)


def _single_error(response: dict, status: int) -> dict:
    assert response["status_code"] == status, response
    [error] = response["errors"]
    assert "Traceback" not in error["message"] and "sk-sandbox" not in error["message"]
    return error


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_rate_limited_run_start_succeeds_after_the_sdk_retries(
    make_chat, openai_sandbox, backend, driver
):
    chat = make_chat(backend, driver)
    before = len(openai_sandbox.request_log)
    openai_sandbox.inject_errors(
        status=429, count=1, path_contains=RUN_CREATING_PATH[backend], method="POST"
    )

    asked, run = chat.converse("Busy out there?")

    assert run["status"] == "completed"
    assert chat.last_message(asked["threadId"])["message"] == "Echo: Busy out there?"
    # Refused once, then retried by the SDK: two run-creating requests, one run.
    assert _run_creations(openai_sandbox.request_log[before:], backend) == 2
    assert len(chat.thread(asked["threadId"])["runs"]) == 1


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_persistent_server_errors_answer_502_naming_the_step(
    make_chat, openai_sandbox, backend, driver
):
    chat = make_chat(backend, driver)
    openai_sandbox.inject_errors(
        status=500, count=10, path_contains=RUN_CREATING_PATH[backend], method="POST"
    )

    error = _single_error(chat.ask_response("Anyone home?"), 502)

    assert error["extensions"]["code"] == "UPSTREAM_ERROR"
    assert error["message"].startswith(START_STEP[(backend, driver)])
    assert "500" in error["message"]
    assert error.get("path") == ["askOpenAi"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_current_run_reports_502_while_upstream_fails_then_recovers(
    make_chat, openai_sandbox, backend
):
    chat = make_chat(backend, "poll")
    asked = chat.ask("steps:2\nPatience")
    reading = "/runs/" if backend == "assistants" else "/v1/responses/"
    openai_sandbox.inject_errors(status=500, count=10, path_contains=reading, method="GET")

    error = _single_error(
        chat.send(
            "getCurrentRun",
            assistantId=chat.assistant_id,
            threadId=asked["threadId"],
            runId=asked["currentRunId"],
            updatedBy="tester",
        ),
        502,
    )
    step = "Reading the run" if backend == "assistants" else "Reading the response"
    assert error["message"].startswith(step) and "500" in error["message"]

    openai_sandbox.clear_errors()
    assert chat.wait_for_run(asked["threadId"], asked["currentRunId"])["status"] == "completed"


def _expected_ending(backend: str, directive: str) -> tuple[str, str]:
    """(status, a part of the recorded error) for a run that ends badly."""
    if directive.startswith("fail:"):
        return "failed", "server_error: boom"
    if directive == "expire":
        # The Responses API has no "expired": such a response fails, saying why.
        return ("expired" if backend == "assistants" else "failed"), "expired"
    if directive == "cancel":
        return "cancelled", "cancelled"
    return "incomplete", "incomplete: max_"


@pytest.mark.parametrize("directive", ["fail:server_error boom", "expire", "incomplete", "cancel"])
@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_run_that_ends_badly_is_a_status_with_its_reason(make_chat, backend, driver, directive):
    chat = make_chat(backend, driver)
    status, reason = _expected_ending(backend, directive)

    asked, run = chat.converse(f"Try this\n{directive}")

    assert run["status"] == status
    record = chat.run_record(asked["threadId"], asked["currentRunId"])
    assert record["status"] == status
    assert reason in record["error"]
    assert record["usage"]["prompt_tokens"] > 0
    # An ended run, however it ended, leaves the thread free for the next question.
    _, after = chat.converse("Try again", thread_id=asked["threadId"])
    assert after["status"] == "completed"
    assert chat.last_message(asked["threadId"])["message"] == "Echo: Try again"


def test_assistants_shutdown_says_to_switch_to_the_responses_backend(make_chat, openai_sandbox):
    from .conversation_calls import FUNCTIONS, RESPONSES_CONFIGURATION

    chat = make_chat("assistants", "poll")
    chat.register(FUNCTIONS, RESPONSES_CONFIGURATION)
    asked, _ = chat.converse("Before the shutdown")
    openai_sandbox.assistants_shutdown = True

    error = _single_error(chat.ask_response("After the shutdown"), 502)
    assert "openai_backend=responses" in error["message"]
    assert error["extensions"]["code"] == "UPSTREAM_ERROR"
    # The old thread's recorded reply is still read (from DynamoDB); asking the shut
    # Assistants API for its live messages says the same as the ask.
    assert chat.last_message(asked["threadId"])["message"] == "Echo: Before the shutdown"
    old = _single_error(chat.send("getLiveMessages", threadId=asked["threadId"]), 502)
    assert "openai_backend=responses" in old["message"]

    # Following the advice works while the Assistants API stays off.
    _, run = chat.rebuilt(openai_backend="responses").converse("After the switch")
    assert run["status"] == "completed"


@pytest.mark.parametrize("backend", BACKENDS)
def test_current_run_takes_over_when_the_streaming_worker_fails(make_chat, openai_sandbox, backend):
    import json
    import time
    import uuid

    from tests.toolbox import conversation_tools

    chat = make_chat(backend, "stream")
    label = f"takeover-{uuid.uuid4().hex[:8]}"
    submitting = "/submit_tool_outputs" if backend == "assistants" else "/v1/responses"
    asked = chat.ask(f'call:count {{"label": "{label}", "pause": 0.3}}')
    before = len(openai_sandbox.request_log)
    # While the worker runs the tool, the submission of its output starts failing for good
    # (for the worker: three attempts, the SDK's two retries included).
    openai_sandbox.inject_errors(status=500, count=3, path_contains=submitting, method="POST")

    deadline = time.monotonic() + 10
    while sum(submitting in path for _, path in openai_sandbox.request_log[before:]) < 3:
        assert time.monotonic() < deadline, "the worker never tried to submit"
        time.sleep(0.01)

    # The worker gave up; currentRun submits the recorded output and drives the run on.
    run = chat.wait_for_run(asked["threadId"], asked["currentRunId"])
    assert run["status"] == "completed"
    assert chat.last_message(asked["threadId"])["message"] == (
        f'Tool results: count={{"label": "{label}", "seen": 1}}'
    )
    assert conversation_tools.invocations[label] == 1
    [record] = chat.tool_calls(asked["currentRunId"])
    assert record["status"] == "completed" and json.loads(record["output"])["seen"] == 1
