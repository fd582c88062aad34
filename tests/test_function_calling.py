"""Function calling through the whole engine: the sandbox model asks, Python answers.

The sandbox's user-text directives (``call:NAME ARGS``, ``call2:...``, ``loop:...``) make
the model ask for calls; its reply ``Tool results: name=output; ...`` shows what reached
it. Every call must land in the tool_calls table with its outcome, exactly once, and every
run must end: failures of a tool are outputs for the model, not failures of the run.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.toolbox import conversation_tools

from .conversation_calls import OUTSIDE_MODULE, TERMINAL

BACKENDS = ["assistants", "responses", "chat", "responses-engine"]
DRIVERS = ["poll", "stream"]
both_drivers = pytest.mark.parametrize("driver", DRIVERS)
both_backends = pytest.mark.parametrize("backend", BACKENDS)


TOOL_CALLS_QUERY = """query toolCalls($runId: String!) {
    toolCalls(runId: $runId) {
        runId toolCallId threadId name arguments output status error durationMs
    }
}"""


def _reply(chat: Any, thread_id: str) -> str:
    message = chat.last_message(thread_id)
    assert message is not None and message["role"] == "assistant"
    return message["message"]


def _single_output(chat: Any, thread_id: str, name: str) -> Any:
    """The one tool output the model echoed back, parsed as JSON."""
    reply = _reply(chat, thread_id)
    prefix = f"Tool results: {name}="
    assert reply.startswith(prefix), reply
    return json.loads(reply[len(prefix) :])


def _completed_run(chat: Any, text: str) -> tuple[str, str]:
    asked, run = chat.converse(text)
    assert run["status"] == "completed", run
    return asked["threadId"], asked["currentRunId"]


def _one_record(chat: Any, run_id: str, thread_id: str) -> dict[str, Any]:
    [record] = chat.tool_calls(run_id)
    assert record["thread_id"] == thread_id
    assert record["duration_ms"] >= 0
    assert record["claimed_at"] <= record["started_at"] <= record["finished_at"]
    return record


def _failed_with(record: dict[str, Any], kind: str) -> dict[str, Any]:
    assert record["status"] == "failed"
    assert record["error"].startswith(f"{kind}: ")
    error = json.loads(record["output"])["error"]
    assert error["type"] == kind
    return error


@both_drivers
@both_backends
def test_one_function_call_is_run_and_its_output_answered(make_chat, backend, driver):
    chat = make_chat(backend, driver)
    thread_id, run_id = _completed_run(chat, 'What is 2 + 3?\ncall:add {"a": 2, "b": 3}')

    assert _reply(chat, thread_id) == "Tool results: add=5"
    record = _one_record(chat, run_id, thread_id)
    assert record["name"] == "add"
    assert json.loads(record["arguments"]) == {"a": 2, "b": 3}
    assert (record["status"], record["output"]) == ("completed", "5")
    assert "error" not in record
    # The run's usage covers both model turns (the call, then the answer).
    run = chat.run_record(thread_id, run_id)
    assert run["usage"]["completion_tokens"] > 0 and run["usage"]["total_tokens"] > 0
    # The toolCalls query shows the same record through GraphQL.
    [listed] = chat.data("toolCalls", TOOL_CALLS_QUERY, runId=run_id)["toolCalls"]
    assert listed == {
        "runId": run_id,
        "toolCallId": record["tool_call_id"],
        "threadId": thread_id,
        "name": "add",
        "arguments": record["arguments"],
        "output": "5",
        "status": "completed",
        "error": None,
        "durationMs": record["duration_ms"],
    }


@both_drivers
@both_backends
def test_parallel_calls_run_and_are_answered_together(make_chat, backend, driver):
    chat = make_chat(backend, driver)
    thread_id, run_id = _completed_run(chat, 'call:add {"a": 1, "b": 2}\ncall:shout {"text": "hi"}')

    assert _reply(chat, thread_id) == 'Tool results: add=3; shout="> HI"'
    records = {r["name"]: r for r in chat.tool_calls(run_id)}
    assert set(records) == {"add", "shout"}
    assert [records[n]["status"] for n in ("add", "shout")] == ["completed", "completed"]
    assert records["shout"]["output"] == '"> HI"'  # the entry's configuration reached the class
    assert len({r["tool_call_id"] for r in records.values()}) == 2
    assert all(r["duration_ms"] >= 0 and r["thread_id"] == thread_id for r in records.values())


@both_drivers
@both_backends
def test_a_second_round_of_calls_is_handled(make_chat, backend, driver):
    chat = make_chat(backend, driver)
    thread_id, run_id = _completed_run(
        chat, 'call:add {"a": 20, "b": 22}\ncall2:shout {"text": "round two"}'
    )

    # The reply shows the last round's outputs: the second round was asked and answered.
    assert _reply(chat, thread_id) == 'Tool results: shout="> ROUND TWO"'
    records = sorted(chat.tool_calls(run_id), key=lambda r: r["started_at"])
    assert [(r["name"], r["output"], r["status"]) for r in records] == [
        ("add", "42", "completed"),
        ("shout", '"> ROUND TWO"', "completed"),
    ]
    assert all(r["duration_ms"] >= 0 and "error" not in r for r in records)
    assert chat.engine.store.get_run(thread_id, run_id)["tool_rounds"] == 2


@both_drivers
@both_backends
def test_a_function_that_raises_becomes_an_error_output(make_chat, backend, driver):
    chat = make_chat(backend, driver)
    thread_id, run_id = _completed_run(chat, 'call:boom {"message": "kaput"}')

    assert _single_output(chat, thread_id, "boom") == {
        "error": {"type": "exception", "message": "RuntimeError: kaput"}
    }
    record = _one_record(chat, run_id, thread_id)
    _failed_with(record, "exception")
    assert "kaput" in record["error"]


@both_backends
def test_a_result_json_cannot_carry_reaches_the_model_as_a_valid_error(make_chat, backend):
    chat = make_chat(backend)
    thread_id, run_id = _completed_run(chat, "call:ratio")

    reply = _reply(chat, thread_id)
    output = reply.removeprefix("Tool results: ratio=")
    error = json.loads(output, parse_constant=_no_constants)["error"]  # strict JSON
    assert error["type"] == "unserialisable_result" and "NaN" in error["message"]
    _failed_with(_one_record(chat, run_id, thread_id), "unserialisable_result")


@both_drivers
@both_backends
def test_a_result_holding_a_lone_surrogate_reaches_the_model_as_valid_text(
    make_chat, backend, driver
):
    """Undecodable bytes (os.fsdecode makes them lone surrogates) have no UTF-8 form:
    the output carries U+FFFD in their place, the run completes, nothing stays claimed."""
    chat = make_chat(backend, driver)
    thread_id, run_id = _completed_run(chat, "call:file_name")

    assert _single_output(chat, thread_id, "file_name") == {"name": "report-\ufffd.txt"}
    record = _one_record(chat, run_id, thread_id)
    assert record["status"] == "completed"
    assert json.loads(record["output"]) == {"name": "report-\ufffd.txt"}
    run = chat.engine.store.get_run(thread_id, run_id)
    assert not run.get("lease_until"), run
    assert not chat.engine.store.get_thread(chat.assistant_id, thread_id).get("active_run_id")


def _no_constants(name: str) -> None:
    raise AssertionError(f"{name} reached the model: it is not JSON")


@pytest.fixture
def sleepers_released() -> Iterator[None]:
    """Wakes the calls left sleeping by a timeout, so no thread outlives the test."""
    yield
    conversation_tools.release_sleepers.set()
    time.sleep(0.05)
    conversation_tools.release_sleepers.clear()


@pytest.mark.usefixtures("sleepers_released")
@both_drivers
@both_backends
def test_a_function_that_hangs_times_out_and_the_run_goes_on(make_chat, backend, driver):
    chat = make_chat(backend, driver, tool_timeout_seconds=0.5)
    started = time.monotonic()
    thread_id, run_id = _completed_run(chat, 'call:sleepy {"seconds": 10}')

    assert time.monotonic() - started < 5  # the run did not wait for the function
    error = _single_output(chat, thread_id, "sleepy")["error"]
    assert error["type"] == "timeout" and "0.5" in error["message"]
    record = _one_record(chat, run_id, thread_id)
    _failed_with(record, "timeout")
    assert 500 <= record["duration_ms"] < 5000


@both_drivers
@both_backends
def test_an_unknown_function_becomes_an_error_output(make_chat, backend, driver):
    chat = make_chat(backend, driver)
    thread_id, run_id = _completed_run(chat, 'call:teleport {"to": "Mars"}')

    error = _single_output(chat, thread_id, "teleport")["error"]
    assert error["type"] == "unknown_function"
    assert "teleport" in error["message"] and "'add'" in error["message"]
    record = _one_record(chat, run_id, thread_id)
    assert record["name"] == "teleport"
    _failed_with(record, "unknown_function")


@both_drivers
@both_backends
def test_arguments_that_are_not_json_become_an_error_output(make_chat, backend, driver):
    chat = make_chat(backend, driver)
    thread_id, run_id = _completed_run(chat, "call:add two and three")

    error = _single_output(chat, thread_id, "add")["error"]
    assert error["type"] == "invalid_arguments" and "not valid JSON" in error["message"]
    record = _one_record(chat, run_id, thread_id)
    assert record["arguments"] == "two and three"
    _failed_with(record, "invalid_arguments")


@both_drivers
@both_backends
def test_a_module_outside_the_allowlist_is_never_imported(make_chat, backend, driver):
    assert OUTSIDE_MODULE not in sys.modules
    chat = make_chat(backend, driver)
    thread_id, run_id = _completed_run(chat, "call:escape")

    error = _single_output(chat, thread_id, "escape")["error"]
    assert error["type"] == "not_allowed"
    assert OUTSIDE_MODULE in error["message"]
    assert "function_module_allowlist" in error["message"]  # says which setting to change
    _failed_with(_one_record(chat, run_id, thread_id), "not_allowed")
    assert OUTSIDE_MODULE not in sys.modules


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_function_that_cannot_be_described_leaves_the_others_working(make_chat, backend, caplog):
    from .conversation_calls import FUNCTIONS

    # No schema for ``escape`` in the configuration, and describing it would mean importing
    # a module outside the allowlist: it is left out of the Responses request with one
    # warning, the other functions still run, and a call to it anyway gets the same
    # structured not_allowed output on both backends.
    chat = make_chat(backend, "poll")
    chat.register(FUNCTIONS, None if backend == "assistants" else {"model": "gpt-sandbox"})
    caplog.set_level("WARNING", logger=chat.logger.name)

    thread_id, _ = _completed_run(chat, 'call:add {"a": 2, "b": 3}')
    assert _reply(chat, thread_id) == "Tool results: add=5"
    thread_id, run_id = _completed_run(chat, "call:escape")
    error = _single_output(chat, thread_id, "escape")["error"]
    assert error["type"] == "not_allowed" and "function_module_allowlist" in error["message"]
    _failed_with(_one_record(chat, run_id, thread_id), "not_allowed")
    assert OUTSIDE_MODULE not in sys.modules
    if backend == "responses":
        left_out = [r for r in caplog.records if "left out of the request" in r.getMessage()]
        assert left_out  # one warning per request to OpenAI, naming only that function
        assert all("escape" in r.getMessage() for r in left_out)
        assert not any("add (" in r.getMessage() for r in left_out)


@both_drivers
@both_backends
def test_a_dotted_module_path_is_imported(make_chat, backend, driver):
    chat = make_chat(backend, driver)
    thread_id, run_id = _completed_run(chat, 'call:greet {"name": "Ada"}')

    assert _reply(chat, thread_id) == 'Tool results: greet="Bonjour, Ada"'
    record = _one_record(chat, run_id, thread_id)
    assert (record["status"], record["output"]) == ("completed", '"Bonjour, Ada"')


@both_drivers
@both_backends
def test_the_round_cap_cancels_a_looping_run_with_the_reason(make_chat, backend, driver):
    chat = make_chat(backend, driver, max_tool_rounds=2)
    asked, run = chat.converse('call:add {"a": 1, "b": 1}\nloop:shout {"text": "again"}')
    thread_id, run_id = asked["threadId"], asked["currentRunId"]

    assert run["status"] == "cancelled"
    record = chat.run_record(thread_id, run_id)
    assert record["status"] == "cancelled"
    assert "max_tool_rounds" in record["error"] and "2" in record["error"]
    # Two rounds ran (add and shout, then shout), none after the cap.
    calls = chat.tool_calls(run_id)
    assert sorted(r["name"] for r in calls) == ["add", "shout", "shout"]
    assert all(r["status"] == "completed" for r in calls)

    # The thread is free again: the next question is answered.
    _, next_run = chat.converse("Are we done?", thread_id=thread_id)
    assert next_run["status"] == "completed"
    assert _reply(chat, thread_id) == "Echo: Are we done?"


class _ThreadNames:
    """Names of the threads started while watching (a trace hook run by each new thread)."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._lock = threading.Lock()

    def _hook(self, frame: Any, event: str, arg: Any) -> None:
        with self._lock:
            self.names.append(threading.current_thread().name)
        sys.settrace(None)  # recorded: trace nothing more in this thread
        return None

    def __enter__(self) -> _ThreadNames:
        threading.settrace(self._hook)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        threading.settrace(None)  # type: ignore[arg-type]


