"""The run engine as a whole: many triggers on one run, its events, its injected parts.

Every run here is driven through the engine's GraphQL entry point against the sandbox
(the official SDK over HTTP) and moto (over HTTP), as in production: a streaming worker
and pollers at once, or several pollers at once.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import pytest

from openai_assistant_engine import OpenaiAssistantEngine, contract_document

from .conversation_calls import TERMINAL, UPDATED_BY
from .toolbox import conversation_tools

BACKENDS = ("responses", "assistants", "chat", "responses-engine")
VALID_STATUSES = TERMINAL | {"queued", "in_progress", "requires_action", "cancelling"}
_labels = itertools.count()


def _two_rounds(label: str) -> tuple[str, dict[str, int], str]:
    script = (
        f'call:count {{"label": "{label}-a"}}\n'
        f'call:count {{"label": "{label}-b"}}\n'
        f'call2:count {{"label": "{label}-c"}}'
    )
    return script, {f"{label}-a": 1, f"{label}-b": 1, f"{label}-c": 1}, "completed"


def _looping(label: str) -> tuple[str, dict[str, int], str]:
    # max_tool_rounds=2: round 1 runs a and the loop, round 2 the loop, then the cap.
    script = f'call:count {{"label": "{label}-a"}}\nloop:count {{"label": "{label}-loop"}}'
    return script, {f"{label}-a": 1, f"{label}-loop": 2}, "cancelled"


def _poll_until_end(chat: Any, thread_id: str, run_id: str, answers: list[dict]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = chat.send(
            "getCurrentRun",
            assistantId=chat.assistant_id,
            threadId=thread_id,
            runId=run_id,
            updatedBy=UPDATED_BY,
        )
        answers.append(response)
        if response.get("status_code") != 200:
            return
        if response["data"]["currentRun"]["status"] in TERMINAL:
            return


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("driver", ["stream", "poll"])
def test_one_run_driven_by_several_triggers_at_once_runs_each_tool_once(
    make_chat: Any, backend: str, driver: str
) -> None:
    """Four runs in a row: both kinds of run, each with its triggers racing."""
    _race_runs(make_chat(backend, driver, max_tool_rounds=2), backend, driver, runs=4)


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("driver", ["stream", "poll"])
def test_fifty_raced_runs_in_a_row_run_each_tool_once(
    make_chat: Any, backend: str, driver: str
) -> None:
    """The same race, 50 runs long: rare interleavings need many tries to show."""
    _race_runs(make_chat(backend, driver, max_tool_rounds=2), backend, driver, runs=50)


def _race_runs(chat: Any, backend: str, driver: str, runs: int) -> None:
    """A streaming worker and two pollers (stream), or three pollers (poll), on one run,
    runs alternating two tool rounds and a run stopped by the round cap: every
    currentRun answer is a 200 with a valid status, every tool ran exactly once, and
    every run ends recorded."""
    pollers = 2 if driver == "stream" else 3
    for loop in range(runs):
        label = f"race-{backend}-{driver}-{next(_labels)}"
        script, expected_counts, expected_status = (_two_rounds, _looping)[loop % 2](label)
        asked = chat.ask(script)
        thread_id, run_id = asked["threadId"], asked["currentRunId"]
        answers: list[list[dict]] = [[] for _ in range(pollers)]
        threads = [
            threading.Thread(target=_poll_until_end, args=(chat, thread_id, run_id, mine))
            for mine in answers
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

        for response in itertools.chain.from_iterable(answers):
            assert response["status_code"] == 200 and "errors" not in response, response
            assert response["data"]["currentRun"]["status"] in VALID_STATUSES, response
        final = chat.wait_for_run(thread_id, run_id)
        assert final["status"] == expected_status, (loop, final)
        for counted, times in expected_counts.items():
            assert conversation_tools.invocations[counted] == times, (loop, counted)

        record = chat.engine.store.get_run(thread_id, run_id)
        assert record["status"] == expected_status and record.get("ended_at"), record
        assert not record.get("lease_until"), record
        assert not chat.engine.store.get_thread(chat.assistant_id, thread_id).get("active_run_id")
        calls = chat.tool_calls(run_id)
        assert len(calls) == sum(expected_counts.values())
        assert all(call["status"] == "completed" for call in calls), calls


def _events_of_one_run(chat: Any, script: str) -> tuple[list[dict], list[dict]]:
    """(events followed live from the ask on, events replayed after the end)."""
    asked = chat.ask(script)
    thread_id, run_id = asked["threadId"], asked["currentRunId"]
    live: list[dict] = []
    follower = threading.Thread(
        target=lambda: live.extend(chat.engine.subscribe(thread_id, run_id, idle_timeout=30))
    )
    follower.start()
    final = chat.wait_for_run(thread_id, run_id)
    follower.join(30)
    assert not follower.is_alive()
    assert final["status"] == "completed"
    return live, list(chat.engine.subscribe(thread_id, run_id, idle_timeout=1))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_run_emits_its_events_once_in_order_on_both_drivers(make_chat: Any, backend: str) -> None:
    def script() -> str:
        label = f"events-{next(_labels)}"
        return f'call:count {{"label": "{label}-1"}}\ncall2:count {{"label": "{label}-2"}}'

    kinds: dict[str, list[str]] = {}
    for driver in ("poll", "stream"):
        chat = make_chat(backend, driver)
        runs = [_events_of_one_run(chat, script()) for _ in range(2)]
        for live, replayed in runs:
            assert live == replayed  # following live misses nothing, adds nothing
            assert [e["seq"] for e in replayed] == list(range(1, len(replayed) + 1))
            assert len({e["seq"] for e in replayed}) == len(replayed)
        first, second = ([e["type"] for e in replayed] for _, replayed in runs)
        assert first == second  # the same scripted run, the same events
        kinds[driver] = first

        events = runs[0][1]
        assert events[0]["type"] == "run.started" and events[-1]["type"] == "run.completed"
        assert events[-1]["usage"]["total_tokens"] > 0
        rounds = [e for e in events if e["type"] == "run.requires_action"]
        assert [r["round"] for r in rounds] == [1, 2]
        assert [c["name"] for r in rounds for c in r["tool_calls"]] == ["count", "count"]
        done = [e for e in events if e["type"] == "tool_call.completed"]
        assert [e["status"] for e in done] == ["completed", "completed"]
        assert all(e["duration_ms"] >= 0 and e["output"] for e in done)
        if driver == "stream":
            deltas = "".join(e["text"] for e in events if e["type"] == "message.delta")
            assert deltas and deltas in chat.last_message(events[0]["thread_id"])["message"]

    without_deltas = {d: [k for k in ks if k != "message.delta"] for d, ks in kinds.items()}
    assert (
        without_deltas["poll"]
        == without_deltas["stream"]
        == [
            "run.started",
            "run.requires_action",
            "tool_call.started",
            "tool_call.completed",
            "run.requires_action",
            "tool_call.started",
            "tool_call.completed",
            "run.completed",
        ]
    )


def test_the_engine_takes_an_injected_openai_client_and_store(
    openai_sandbox: Any, conversation_tables: dict[str, str], test_logger: Any
) -> None:
    import httpx2 as httpx
    from openai import OpenAI

    from openai_assistant_engine.config import Settings
    from openai_assistant_engine.store.connection import store_for

    sent: list[str] = []
    http = httpx.Client(event_hooks={"request": [lambda request: sent.append(request.url.path)]})
    client = OpenAI(api_key="sk-injected", base_url=openai_sandbox.base_url, http_client=http)
    store = store_for(Settings.load(dict(conversation_tables)))
    # No key, no DynamoDB setting: everything the engine needs is injected.
    engine = OpenaiAssistantEngine(
        test_logger, openai_client=client, store=store, openai_model="gpt-sandbox"
    )
    assert engine.store is store and engine.services.openai_client is client

    from .conversation_calls import Chat

    chat = Chat(
        document=contract_document(),
        logger=test_logger,
        settings={},
        assistant_type="injected",
        assistant_id="asst_injected",
        engine=engine,
    )
    chat.register([], {"model": "gpt-sandbox"})
    asked, final = chat.converse("Hello through injected parts")
    assert final["status"] == "completed"
    assert chat.last_message(asked["threadId"])["message"] == "Echo: Hello through injected parts"
    assert any(path.endswith("/responses") for path in sent), sent
    assert store.get_run(asked["threadId"], asked["currentRunId"])["status"] == "completed"

    # Engines built with the same settings share the process's services (SilvaEngine
    # builds one per request); an engine with injected parts keeps its own.
    one, two = (OpenaiAssistantEngine(test_logger, **conversation_tables) for _ in range(2))
    assert one.services is two.services and engine.services is not one.services


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_run_of_another_thread_is_not_found_and_nothing_is_copied(
    make_chat: Any, backend: str
) -> None:
    """currentRun(threadId: A, runId: a run of thread B) is a 404 that records nothing
    under A (B's messages and usage stay B's)."""
    chat = make_chat(backend, "poll")
    first, _ = chat.converse("Thread A")
    second, _ = chat.converse("Thread B")
    thread_a, run_b = first["threadId"], second["currentRunId"]
    before = chat.message_list(thread_a)

    response = chat.send(
        "getCurrentRun",
        assistantId=chat.assistant_id,
        threadId=thread_a,
        runId=run_b,
        updatedBy=UPDATED_BY,
    )
    assert response["status_code"] == 404, response
    assert chat.engine.store.get_run(thread_a, run_b) is None
    assert chat.message_list(thread_a) == before
