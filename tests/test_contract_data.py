"""The spec's GraphQL document, sent verbatim, runs every data operation and round-trips values.

The document is the packaged contract (the ``spec_document`` fixture), the spec's text plus
an optional ``$configuration`` on insertUpdateAssistant; ``test_contract_files.py`` runs
the spec's own text. Operations that need OpenAI (askOpenAi, getLastMessage,
getLiveMessages, getCurrentRun) are tested elsewhere, against the sandbox.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from graphql import OperationDefinitionNode, parse, validate

from openai_assistant_engine.schema import build_schema

from .graphql_calls import call, data_of, new_engine

DATA_OPERATIONS = {
    "ping",
    "getAssistant",
    "getAssistantList",
    "insertUpdateAssistant",
    "deleteAssistant",
    "getThread",
    "getThreadList",
    "insertUpdateThread",
    "deleteThread",
    "getMessage",
    "getMessageList",
    "insertUpdateMessage",
    "deleteMessage",
}
OPENAI_OPERATIONS = {"askOpenAi", "getLastMessage", "getLiveMessages", "getCurrentRun"}

FUNCTIONS = [
    {
        "module_name": "acme.tools.weather",
        "class_name": "Weather",
        "function_name": "forecast",
        "configuration": {
            "units": "metric",
            "threshold": 0.1,
            "scale": -2.5e-7,
            "big": 12345678901234567,
            "nested": {"levels": [1, 2.75, {"deep": "Zürich ☀️ 天気"}], "on": True, "off": None},
        },
    },
    {
        "module_name": "acme.crm",
        "class_name": "Crm",
        "function_name": "lookup",
        "configuration": {},
    },
]

CONFIGURATION_DOCUMENT = """
mutation putAssistant(
    $assistantType: String!, $assistantId: String!, $assistantName: String!,
    $functions: [JSON]!, $updatedBy: String!, $configuration: JSON
) {
    insertUpdateAssistant(
        assistantType: $assistantType, assistantId: $assistantId,
        assistantName: $assistantName, functions: $functions,
        updatedBy: $updatedBy, configuration: $configuration
    ) {
        assistant { assistantId assistantName functions configuration createdAt updatedAt }
    }
}
query readConfiguration($assistantType: String!, $assistantId: String!) {
    assistant(assistantType: $assistantType, assistantId: $assistantId) {
        assistantName functions configuration createdAt updatedAt
    }
}
"""

VOICE_DOCUMENT = """
mutation putVoiceThread($assistantId: String!, $threadId: String!, $isVoice: Boolean) {
    insertUpdateThread(
        assistantId: $assistantId, threadId: $threadId, assistantType: "support",
        updatedBy: "voice-test", isVoice: $isVoice
    ) { thread { threadId isVoice } }
}
"""


@pytest.fixture
def engine(test_logger, dynamo_settings):
    return new_engine(test_logger, dynamo_settings)


def _put_assistant(engine, spec_document, assistant_id="asst-1", **overrides):
    variables = {
        "assistantType": "support",
        "assistantId": assistant_id,
        "assistantName": "Ĉu vi parolas? — helper",
        "functions": FUNCTIONS,
        "updatedBy": "alice",
        **overrides,
    }
    response = call(engine, spec_document, "insertUpdateAssistant", variables)
    return data_of(response)["insertUpdateAssistant"]["assistant"]


def _instant(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    assert parsed.utcoffset() is not None, f"{text!r} has no offset"
    return parsed


def test_spec_document_validates_against_the_schema(spec_document):
    document = parse(spec_document)
    assert validate(build_schema().graphql_schema, document) == []
    names = {d.name.value for d in document.definitions if isinstance(d, OperationDefinitionNode)}
    assert names == DATA_OPERATIONS | OPENAI_OPERATIONS


def test_ping_answers_pong(engine, spec_document):
    data = data_of(call(engine, spec_document, "ping", {}))
    assert data["ping"].startswith("pong")


def test_assistant_round_trips_functions_with_floats_and_unicode(engine, spec_document):
    written = _put_assistant(engine, spec_document)
    assert written["functions"] == FUNCTIONS
    assert written["assistantName"] == "Ĉu vi parolas? — helper"

    read = data_of(
        call(
            engine,
            spec_document,
            "getAssistant",
            {"assistantType": "support", "assistantId": "asst-1"},
        )
    )["assistant"]
    assert read == written
    assert read["functions"][0]["configuration"]["threshold"] == 0.1
    assert read["functions"][0]["configuration"]["big"] == 12345678901234567
    assert read["assistantType"] == "support"
    assert read["updatedBy"] == "alice"
    assert _instant(read["createdAt"]) == _instant(read["updatedAt"])


def test_assistant_configuration_round_trips_and_survives_updates_without_it(engine, spec_document):
    configuration = {
        "model": "gpt-4o-mini",
        "instructions": "Réponds en français. 🙂",
        "temperature": 0.2,
        "tools": [{"type": "function", "function": {"name": "forecast", "parameters": {}}}],
        "top_p": 0.9,
    }
    variables = {
        "assistantType": "support",
        "assistantId": "asst-cfg",
        "assistantName": "configured",
        "functions": FUNCTIONS[:1],
        "updatedBy": "alice",
        "configuration": configuration,
    }
    written = data_of(call(engine, CONFIGURATION_DOCUMENT, "putAssistant", variables))
    assert written["insertUpdateAssistant"]["assistant"]["configuration"] == configuration

    # The spec's own mutation does not send configuration: an update through it keeps it.
    _put_assistant(engine, spec_document, assistant_id="asst-cfg", assistantName="renamed")
    read = data_of(
        call(
            engine,
            CONFIGURATION_DOCUMENT,
            "readConfiguration",
            {"assistantType": "support", "assistantId": "asst-cfg"},
        )
    )["assistant"]
    assert read["configuration"] == configuration
    assert read["assistantName"] == "renamed"
    assert read["functions"] == FUNCTIONS


def test_insert_update_assistant_updates_in_place_keeping_created_at(engine, spec_document):
    first = _put_assistant(engine, spec_document)
    second = _put_assistant(
        engine, spec_document, assistantName="second name", functions=[], updatedBy="bob"
    )
    assert second["assistantName"] == "second name"
    assert second["functions"] == []
    assert second["updatedBy"] == "bob"
    assert second["createdAt"] == first["createdAt"]
    assert _instant(second["updatedAt"]) > _instant(first["updatedAt"])

    listed = data_of(call(engine, spec_document, "getAssistantList", {}))["assistantList"]
    assert listed["total"] == 1


def test_delete_assistant_removes_the_record(engine, spec_document):
    _put_assistant(engine, spec_document)
    keys = {"assistantType": "support", "assistantId": "asst-1"}
    deleted = data_of(call(engine, spec_document, "deleteAssistant", keys))
    assert deleted == {"deleteAssistant": {"ok": True}}
    assert call(engine, spec_document, "getAssistant", keys)["status_code"] == 404


def _put_thread(engine, spec_document, run=None, thread_id="thread-1", updated_by="alice"):
    variables = {
        "assistantId": "asst-1",
        "threadId": thread_id,
        "assistantType": "support",
        "updatedBy": updated_by,
    }
    if run is not None:
        variables["run"] = run
    response = call(engine, spec_document, "insertUpdateThread", variables)
    return data_of(response)["insertUpdateThread"]["thread"]


def test_thread_records_a_run_given_as_json(engine, spec_document):
    run = {
        "run_id": "run-1",
        "status": "completed",
        "usage": {"prompt_tokens": 12, "completion_tokens": 30, "total_tokens": 42},
        "model": "gpt-4o-mini",
        "created_at": "2024-05-01T12:30:00Z",
        "completed_at": "2024-05-01T14:31:05+02:00",
    }
    thread = _put_thread(engine, spec_document, run=run)
    assert thread["threadId"] == "thread-1"
    assert thread["updatedBy"] == "alice"
    assert len(thread["runs"]) == 1
    recorded = thread["runs"][0]
    assert recorded["run_id"] == "run-1"
    assert recorded["status"] == "completed"
    assert recorded["usage"] == run["usage"]
    assert recorded["model"] == "gpt-4o-mini"
    assert _instant(recorded["created_at"]) == datetime(2024, 5, 1, 12, 30, tzinfo=timezone.utc)
    assert _instant(recorded["completed_at"]) == datetime(
        2024, 5, 1, 12, 31, 5, tzinfo=timezone.utc
    )

    read = data_of(
        call(engine, spec_document, "getThread", {"assistantId": "asst-1", "threadId": "thread-1"})
    )["thread"]
    assert read["runs"] == thread["runs"]


def test_thread_update_keeps_runs_created_at_and_adds_new_runs(engine, spec_document):
    first = _put_thread(engine, spec_document, run={"run_id": "run-1", "status": "queued"})
    # The same run again, now finished: updated in place, not duplicated.
    _put_thread(
        engine,
        spec_document,
        run={"run_id": "run-1", "status": "completed", "usage": {"total_tokens": 5}},
    )
    # An update without a run keeps the runs.
    plain = _put_thread(engine, spec_document, updated_by="bob")
    assert plain["updatedBy"] == "bob"
    assert plain["createdAt"] == first["createdAt"]
    assert [(r["run_id"], r["status"], r["usage"]) for r in plain["runs"]] == [
        ("run-1", "completed", {"total_tokens": 5})
    ]
    later = _put_thread(engine, spec_document, run={"run_id": "run-2", "status": "queued"})
    assert [r["run_id"] for r in later["runs"]] == ["run-1", "run-2"]


def test_thread_assistant_is_the_assistant_record_as_json(engine, spec_document):
    _put_assistant(engine, spec_document)
    engine_configuration = {"model": "gpt-4o"}
    call(
        engine,
        CONFIGURATION_DOCUMENT,
        "putAssistant",
        {
            "assistantType": "support",
            "assistantId": "asst-1",
            "assistantName": "Ĉu vi parolas? — helper",
            "functions": FUNCTIONS,
            "updatedBy": "alice",
            "configuration": engine_configuration,
        },
    )
    thread = _put_thread(engine, spec_document)
    assistant = thread["assistant"]
    assert assistant["assistant_type"] == "support"
    assert assistant["assistant_id"] == "asst-1"
    assert assistant["assistant_name"] == "Ĉu vi parolas? — helper"
    assert assistant["functions"] == FUNCTIONS
    assert assistant["configuration"] == engine_configuration
    _instant(assistant["created_at"])  # datetimes inside JSON carry an offset too


def test_thread_without_an_assistant_record_has_null_assistant(engine, spec_document):
    assert _put_thread(engine, spec_document)["assistant"] is None


def test_thread_is_voice_round_trips_and_is_kept_by_updates_without_it(engine, spec_document):
    keys = {"assistantId": "asst-1", "threadId": "voice-1"}
    put = data_of(call(engine, VOICE_DOCUMENT, "putVoiceThread", {**keys, "isVoice": True}))
    assert put["insertUpdateThread"]["thread"]["isVoice"] is True

    assert data_of(call(engine, spec_document, "getThread", keys))["thread"]["isVoice"] is True
    updated = _put_thread(engine, spec_document, thread_id="voice-1")
    assert updated["isVoice"] is True

    assert _put_thread(engine, spec_document, thread_id="text-1")["isVoice"] is False


def test_delete_thread_removes_the_thread_and_its_runs(engine, spec_document):
    _put_thread(engine, spec_document, run={"run_id": "run-1", "status": "queued"})
    keys = {"assistantId": "asst-1", "threadId": "thread-1"}
    assert data_of(call(engine, spec_document, "deleteThread", keys)) == {
        "deleteThread": {"ok": True}
    }
    assert call(engine, spec_document, "getThread", keys)["status_code"] == 404
    assert engine.store.list_runs("thread-1") == []


@pytest.mark.parametrize(
    ("created_at", "expected"),
    [
        ("2024-05-01T12:30:00Z", datetime(2024, 5, 1, 12, 30, tzinfo=timezone.utc)),
        ("2024-05-01T12:30:00.250000+00:00", datetime(2024, 5, 1, 12, 30, 0, 250000, timezone.utc)),
        ("2024-05-01T08:30:00-04:00", datetime(2024, 5, 1, 12, 30, tzinfo=timezone.utc)),
        ("2024-05-01T12:30:00", datetime(2024, 5, 1, 12, 30, tzinfo=timezone.utc)),
    ],
)
def test_message_created_at_accepts_z_and_offsets_and_answers_with_an_offset(
    engine, spec_document, created_at, expected
):
    variables = {
        "threadId": "thread-1",
        "messageId": "msg-1",
        "runId": "run-1",
        "role": "user",
        "message": "Grüße aus Köln 👋\nline two",
        "createdAt": created_at,
    }
    written = data_of(call(engine, spec_document, "insertUpdateMessage", variables))
    message = written["insertUpdateMessage"]["message"]
    assert _instant(message["createdAt"]) == expected

    read = data_of(
        call(engine, spec_document, "getMessage", {"threadId": "thread-1", "messageId": "msg-1"})
    )["message"]
    assert read == message
    assert read == {
        "threadId": "thread-1",
        "runId": "run-1",
        "messageId": "msg-1",
        "role": "user",
        "message": "Grüße aus Köln 👋\nline two",
        "createdAt": read["createdAt"],
    }


def test_insert_update_message_updates_in_place(engine, spec_document):
    base = {
        "threadId": "thread-1",
        "messageId": "msg-1",
        "runId": "run-1",
        "role": "assistant",
        "createdAt": "2024-05-01T12:30:00Z",
    }
    call(engine, spec_document, "insertUpdateMessage", {**base, "message": "draft"})
    later = datetime(2024, 5, 1, 12, 31, tzinfo=timezone.utc)
    data_of(
        call(
            engine,
            spec_document,
            "insertUpdateMessage",
            {**base, "message": "final", "runId": "run-2", "createdAt": later.isoformat()},
        )
    )
    listed = data_of(call(engine, spec_document, "getMessageList", {"threadId": "thread-1"}))[
        "messageList"
    ]
    assert listed["total"] == 1
    (message,) = listed["messageList"]
    assert (message["message"], message["runId"]) == ("final", "run-2")
    assert _instant(message["createdAt"]) == later


def test_delete_message_removes_only_that_message(engine, spec_document):
    for position in range(2):
        call(
            engine,
            spec_document,
            "insertUpdateMessage",
            {
                "threadId": "thread-1",
                "messageId": f"msg-{position}",
                "runId": "run-1",
                "role": "user",
                "message": f"text {position}",
                "createdAt": (
                    datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=position)
                ).isoformat(),
            },
        )
    keys = {"threadId": "thread-1", "messageId": "msg-0"}
    assert data_of(call(engine, spec_document, "deleteMessage", keys)) == {
        "deleteMessage": {"ok": True}
    }
    assert call(engine, spec_document, "getMessage", keys)["status_code"] == 404
    left = data_of(call(engine, spec_document, "getMessageList", {"threadId": "thread-1"}))
    assert [m["messageId"] for m in left["messageList"]["messageList"]] == ["msg-1"]
