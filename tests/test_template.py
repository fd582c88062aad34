"""template.yaml: cfn-lint passes, and its tables are the ones the store's models describe."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from openai_assistant_engine.store.models import ConnectionOptions, build_models

TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"

cfnlint = pytest.importorskip("cfnlint", reason="cfn-lint is in the dev extra")


def _template() -> dict[str, Any]:
    from cfnlint.decode import decode_str

    template, matches = decode_str(TEMPLATE.read_text())
    assert not matches, matches
    return template


def _keys(key_schema: list[dict[str, str]]) -> set[tuple[str, str]]:
    return {(key["AttributeName"], key["KeyType"]) for key in key_schema}


def _indexes(entries: list[dict[str, Any]], name_key: str) -> dict[str, Any]:
    return {
        entry[name_key]: (
            _keys(entry["KeySchema" if name_key == "IndexName" else "key_schema"]),
            (entry.get("Projection") or entry.get("projection"))["ProjectionType"],
        )
        for entry in entries
    }


def test_cfn_lint_passes() -> None:
    # cfn-lint has no `python -m` entry; this is what its console script runs.
    command = [sys.executable, "-c", "from cfnlint.runner import main; main()", str(TEMPLATE)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_template_tables_match_the_models() -> None:
    resources = _template()["Resources"]
    tables = {
        str(resource["Properties"]["TableName"]["Fn::Sub"]).replace("${TablePrefix}", ""): resource
        for resource in resources.values()
        if resource["Type"] == "AWS::DynamoDB::Table"
    }
    models = build_models(ConnectionOptions(table_prefix=""))
    assert set(tables) == {model.Meta.table_name for model in models.all()}
    for model in models.all():
        schema = model._get_schema()
        properties = tables[model.Meta.table_name]["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert _keys(properties["KeySchema"]) == _keys(schema["key_schema"])
        defined = {
            (a["AttributeName"], a["AttributeType"]) for a in properties["AttributeDefinitions"]
        }
        assert defined == {
            (a["AttributeName"], a["AttributeType"]) for a in schema["attribute_definitions"]
        }
        for template_key, model_key in (
            ("GlobalSecondaryIndexes", "global_secondary_indexes"),
            ("LocalSecondaryIndexes", "local_secondary_indexes"),
        ):
            assert _indexes(properties.get(template_key, []), "IndexName") == _indexes(
                schema[model_key], "index_name"
            ), (model.Meta.table_name, template_key)


def test_function_reads_the_key_from_a_secret_and_may_touch_only_its_tables() -> None:
    template = _template()
    resources = template["Resources"]
    function = resources["GraphqlFunction"]["Properties"]
    assert function["Handler"] == "openai_assistant_engine.aws_lambda.handler"
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert "OPENAI_API_KEY" not in variables
    assert variables["OPENAI_API_KEY_SECRET_ID"] == {"Ref": "OpenAIApiKeySecret"}
    functions = [r for r in resources.values() if r["Type"] == "AWS::Serverless::Function"]
    assert all(f["Properties"]["Policies"] == [{"Ref": "EngineAccessPolicy"}] for f in functions)
    assert all("Environment" not in f["Properties"] for f in functions)  # Globals' only
    policy = resources["EngineAccessPolicy"]["Properties"]["PolicyDocument"]
    statements = {s["Sid"]: s for s in policy["Statement"]}
    table_statement = statements["EngineTables"]
    assert all("*" not in action for action in table_statement["Action"])
    assert len(table_statement["Resource"]) == 8  # six tables and two index families
    assert statements["RunQueue"]["Action"] == "sqs:SendMessage"


def test_the_run_queue_has_a_dead_letter_queue_and_a_worker_reporting_batch_failures() -> None:
    template = _template()
    resources = template["Resources"]
    queue = resources["RunQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["RunDeadLetterQueue", "Arn"]
    }
    assert queue["RedrivePolicy"]["maxReceiveCount"] == {"Ref": "RunQueueMaxReceives"}
    worker = resources["RunQueueFunction"]["Properties"]
    assert worker["Handler"] == "openai_assistant_engine.aws_lambda.queue_handler"
    # AWS refuses an event source whose queue hides messages for less than the timeout.
    assert queue["VisibilityTimeout"] >= worker["Timeout"]
    [event] = worker["Events"].values()
    assert event["Type"] == "SQS"
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["RUN_QUEUE_URL"] == {"Ref": "RunQueue"}
    assert variables["RUN_QUEUE_MAX_RECEIVES"] == {"Ref": "RunQueueMaxReceives"}


def test_the_api_is_never_public_jwt_or_iam_by_a_parameter() -> None:
    template = _template()
    parameters = template["Parameters"]
    assert parameters["AuthMode"]["AllowedValues"] == ["JWT", "IAM"]
    assert {"JwtIssuer", "JwtAudience", "TenantClaim", "AdminRole"} <= set(parameters)
    resources = template["Resources"]
    routes = [r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Route"]
    assert routes and all(
        route["Properties"]["AuthorizationType"] == {"Fn::If": ["UseJwt", "JWT", "AWS_IAM"]}
        for route in routes
    )
    authorizer = resources["GraphqlJwtAuthorizer"]["Properties"]["JwtConfiguration"]
    assert authorizer == {"Issuer": {"Ref": "JwtIssuer"}, "Audience": [{"Ref": "JwtAudience"}]}
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["IDENTITY_TENANT_CLAIM"] == {"Ref": "TenantClaim"}
    assert variables["IDENTITY_ADMIN_ROLE"] == {"Ref": "AdminRole"}
    permission = resources["GraphqlInvokePermission"]["Properties"]
    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert "/*/POST/graphql" in permission["SourceArn"]["Fn::Sub"]
