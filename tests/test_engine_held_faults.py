"""Faults on engine-held backends: the model server failing at each request, DynamoDB
throttled or failing; nothing lost, no tool run twice, the thread never left stuck.

Nothing upstream holds these conversations: the records are checked against themselves
(each question once with one answer, one completed run each, each call run once).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from .dynamo_faults import DynamoFaultProxy
from .toolbox import conversation_tools

ENGINE_HELD = ["chat", "responses-engine"]
MODEL_PATH = {"chat": "/v1/chat/completions", "responses-engine": "/v1/responses"}
_labels = itertools.count()


@pytest.fixture
def dynamo(moto_endpoint: str) -> Iterator[DynamoFaultProxy]:
    with DynamoFaultProxy(moto_endpoint) as proxy:
        yield proxy  # type: ignore[misc]


def _tool_question() -> tuple[str, str]:
    label = f"held-{next(_labels)}-{time.monotonic_ns()}"
    return f'Count this\ncall:count {{"label": "{label}"}}', label


def _error(response: dict[str, Any], status: int = 502) -> str:
    assert response["status_code"] == status, response
    [error] = response["errors"]
    assert "Traceback" not in error["message"] and "sk-sandbox" not in error["message"]
    return error["message"]


def _poll(chat: Any, thread_id: str, run_id: str) -> dict[str, Any]:
    return chat.send(
        "getCurrentRun",
        assistantId=chat.assistant_id,
        threadId=thread_id,
        runId=run_id,
        updatedBy="engine-held-faults",
    )


def _first_turn(chat: Any) -> str:
    asked, run = chat.converse("Hello there")
    assert run["status"] == "completed"
    return asked["threadId"]


def _audit(chat: Any, thread_id: str, *, asked: list[str], labels: tuple[str, ...] = ()) -> None:
    """The records hold each question once with one answer; one completed run each; every
    tool call ran once and is recorded with its output."""
    recorded = chat.message_list(thread_id)
    assert sorted(m["message"] for m in recorded if m["role"] == "user") == sorted(asked)
    assert len([m for m in recorded if m["role"] == "assistant"]) == len(asked)
    runs = chat.thread(thread_id)["runs"]
    completed = [run for run in runs if run["status"] == "completed"]
    assert len(completed) == len(asked), runs
    assert all(run["status"] in ("completed", "cancelled") for run in runs), runs
    for run in completed:
        assert run["usage"]["total_tokens"] > 0, run
        for record in chat.tool_calls(run["run_id"]):
            assert record["status"] == "completed", record
            assert json.loads(record["output"])["seen"] == 1, record
    for label in labels:
        assert conversation_tools.invocations[label] == 1, label


# ======================================================================== the model server
@pytest.mark.parametrize("backend", ENGINE_HELD)
def test_rate_limits_and_5xx_on_every_model_request_are_absorbed_by_the_sdk_retries(
    make_chat: Any, openai_sandbox: Any, backend: str
) -> None:
    chat = make_chat(backend, "poll")
    thread_id = _first_turn(chat)
    question, label = _tool_question()
    openai_sandbox.inject_errors(429, count=2, path_contains=MODEL_PATH[backend])
    asked = chat.ask(question, thread_id)  # the start: retried twice by the SDK
    openai_sandbox.inject_errors(503, count=2, path_contains=MODEL_PATH[backend])
    assert chat.wait_for_run(thread_id, asked["currentRunId"])["status"] == "completed"
    _audit(chat, thread_id, asked=["Hello there", question], labels=(label,))


@pytest.mark.parametrize("backend", ENGINE_HELD)
def test_a_model_outage_at_the_start_fails_the_ask_and_leaves_the_thread_free(
    make_chat: Any, openai_sandbox: Any, backend: str
) -> None:
    chat = make_chat(backend, "poll")
    thread_id = _first_turn(chat)
    question, label = _tool_question()
    openai_sandbox.inject_errors(500, count=3, path_contains=MODEL_PATH[backend])

    message = _error(chat.ask_response(question, thread_id))

    assert "500" in message
    assert conversation_tools.invocations[label] == 0
    asked = chat.ask(question, thread_id)  # no 409: the failed ask let go of the thread
    assert chat.wait_for_run(thread_id, asked["currentRunId"])["status"] == "completed"
    _audit(chat, thread_id, asked=["Hello there", question], labels=(label,))


@pytest.mark.parametrize("backend", ENGINE_HELD)
def test_a_model_outage_at_the_tool_outputs_gives_the_round_back_and_runs_no_tool_twice(
    make_chat: Any, openai_sandbox: Any, backend: str
) -> None:
    chat = make_chat(backend, "poll")
    thread_id = _first_turn(chat)
    question, label = _tool_question()
    asked = chat.ask(question, thread_id)
    run_id = asked["currentRunId"]
    openai_sandbox.inject_errors(500, count=3, path_contains=MODEL_PATH[backend])

    assert "500" in _error(_poll(chat, thread_id, run_id))  # ran the tool, then failed

    assert conversation_tools.invocations[label] == 1
    assert chat.wait_for_run(thread_id, run_id)["status"] == "completed"
    _audit(chat, thread_id, asked=["Hello there", question], labels=(label,))


@pytest.mark.parametrize("backend", ENGINE_HELD)
def test_broken_tool_arguments_from_the_model_become_an_error_output(
    make_chat: Any, backend: str
) -> None:
    chat = make_chat(backend, "poll")
    _, run = chat.converse("call:add {not json")
    assert run["status"] == "completed"
    (record,) = chat.tool_calls(run["runId"])
    assert record["status"] == "failed" and "error" in json.loads(record["output"])


# ======================================================================== DynamoDB
def _dynamo_chat(make_chat: Any, dynamo: DynamoFaultProxy, backend: str) -> Any:
    return make_chat(backend, "poll", dynamodb_endpoint=dynamo.endpoint)


@pytest.mark.parametrize("backend", ENGINE_HELD)
def test_dynamodb_throttling_within_botocore_retries_goes_unnoticed(
    make_chat: Any, dynamo: DynamoFaultProxy, backend: str
) -> None:
    chat = _dynamo_chat(make_chat, dynamo, backend)
    thread_id = _first_turn(chat)
    question, label = _tool_question()
    dynamo.fail("UpdateItem", after=1, count=1, action="throughput")  # the run's record
    asked = chat.ask(question, thread_id)
    dynamo.fail("PutItem", count=1, action="throttling")  # the tool call's claim
    dynamo.fail("Query", count=1, action="throttling")  # the history read
    assert chat.wait_for_run(thread_id, asked["currentRunId"])["status"] == "completed"
    assert sorted(action for _, action in dynamo.affected()) == [
        "throttling",
        "throttling",
        "throughput",
    ]
    _audit(chat, thread_id, asked=["Hello there", question], labels=(label,))


@pytest.mark.parametrize("backend", ENGINE_HELD)
def test_a_run_start_dynamodb_could_not_record_is_asked_again(
    make_chat: Any, dynamo: DynamoFaultProxy, backend: str
) -> None:
    chat = _dynamo_chat(make_chat, dynamo, backend)
    thread_id = _first_turn(chat)
    question, label = _tool_question()
    dynamo.fail("UpdateItem", after=1, count=4, action="unavailable")  # the run record

    message = _error(chat.ask_response(question, thread_id))

    assert "DynamoDB request failed (ServiceUnavailableException)" in message
    assert "repeat askOpenAi" in message, message
    asked = chat.ask(question, thread_id)
    assert chat.wait_for_run(thread_id, asked["currentRunId"])["status"] == "completed"
    _audit(chat, thread_id, asked=["Hello there", question], labels=(label,))


@pytest.mark.parametrize("backend", ENGINE_HELD)
def test_tool_call_records_dynamodb_refused_are_neither_lost_nor_run_twice(
    make_chat: Any, dynamo: DynamoFaultProxy, backend: str
) -> None:
    chat = _dynamo_chat(make_chat, dynamo, backend)
    thread_id = _first_turn(chat)
    question, label = _tool_question()
    asked = chat.ask(question, thread_id)
    run_id = asked["currentRunId"]
    dynamo.fail("PutItem", count=4, action="unavailable")  # the call's claim, before it runs

    assert "DynamoDB request failed" in _error(_poll(chat, thread_id, run_id))
    assert conversation_tools.invocations[label] == 0
    assert chat.wait_for_run(thread_id, run_id)["status"] == "completed"
    _audit(chat, thread_id, asked=["Hello there", question], labels=(label,))


@pytest.mark.parametrize("backend", ENGINE_HELD)
def test_an_outage_while_a_run_end_is_recorded_then_recovery(
    make_chat: Any, dynamo: DynamoFaultProxy, backend: str
) -> None:
    chat = _dynamo_chat(make_chat, dynamo, backend)
    thread_id = _first_turn(chat)
    question, label = _tool_question()
    asked = chat.ask(question, thread_id)
    run_id = asked["currentRunId"]
    # The poll runs the tool (claim, outcome), submits, then records the end: fail that.
    dynamo.fail("UpdateItem", after=4, count=4, action="internal")
    response = _poll(chat, thread_id, run_id)
    if response["status_code"] == 200:  # the faults met other writes: the end got through
        assert response["data"]["currentRun"]["status"] == "completed"
    else:
        assert "DynamoDB request failed" in _error(response)
    dynamo.recover()
    assert chat.wait_for_run(thread_id, run_id)["status"] == "completed"
    assert chat.last_message(thread_id)["message"].startswith("Tool results: count=")
    _audit(chat, thread_id, asked=["Hello there", question], labels=(label,))
