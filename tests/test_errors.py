"""Every bad input gets a list of errors and the right status; no traceback, no secret, ever."""

from __future__ import annotations

import json
import logging
import uuid

import pytest

from openai_assistant_engine import create_tables

from .graphql_calls import new_engine

OPENAI_KEY = "sk-MARKER-secret-123"
AWS_SECRET = "AWS-MARKER-SECRET"

CONFIGURATION_DOCUMENT = """
mutation putAssistant($configuration: JSON) {
    insertUpdateAssistant(
        assistantType: "support", assistantId: "a1", assistantName: "n",
        functions: [], updatedBy: "u", configuration: $configuration
    ) { assistant { assistantId } }
}
"""


@pytest.fixture(scope="module")
def secret_settings(moto_endpoint):
    """One table set for the module: these tests only read, and 404s need no records."""
    setting = {
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": AWS_SECRET,
        "openai_api_key": OPENAI_KEY,
        "dynamodb_endpoint": moto_endpoint,
        "table_prefix": f"errors-{uuid.uuid4().hex[:8]}-",
    }
    create_tables(**setting)
    return setting


@pytest.fixture
def engine(test_logger, secret_settings):
    return new_engine(test_logger, secret_settings)


def failure(engine, status, **params):
    """Send a payload that must fail with ``status``; check the error contract on the text."""
    text = engine.open_assistant_graphql(**params)
    assert isinstance(text, str)
    assert "Traceback" not in text
    assert OPENAI_KEY not in text
    assert AWS_SECRET not in text
    response = json.loads(text)
    assert "data" not in response or response["data"] is None
    assert response["status_code"] == status, response
    assert isinstance(response["errors"], list)
    assert response["errors"]
    for error in response["errors"]:
        assert isinstance(error["message"], str)
        assert error["message"]
        assert error["extensions"]["code"]
    return response


def message_of(response):
    return " ".join(error["message"] for error in response["errors"])


@pytest.mark.parametrize("query", [None, "", "   \n ", 42, ["ping"]])
def test_a_payload_without_a_query_is_a_bad_request(engine, query):
    params = {} if query is None else {"query": query}
    response = failure(engine, 400, **params)
    assert "query" in message_of(response)


def test_a_syntax_error_is_a_bad_request_with_its_location(engine):
    response = failure(engine, 400, query="query ping { ping ")
    assert "Syntax Error" in message_of(response)
    assert response["errors"][0]["locations"]


def test_an_unknown_field_is_a_bad_request(engine):
    response = failure(engine, 400, query="query { nonsense }")
    assert "nonsense" in message_of(response)


def test_an_unknown_operation_name_is_a_bad_request(engine, spec_document):
    response = failure(engine, 400, query=spec_document, operation_name="noSuchOperation")
    assert "noSuchOperation" in message_of(response)


def test_several_operations_without_an_operation_name_is_a_bad_request(engine, spec_document):
    response = failure(engine, 400, query=spec_document, variables={})
    assert "operation name" in message_of(response)


def test_a_missing_required_variable_is_a_bad_request(engine, spec_document):
    response = failure(
        engine, 400, query=spec_document, operation_name="getThread", variables={"threadId": "t"}
    )
    assert "$assistantId" in message_of(response)


@pytest.mark.parametrize(
    ("operation", "variables", "named"),
    [
        ("getAssistantList", {"limit": "abc"}, "$limit"),
        ("getThreadList", {"pageNumber": 1.5}, "$pageNumber"),
        ("getMessageList", {"roles": {"not": "a list"}}, "$roles"),
        ("getAssistant", {"assistantType": "t", "assistantId": ["x"]}, "$assistantId"),
    ],
)
def test_an_ill_typed_variable_is_a_bad_request(engine, spec_document, operation, variables, named):
    response = failure(
        engine, 400, query=spec_document, operation_name=operation, variables=variables
    )
    assert named in message_of(response)


@pytest.mark.parametrize(
    "created_at",
    [
        "yesterday",
        "2024-13-01T00:00:00Z",
        "",
        1714566600,
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:30:00-05:00",
    ],
)
def test_a_bad_datetime_is_a_bad_request(engine, spec_document, created_at):
    variables = {
        "threadId": "t",
        "messageId": "m",
        "runId": "r",
        "role": "user",
        "message": "hi",
        "createdAt": created_at,
    }
    response = failure(
        engine, 400, query=spec_document, operation_name="insertUpdateMessage", variables=variables
    )
    assert "DateTime" in message_of(response) or "createdAt" in message_of(response)