@both_backends
def test_poll_driven_runs_complete_through_current_run_alone(make_chat, backend):
    chat = make_chat(backend, "poll")
    with _ThreadNames() as started:
        asked = chat.ask('call:add {"a": 4, "b": 5}\ncall2:greet {"name": "Grace"}')
        thread_id, run_id = asked["threadId"], asked["currentRunId"]
        # Nothing moves the run but these currentRun calls.
        assert chat.run_record(thread_id, run_id)["status"] not in TERMINAL
        run = chat.wait_for_run(thread_id, run_id)

    assert run["status"] == "completed"
    assert _reply(chat, thread_id) == 'Tool results: greet="Bonjour, Grace"'
    assert [r["status"] for r in chat.tool_calls(run_id)] == ["completed", "completed"]
    assert any(name.startswith("oae-tool-") for name in started.names)  # the hook saw threads
    assert not [name for name in started.names if name.startswith("oae-run-")]


@both_backends
def test_concurrent_pollers_and_the_streaming_worker_run_each_tool_once(make_chat, backend):
    chat = make_chat(backend, "stream")
    tag = uuid.uuid4().hex[:8]
    labels = [f"{tag}-a", f"{tag}-b", f"{tag}-c"]
    # Slow calls, so that pollers reach the round while the worker is still running it.
    text = "\n".join(
        [
            f'call:count {{"label": "{labels[0]}", "pause": 0.3}}',
            f'call:count {{"label": "{labels[1]}", "pause": 0.3}}',
            f'call2:count {{"label": "{labels[2]}", "pause": 0.3}}',
        ]
    )
    asked = chat.ask(text)
    thread_id, run_id = asked["threadId"], asked["currentRunId"]

    answers: list[dict[str, Any]] = []
    failures: list[BaseException] = []

    def poll() -> None:
        poller = chat.rebuilt()  # its own engine, as another process would have
        deadline = time.monotonic() + 20
        try:
            while time.monotonic() < deadline:
                response = poller.send(
                    "getCurrentRun",
                    assistantId=chat.assistant_id,
                    threadId=thread_id,
                    runId=run_id,
                    updatedBy="poller",
                )
                answers.append(response)
                if response.get("data", {}).get("currentRun", {}).get("status") in TERMINAL:
                    return
                time.sleep(0.01)
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    pollers = [threading.Thread(target=poll, name=f"poller-{n}") for n in range(2)]
    for thread in pollers:
        thread.start()
    for thread in pollers:
        thread.join(30)

    assert not failures
    assert not [a for a in answers if a["status_code"] != 200], answers
    # The pollers met the run while it waited for tool outputs: they raced the worker.
    seen = {a["data"]["currentRun"]["status"] for a in answers}
    assert "requires_action" in seen, seen
    assert chat.wait_for_run(thread_id, run_id)["status"] == "completed"
    assert [conversation_tools.invocations[label] for label in labels] == [1, 1, 1]
    records = chat.tool_calls(run_id)
    assert sorted(json.loads(r["arguments"])["label"] for r in records) == labels
    assert all(r["status"] == "completed" for r in records)
    assert all(json.loads(r["output"])["seen"] == 1 for r in records)
    assert _single_output(chat, thread_id, "count") == {"label": labels[2], "seen": 1}
