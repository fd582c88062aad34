"""Runs of a thread: concurrent writers never lose one, and thousands of runs fit."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from openai_assistant_engine.config import Settings
from openai_assistant_engine.store.connection import store_for

from .graphql_calls import call, data_of, new_engine

WRITERS = 16
THREAD_KEYS = {"assistantId": "asst-1", "threadId": "thread-1"}


def _record_through_graphql(test_logger, settings, spec_document, run):
    engine = new_engine(test_logger, settings)  # one engine per caller, as SilvaEngine does
    return call(
        engine,
        spec_document,
        "insertUpdateThread",
        {**THREAD_KEYS, "assistantType": "support", "updatedBy": "writer", "run": run},
    )


def _in_parallel(count, work):
    """Run ``work(i)`` on ``count`` threads released at the same moment by a barrier."""
    barrier = threading.Barrier(count)

    def start_together(position):
        barrier.wait(timeout=30)
        return work(position)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(start_together, range(count)))


def test_concurrent_insert_update_thread_calls_keep_every_run(
    test_logger, dynamo_settings, spec_document
):
    def record(position):
        run = {"run_id": f"run-{position:02d}", "status": "completed", "usage": {"n": position}}
        return _record_through_graphql(test_logger, dynamo_settings, spec_document, run)

    responses = _in_parallel(WRITERS, record)
    assert [r["status_code"] for r in responses] == [200] * WRITERS

    engine = new_engine(test_logger, dynamo_settings)
    thread = data_of(call(engine, spec_document, "getThread", THREAD_KEYS))["thread"]
    runs = {run["run_id"]: run for run in thread["runs"]}
    assert sorted(runs) == [f"run-{n:02d}" for n in range(WRITERS)]
    assert all(runs[f"run-{n:02d}"]["usage"] == {"n": n} for n in range(WRITERS))


def test_concurrent_record_run_calls_on_one_thread_all_land(dynamo_settings):
    store = store_for(Settings.load(dynamo_settings))

    def record(position):
        return store.record_run(
            thread_id="thread-1",
            run_id=f"run-{position:02d}",
            fields={"status": "queued", "assistant_id": "asst-1", "usage": {"position": position}},
        )

    recorded = _in_parallel(WRITERS, record)
    assert sorted(r["run_id"] for r in recorded) == [f"run-{n:02d}" for n in range(WRITERS)]
    runs = store.list_runs("thread-1")
    assert len(runs) == WRITERS
    assert {run["run_id"]: run["usage"]["position"] for run in runs} == {
        f"run-{n:02d}": n for n in range(WRITERS)
    }


def test_concurrent_updates_of_one_run_keep_other_fields(dynamo_settings):
    store = store_for(Settings.load(dynamo_settings))
    store.record_run(thread_id="thread-1", run_id="run-1", fields={"status": "queued"})
    updates = [
        {"status": "completed"},
        {"usage": {"total_tokens": 9}},
        {"model": "gpt-4o-mini"},
        {"error": "none really"},
    ]
    _in_parallel(
        len(updates),
        lambda i: store.record_run(thread_id="thread-1", run_id="run-1", fields=updates[i]),
    )
    run = store.get_run("thread-1", "run-1")
    assert (run["status"], run["usage"], run["model"], run["error"]) == (
        "completed",
        {"total_tokens": 9},
        "gpt-4o-mini",
        "none really",
    )


def test_record_run_is_idempotent_and_keeps_created_at(dynamo_settings):
    store = store_for(Settings.load(dynamo_settings))
    created = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    first = store.record_run(
        thread_id="t", run_id="r", fields={"status": "queued", "created_at": created}
    )
    again = store.record_run(
        thread_id="t",
        run_id="r",
        fields={"status": "completed", "created_at": created + timedelta(hours=1)},
    )
    assert first["created_at"] == again["created_at"] == created
    assert again["status"] == "completed"
    assert len(store.list_runs("t")) == 1


def test_a_thread_reads_its_runs_with_strong_consistency(
    test_logger, dynamo_settings, spec_document
):
    """The run a writer has just recorded is in the very next read (and in its own answer)."""
    run = {"run_id": "run-1", "status": "queued"}
    data_of(_record_through_graphql(test_logger, dynamo_settings, spec_document, run))
    engine = new_engine(test_logger, dynamo_settings)
    client = engine.store.models.Run._get_connection().connection.client
    queries = []

    def watch(params, **_kwargs):
        queries.append(params)

    client.meta.events.register("before-parameter-build.dynamodb.Query", watch)
    try:
        thread = data_of(call(engine, spec_document, "getThread", THREAD_KEYS))["thread"]
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb.Query", watch)
    assert [r["run_id"] for r in thread["runs"]] == ["run-1"]
    assert queries
    assert all(query.get("ConsistentRead") is True for query in queries)


@pytest.mark.slow
def test_a_thread_with_five_thousand_runs_still_records_the_next(
    test_logger, dynamo_settings, spec_document
):
    existing = 5_000
    engine = new_engine(test_logger, dynamo_settings)
    data_of(
        call(
            engine,
            spec_document,
            "insertUpdateThread",
            {**THREAD_KEYS, "assistantType": "support", "updatedBy": "seed"},
        )
    )
    run_model = engine.store.models.Run
    start = datetime(2020, 1, 1, tzinfo=timezone.utc)
    with run_model.batch_write() as batch:
        for position in range(existing):
            batch.save(
                run_model(
                    "thread-1",
                    f"run-{position:05d}",
                    assistant_id="asst-1",
                    status="completed",
                    usage={"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150},
                    model="gpt-4o-mini",
                    created_at=start + timedelta(seconds=position),
                    completed_at=start + timedelta(seconds=position + 1),
                )
            )

    response = call(
        engine,
        spec_document,
        "insertUpdateThread",
        {
            **THREAD_KEYS,
            "assistantType": "support",
            "updatedBy": "writer",
            "run": {"run_id": "run-next", "status": "queued", "usage": {}},
        },
    )
    runs = data_of(response)["insertUpdateThread"]["thread"]["runs"]
    assert len(runs) == existing + 1
    assert runs[-1]["run_id"] == "run-next"

    thread = data_of(call(engine, spec_document, "getThread", THREAD_KEYS))["thread"]
    assert len(thread["runs"]) == existing + 1
    assert len({run["run_id"] for run in thread["runs"]}) == existing + 1
    assert thread["runs"][0]["usage"]["total_tokens"] == 150


def test_two_claims_of_a_tool_call_in_the_same_microsecond_have_one_winner(
    dynamo_settings, monkeypatch
):
    """Pollers of one process often claim a call in the same microsecond: the claim's
    time cannot tell them apart (the fifty-run race test caught a call run twice)."""
    from openai_assistant_engine.store import repository

    store = store_for(Settings.load(dynamo_settings))
    same_moment = datetime(2026, 12, 4, 21, 0, tzinfo=timezone.utc)
    monkeypatch.setattr(repository, "utc_now", lambda: same_moment)
    claim = {
        "run_id": "run-1",
        "tool_call_id": "call-1",
        "thread_id": "thread-1",
        "name": "count",
        "arguments": "{}",
        "stale_before": same_moment - timedelta(minutes=1),
    }

    outcomes = [store.claim_tool_call(**claim) for _ in range(2)]

    assert [won for won, _ in outcomes] == [True, False]
    assert outcomes[1][1]["status"] == "running"


def test_a_run_end_claim_whose_answer_was_lost_is_its_own_when_botocore_retries_it(
    dynamo_settings,
):
    """DynamoDB wrote the claim, the connection dropped before its answer: botocore sends
    it again, and the retry must see its own claim (before: it lost to itself, and no
    driver cancelled the run at the round cap)."""
    from .dynamo_faults import DynamoFaultProxy

    with DynamoFaultProxy(dynamo_settings["dynamodb_endpoint"]) as dynamo:
        store = store_for(Settings.load({**dynamo_settings, "dynamodb_endpoint": dynamo.endpoint}))
        store.record_run(thread_id="t", run_id="r", fields={"status": "requires_action"})
        dynamo.fail("UpdateItem", count=1, action="drop_after")

        assert store.claim_run_end("t", "r", "cancelled after 2 tool rounds") is True
        assert dynamo.affected(), "the claim's first answer was not dropped"
        assert store.claim_run_end("t", "r", "cancelled after 2 tool rounds") is False

    assert store_for(Settings.load(dynamo_settings)).get_run("t", "r")["error"] == (
        "cancelled after 2 tool rounds"
    )
