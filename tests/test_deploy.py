"""What SilvaEngine reads from deploy(), and the tables create_tables() makes."""

from __future__ import annotations

import uuid

import boto3
import pytest
from graphql import OperationDefinitionNode, parse

import openai_assistant_engine
from openai_assistant_engine import OpenaiAssistantEngine, create_tables, deploy
from openai_assistant_engine.schema import build_schema
from openai_assistant_engine.store import TABLE_NAMES

KEYS = {
    "assistants": ("assistant_type", "assistant_id"),
    "threads": ("assistant_id", "thread_id"),
    "runs": ("thread_id", "run_id"),
    "messages": ("thread_id", "message_id"),
    "tool_calls": ("run_id", "tool_call_id"),
    "value_parts": ("owner", "part"),
}


@pytest.fixture
def entry():
    (registered,) = deploy()
    return registered


@pytest.fixture
def function(entry):
    return entry["functions"]["open_assistant_graphql"]


def test_deploy_names_the_class_silvaengine_builds(entry):
    assert entry["class"] == "OpenaiAssistantEngine"
    assert getattr(openai_assistant_engine, entry["class"]) is OpenaiAssistantEngine
    assert set(entry["functions"]) == {"open_assistant_graphql"}
    assert callable(OpenaiAssistantEngine.open_assistant_graphql)


def test_deploy_declares_a_post_graphql_request_response_function(function):
    assert function["type"] == "RequestResponse"
    assert function["support_methods"] == ["POST"]
    assert function["is_graphql"] is True
    assert isinstance(function["is_auth_required"], bool)
    assert isinstance(function["settings"], str)
    assert function["settings"]


def test_deploy_lists_every_query_and_mutation_field_of_the_schema(function):
    schema = build_schema().graphql_schema
    queries = [item["action"] for item in function["query"]]
    mutations = [item["action"] for item in function["mutation"]]
    assert sorted(queries) == sorted(schema.query_type.fields)
    assert sorted(mutations) == sorted(schema.mutation_type.fields)
    assert len(set(queries)) == len(queries)
    assert all(item["label"] for item in function["query"] + function["mutation"])


def test_deploy_covers_every_root_field_the_spec_document_uses(function, spec_document):
    allowed = {item["action"] for item in function["query"] + function["mutation"]}
    used = {
        selection.name.value
        for definition in parse(spec_document).definitions
        if isinstance(definition, OperationDefinitionNode)
        for selection in definition.selection_set.selections
    }
    assert used <= allowed
    assert {"askOpenAi", "currentRun", "insertUpdateThread", "deleteMessage"} <= used


def test_create_tables_makes_every_table_once(moto_endpoint):
    setting = {
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "dynamodb_endpoint": moto_endpoint,
        "table_prefix": f"fresh-{uuid.uuid4().hex[:8]}-",
    }
    created = create_tables(**setting)
    assert sorted(created) == sorted(f"{setting['table_prefix']}{name}" for name in TABLE_NAMES)
    assert create_tables(**setting) == []


def test_tables_are_pay_per_request_with_the_documented_keys(dynamo_settings):
    assert create_tables(**dynamo_settings) == []  # the fixture made them already
    client = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=dynamo_settings["dynamodb_endpoint"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    for name in TABLE_NAMES:
        table = client.describe_table(TableName=f"{dynamo_settings['table_prefix']}{name}")["Table"]
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        keys = {key["KeyType"]: key["AttributeName"] for key in table["KeySchema"]}
        assert (keys["HASH"], keys["RANGE"]) == KEYS[name]
