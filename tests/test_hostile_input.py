"""Hostile input through the public contract: assistant configuration keys the engine owns,
bodies JSON cannot read (Lambda), and documents that cost more than their size suggests."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from openai_assistant_engine import aws_lambda
from openai_assistant_engine.edge.document_cache import (
    MAX_DEFINITIONS,
    MAX_OPERATIONS,
    MAX_TOKENS,
    DocumentCache,
)
from openai_assistant_engine.schema import build_schema

from .conversation_calls import RESPONSES_CONFIGURATION
from .graphql_calls import call, new_engine

EVENTS = Path(__file__).parent / "events"
# The contract's insertUpdateAssistant, selecting the stored configuration too.
CONFIGURED_ASSISTANT_DOCUMENT = """
mutation putConfiguredAssistant(
    $assistantType: String!, $assistantId: String!, $assistantName: String!,
    $functions: [JSON]!, $updatedBy: String!, $configuration: JSON
) {
    insertUpdateAssistant(
        assistantType: $assistantType, assistantId: $assistantId,
        assistantName: $assistantName, functions: $functions,
        updatedBy: $updatedBy, configuration: $configuration
    ) { assistant { assistantId configuration } }
}
"""


def _put_configured(engine: Any, configuration: dict[str, Any]) -> dict[str, Any]:
    variables = {
        "assistantType": "hostile",
        "assistantId": "asst-hostile",
        "assistantName": "hostile",
        "functions": [],
        "updatedBy": "mallory",
        "configuration": configuration,
    }
    return call(engine, CONFIGURED_ASSISTANT_DOCUMENT, "putConfiguredAssistant", variables)


# ------------------------------------------------------------- configuration allow-list (6)
@pytest.mark.parametrize("backend", ["assistants", "responses"])
def test_insert_update_assistant_refuses_engine_owned_and_unknown_keys(
    test_logger, dynamo_settings, backend
):
    engine = new_engine(test_logger, {**dynamo_settings, "openai_backend": backend})
    configuration = {
        "model": "gpt-sandbox",
        "conversation": "conv_of_mallory",
        "input": "say something else",
        "extra_headers": {"X-Stolen": "1"},
        "timeout": 0.001,
        "colour": "red",
    }

    response = _put_configured(engine, configuration)

    assert response["status_code"] == 400
    message = response["errors"][0]["message"]
    for key in ("conversation", "input", "extra_headers", "timeout", "colour"):
        assert repr(key) in message
    assert "'model'" not in message.split("Allowed")[0]  # a known key is not named refused
    # Nothing was written.
    read = call(
        engine,
        'query a { assistant(assistantType: "hostile", assistantId: "asst-hostile") '
        "{ assistantId } }",
        "a",
    )
    assert read["status_code"] == 404


def test_a_parameter_of_the_other_backend_is_refused(test_logger, dynamo_settings):
    engine = new_engine(test_logger, {**dynamo_settings, "openai_backend": "assistants"})

    response = _put_configured(engine, {"max_output_tokens": 100})

    assert response["status_code"] == 400
    assert "'max_output_tokens'" in response["errors"][0]["message"]
    # The same key is fine on an assistant that runs on the Responses backend.
    accepted = _put_configured(engine, {"backend": "responses", "max_output_tokens": 100})
    assert accepted["status_code"] == 200, accepted


@pytest.mark.parametrize(
    ("configuration", "key"),
    [
        ({"model": 4}, "model"),
        ({"tools": {"name": "x"}}, "tools"),
        ({"function_configuration": [1]}, "function_configuration"),
        ({"backend": "completions"}, "backend"),
        ({"conversation_state": "somewhere"}, "conversation_state"),
    ],
)
def test_engine_keys_of_the_wrong_kind_are_refused(
    test_logger, dynamo_settings, configuration, key
):
    engine = new_engine(test_logger, dynamo_settings)

    response = _put_configured(engine, configuration)

    assert response["status_code"] == 400
    assert f"configuration.{key}" in response["errors"][0]["message"]


def test_known_response_parameters_are_accepted(test_logger, dynamo_settings):
    engine = new_engine(test_logger, {**dynamo_settings, "openai_backend": "responses"})
    configuration = {
        "model": "gpt-sandbox",
        "instructions": "Be brief.",
        "temperature": 0.2,
        "top_p": 0.9,
        "max_output_tokens": 200,
        "metadata": {"team": "support"},
        "function_configuration": {"units": "si"},
    }

    response = _put_configured(engine, configuration)

    assert response["status_code"] == 200, response
    assert response["data"]["insertUpdateAssistant"]["assistant"]["configuration"] == configuration


def test_an_old_record_with_engine_owned_keys_cannot_redirect_a_turn(make_chat):
    """A record written before the check (or straight into the table) is filtered when a
    turn is sent: the user's question goes to the user's own conversation."""
    chat = make_chat("responses")
    chat.engine.store.upsert_assistant(
        assistant_type=chat.assistant_type,
        assistant_id=chat.assistant_id,
        updated_by="mallory",
        configuration={
            **RESPONSES_CONFIGURATION,
            "conversation": "conv_of_mallory",
            "input": "not the user's question",
            "background": True,
        },
    )

    asked, run = chat.converse("What is the capital of France?")

    assert run["status"] == "completed", run
    [question] = [m for m in chat.message_list(asked["threadId"]) if m["role"] == "user"]
    assert question["message"] == "What is the capital of France?"
    assert asked["threadId"] != "conv_of_mallory"


# --------------------------------------------------------- bodies JSON cannot read (12)
def _proxy_event(body: str) -> dict[str, Any]:
    event = json.loads((EVENTS / "apigw_v2_post.json").read_text())
    event["body"] = body
    event["isBase64Encoded"] = False
    return event


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("[" * 100_000 + "]" * 100_000, "too deep"),
        ('{"query": "query ping { ping }", "variables": {"n": ' + "7" * 5000 + "}}", "digits"),
    ],
    ids=["nested-100000-deep", "integer-5000-digits"],
)
def test_the_lambda_handler_answers_400_to_json_it_cannot_read(body: str, fragment: str):
    response = aws_lambda.handler(_proxy_event(body))

    assert response["statusCode"] == 400
    answer = json.loads(response["body"])
    assert answer["status_code"] == 400
    assert fragment in answer["errors"][0]["message"]


# ------------------------------------------------------------ costly documents (18)
@pytest.fixture
def bare_engine(test_logger):
    """No table or model is reached: every document here is refused before it runs."""
    return new_engine(test_logger, {"region_name": "us-east-1", "openai_api_key": "sk-none"})


def test_a_document_of_thousands_of_tiny_operations_is_refused_cheaply(bare_engine):
    document = " ".join(f"query q{i} {{ ping }}" for i in range(5_000))[:100_000]

    started = time.process_time()
    response = call(bare_engine, document, "q1")
    cpu_seconds = time.process_time() - started

    assert response["status_code"] == 400
    assert f"the limit is {MAX_TOKENS}" in response["errors"][0]["message"]
    assert cpu_seconds < 1.0  # refused by counting, not after validating 5,000 operations


def test_operation_and_definition_counts_are_limited(bare_engine):
    operations = " ".join(f"query q{i} {{ ping }}" for i in range(MAX_OPERATIONS + 1))
    refused = call(bare_engine, operations, "q1")
    assert refused["status_code"] == 400
    assert f"operations; the limit is {MAX_OPERATIONS}" in refused["errors"][0]["message"]

    fragments = " ".join(f"fragment f{i} on Query {{ ping }}" for i in range(MAX_DEFINITIONS))
    refused = call(bare_engine, f"query q {{ ping }} {fragments}", "q")
    assert refused["status_code"] == 400
    assert f"definitions; the limit is {MAX_DEFINITIONS}" in refused["errors"][0]["message"]


def test_the_document_cache_is_bounded_by_tokens_as_well_as_by_count():
    schema = build_schema().graphql_schema
    cache = DocumentCache(schema, (), size=1_000, max_tokens=500)

    for number in range(40):  # ~ 40 tokens each: 1,600 tokens offered
        fields = " ".join(f"a{i}: ping" for i in range(12))
        document, errors, _introspects = cache.get(f"query q{number} {{ {fields} }}")
        assert document is not None and not errors

    documents, tokens = cache.held
    assert tokens <= 500
    assert 0 < documents < 40