@pytest.mark.parametrize(
    ("variables", "says"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('"text"', "JSON object"),
        ([{"limit": 1}], "JSON object"),
        (7, "JSON object"),
    ],
)
def test_variables_that_are_not_a_json_object_are_a_bad_request(
    engine, spec_document, variables, says
):
    response = failure(engine, 400, query=spec_document, operation_name="ping", variables=variables)
    assert says in message_of(response)


@pytest.mark.parametrize("operation", ["getAssistantList", "getThreadList", "getMessageList"])
@pytest.mark.parametrize(
    ("variables", "named"),
    [({"pageNumber": 0}, "pageNumber"), ({"limit": 0}, "limit"), ({"limit": -3}, "limit")],
)
def test_page_number_and_limit_below_one_are_bad_requests(
    engine, spec_document, operation, variables, named
):
    response = failure(
        engine, 400, query=spec_document, operation_name=operation, variables=variables
    )
    assert named in message_of(response)


@pytest.mark.parametrize(
    ("operation", "variables"),
    [
        ("getAssistant", {"assistantType": "support", "assistantId": "missing-a"}),
        ("getThread", {"assistantId": "missing-a", "threadId": "missing-t"}),
        ("getMessage", {"threadId": "missing-t", "messageId": "missing-m"}),
        ("deleteAssistant", {"assistantType": "support", "assistantId": "missing-a"}),
        ("deleteThread", {"assistantId": "missing-a", "threadId": "missing-t"}),
        ("deleteMessage", {"threadId": "missing-t", "messageId": "missing-m"}),
    ],
)
def test_a_missing_record_is_not_found_and_named_by_its_keys(
    engine, spec_document, operation, variables
):
    response = failure(
        engine, 404, query=spec_document, operation_name=operation, variables=variables
    )
    assert response["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    text = message_of(response)
    assert "not found" in text
    for value in variables.values():
        assert value in text


@pytest.mark.parametrize(
    ("operation", "variables", "named"),
    [
        ("getAssistant", {"assistantType": "", "assistantId": "a1"}, "assistant_type"),
        ("deleteAssistant", {"assistantType": "support", "assistantId": ""}, "assistant_id"),
        ("getThread", {"assistantId": "a1", "threadId": ""}, "thread_id"),
        ("deleteThread", {"assistantId": "", "threadId": "t1"}, "assistant_id"),
        ("getMessage", {"threadId": "", "messageId": "m1"}, "thread_id"),
        ("deleteMessage", {"threadId": "t1", "messageId": ""}, "message_id"),
        (
            "insertUpdateAssistant",
            {
                "assistantType": "",
                "assistantId": "a1",
                "assistantName": "n",
                "functions": [],
                "updatedBy": "u",
            },
            "assistant_type",
        ),
        (
            "insertUpdateThread",
            {"assistantId": "a1", "threadId": "", "assistantType": "support", "updatedBy": "u"},
            "thread_id",
        ),
        (
            "insertUpdateMessage",
            {
                "threadId": "t1",
                "messageId": "",
                "runId": "r1",
                "role": "user",
                "message": "hi",
                "createdAt": "2024-05-01T12:30:00Z",
            },
            "message_id",
        ),
    ],
)
def test_an_empty_key_is_a_bad_request_naming_it(
    engine, spec_document, operation, variables, named
):
    response = failure(
        engine, 400, query=spec_document, operation_name=operation, variables=variables
    )
    assert named in message_of(response)


@pytest.mark.parametrize("functions", [[1], ["module.Class.fn"], [{"module_name": "m"}, None]])
def test_functions_entries_that_are_not_objects_are_bad_requests(engine, spec_document, functions):
    variables = {
        "assistantType": "support",
        "assistantId": "a1",
        "assistantName": "n",
        "functions": functions,
        "updatedBy": "u",
    }
    response = failure(
        engine,
        400,
        query=spec_document,
        operation_name="insertUpdateAssistant",
        variables=variables,
    )
    assert "functions[" in message_of(response)


@pytest.mark.parametrize("configuration", [[1, 2], "text", 3])
def test_a_configuration_that_is_not_an_object_is_a_bad_request(engine, configuration):
    response = failure(
        engine, 400, query=CONFIGURATION_DOCUMENT, variables={"configuration": configuration}
    )
    assert "configuration" in message_of(response)


@pytest.mark.parametrize(
    ("run", "says"),
    [
        ({"status": "queued"}, "run_id"),
        ({"run_id": ""}, "run_id"),
        ([{"run_id": "r1"}], "run_id"),
        ({"run_id": "r1", "created_at": "not a time"}, "created_at"),
        ({"run_id": "r1", "created_at": 1e30}, "created_at"),
        ({"run_id": "r1", "completed_at": True}, "completed_at"),
        ({"run_id": "r1", "completed_at": "0001-01-01T00:00:00+05:00"}, "completed_at"),
        ({"run_id": "r1", "status": 5}, "status"),
        ({"run_id": "r1", "model": {"name": "gpt"}}, "model"),
        ({"run_id": "r1", "error": ["boom"]}, "error"),
        ({"run_id": "r1", "usage": [1, 2]}, "usage"),
        ({"run_id": "r1", "tool_rounds": 99}, "tool_rounds"),
        ({"run_id": "r1", "backend_state": {"response_ids": []}}, "backend_state"),
    ],
)
def test_a_malformed_run_is_a_bad_request(engine, spec_document, run, says):
    variables = {
        "assistantId": "a1",
        "threadId": "t1",
        "assistantType": "support",
        "updatedBy": "u",
        "run": run,
    }
    response = failure(
        engine, 400, query=spec_document, operation_name="insertUpdateThread", variables=variables
    )
    assert says in message_of(response)


def test_a_secret_echoed_by_the_caller_is_redacted_from_the_response(engine, spec_document):
    variables = {"threadId": f"t-{OPENAI_KEY}", "messageId": AWS_SECRET}
    response = failure(
        engine, 404, query=spec_document, operation_name="getMessage", variables=variables
    )
    assert "[redacted]" in message_of(response)


def test_missing_tables_are_an_upstream_error_that_says_to_create_them(
    test_logger, secret_settings, spec_document
):
    engine = new_engine(test_logger, {**secret_settings, "table_prefix": "never-created-"})
    for operation, variables in [
        ("getAssistant", {"assistantType": "support", "assistantId": "a1"}),
        ("getAssistantList", {"assistantType": "support"}),
        ("getMessageList", {}),
    ]:
        response = failure(
            engine, 502, query=spec_document, operation_name=operation, variables=variables
        )
        assert response["errors"][0]["extensions"]["code"] == "UPSTREAM_ERROR"
        text = message_of(response)
        assert "never-created-" in text
        assert "create_tables" in text
        assert "oae tables create" in text


def test_an_unexpected_resolver_failure_is_a_500_with_a_reference_and_a_logged_traceback(
    engine, spec_document, monkeypatch, caplog
):
    def explode(*_args, **_kwargs):
        raise RuntimeError(f"internal detail {OPENAI_KEY}")

    monkeypatch.setattr(engine.store, "get_assistant", explode)
    with caplog.at_level(logging.ERROR, logger="oae.tests"):
        response = failure(
            engine,
            500,
            query=spec_document,
            operation_name="getAssistant",
            variables={"assistantType": "support", "assistantId": "a1"},
        )
    (error,) = response["errors"]
    assert error["extensions"]["code"] == "INTERNAL_ERROR"
    reference = error["extensions"]["reference"]
    assert reference in error["message"]
    assert "internal detail" not in error["message"]
    assert any(reference in record.getMessage() and record.exc_info for record in caplog.records)


def test_a_document_nested_past_the_parser_s_recursion_is_a_400() -> None:
    # graphql-core's parser recurses per level: a deep list value exhausts the stack.
    from openai_assistant_engine import OpenaiAssistantEngine

    depth = 2000  # 4,000 tokens: within the token limit, past the recursion limit
    query = "{ ping(a: " + "[" * depth + "]" * depth + ") }"
    response = OpenaiAssistantEngine(None, region_name="us-east-1").execute({"query": query})
    assert response["status_code"] == 400
    assert "nests too deeply" in response["errors"][0]["message"]


def test_a_string_cut_inside_an_escape_is_a_400() -> None:
    # graphql-core's lexer raises IndexError (not a syntax error) on such a string.
    from openai_assistant_engine import OpenaiAssistantEngine

    query = '{ ping(assistantType: "\\ud800\\udc0'
    response = OpenaiAssistantEngine(None, region_name="us-east-1").execute({"query": query})
    assert response["status_code"] == 400
    assert "escape sequence" in response["errors"][0]["message"]
