"""SilvaEngine's calling conventions: operationName, Decimal numbers, extra keys, text variables."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from .graphql_calls import data_of, new_engine

SILVAENGINE_EXTRAS = {
    "endpoint_id": "api-1",
    "area": "core",
    "path": "/core/api-1/open_assistant_graphql",
    "connection_id": "abc123=",
    "stage": "beta",
    "api_key": "not-used",
    "context": {"headers": {"Content-Type": "application/json"}, "channel": "api", "area": "core"},
    "metadata": {"anything": [1, 2]},
}


@pytest.fixture
def engine(test_logger, dynamo_settings):
    return new_engine(test_logger, dynamo_settings)


def _send(engine, **params):
    text = engine.open_assistant_graphql(**params)
    assert isinstance(text, str)
    return json.loads(text)


def _seed_assistants(engine, spec_document, count):
    for position in range(count):
        data_of(
            _send(
                engine,
                query=spec_document,
                operation_name="insertUpdateAssistant",
                variables={
                    "assistantType": "support",
                    "assistantId": f"a{position}",
                    "assistantName": f"bot {position}",
                    "functions": [],
                    "updatedBy": "seed",
                },
            )
        )


def test_operation_name_may_be_sent_as_operationName(engine, spec_document):
    response = _send(engine, query=spec_document, operationName="ping", variables={})
    assert data_of(response)["ping"].startswith("pong")


def test_operation_name_may_be_sent_as_operation_name(engine, spec_document):
    response = _send(engine, query=spec_document, operation_name="ping")
    assert data_of(response)["ping"].startswith("pong")


def test_decimal_page_arguments_are_accepted_as_ints(engine, spec_document):
    _seed_assistants(engine, spec_document, 3)
    response = _send(
        engine,
        query=spec_document,
        operation_name="getAssistantList",
        variables={"assistantType": "support", "pageNumber": Decimal("2"), "limit": Decimal("2")},
    )
    page = data_of(response)["assistantList"]
    assert [a["assistantId"] for a in page["assistantList"]] == ["a2"]
    assert (page["pageNumber"], page["pageSize"], page["total"]) == (2, 2, 3)


def test_decimal_floats_inside_functions_configuration_come_back_as_numbers(engine, spec_document):
    functions = [
        {
            "module_name": "acme.tools",
            "class_name": "Tools",
            "function_name": "price",
            "configuration": {
                "rate": Decimal("0.15"),
                "retries": Decimal("3"),
                "nested": [{"factor": Decimal("-1.5E+3")}, Decimal("2.50")],
            },
        }
    ]
    response = _send(
        engine,
        query=spec_document,
        operation_name="insertUpdateAssistant",
        variables={
            "assistantType": "support",
            "assistantId": "decimal-1",
            "assistantName": "decimal",
            "functions": functions,
            "updatedBy": "silvaengine",
        },
    )
    configuration = data_of(response)["insertUpdateAssistant"]["assistant"]["functions"][0][
        "configuration"
    ]
    assert configuration == {"rate": 0.15, "retries": 3, "nested": [{"factor": -1500}, 2.5]}
    assert isinstance(configuration["retries"], int)


def test_decimal_inside_a_run_is_recorded(engine, spec_document):
    response = _send(
        engine,
        query=spec_document,
        operation_name="insertUpdateThread",
        variables={
            "assistantId": "a1",
            "threadId": "t1",
            "assistantType": "support",
            "updatedBy": "silvaengine",
            "run": {"run_id": "r1", "status": "completed", "usage": {"total_tokens": Decimal("7")}},
        },
    )
    (run,) = data_of(response)["insertUpdateThread"]["thread"]["runs"]
    assert run["usage"] == {"total_tokens": 7}


def test_unknown_silvaengine_params_are_accepted_and_ignored(engine, spec_document):
    response = _send(
        engine, query=spec_document, operation_name="ping", variables={}, **SILVAENGINE_EXTRAS
    )
    assert data_of(response)["ping"].startswith("pong")


def test_variables_may_be_a_json_string(engine, spec_document):
    _seed_assistants(engine, spec_document, 3)
    response = _send(
        engine,
        query=spec_document,
        operation_name="getAssistant",
        variables=json.dumps({"assistantType": "support", "assistantId": "a1"}),
    )
    assert data_of(response)["assistant"]["assistantName"] == "bot 1"


@pytest.mark.parametrize("variables", [None, "", {}])
def test_absent_variables_are_an_empty_object(engine, spec_document, variables):
    response = _send(engine, query=spec_document, operation_name="ping", variables=variables)
    assert data_of(response)["ping"].startswith("pong")
