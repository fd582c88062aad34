"""The Lambda handler with recorded API Gateway events, against moto and the sandbox."""

from __future__ import annotations

import base64
import copy
import json
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from openai import OpenAI

from openai_assistant_engine import aws_lambda
from openai_assistant_engine.sandbox import SandboxServer

EVENTS = Path(__file__).parent / "events"


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def with_body(event_name: str, payload: dict[str, Any]) -> dict[str, Any]:
    event = load_event(event_name)
    event["body"] = json.dumps(payload)
    event["isBase64Encoded"] = False
    return event


def body_of(response: dict[str, Any]) -> dict[str, Any]:
    body = json.loads(response["body"])
    assert body["status_code"] == response["statusCode"]
    return body


@pytest.fixture
def lambda_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The function's environment as a deployment sets it, and a container not yet warm.

    No tables: most cases never reach DynamoDB (``lambda_tables`` makes them).
    """
    monkeypatch.setenv("DYNAMODB_ENDPOINT", moto_endpoint)
    monkeypatch.setenv("REGION_NAME", "us-east-1")
    monkeypatch.setenv("TABLE_PREFIX", "no-tables-")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "oae-test")
    aws_lambda._ENGINE.reset()
    yield
    aws_lambda._ENGINE.reset()


@pytest.fixture
def lambda_tables(
    lambda_env: None, dynamo_settings: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in dynamo_settings.items():
        monkeypatch.setenv(name.upper(), value)


def assert_cors(response: dict[str, Any]) -> None:
    assert response["headers"]["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response["headers"]["Access-Control-Allow-Methods"]


# ------------------------------------------------------------------------------ event shapes
@pytest.mark.parametrize(
    "event_name", ["apigw_v1_post.json", "apigw_v2_post.json", "apigw_v2_post_base64.json"]
)
def test_ping_through_api_gateway_events(event_name: str, lambda_env: None) -> None:
    response = aws_lambda.handler(load_event(event_name), None)
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert_cors(response)
    assert body_of(response)["data"]["ping"].startswith("pong")


def test_direct_invocation_returns_the_response_dict(lambda_env: None) -> None:
    response = aws_lambda.handler(load_event("direct_invocation.json"), None)
    assert response["status_code"] == 200
    assert response["data"]["ping"].startswith("pong")
    assert "statusCode" not in response


def test_options_preflight_answers_204_with_cors(lambda_env: None) -> None:
    response = aws_lambda.handler(load_event("apigw_v2_options.json"), None)
    assert response["statusCode"] == 204
    assert response["body"] == ""
    assert_cors(response)
    v1 = load_event("apigw_v1_post.json") | {"httpMethod": "OPTIONS", "body": None}
    assert aws_lambda.handler(v1, None)["statusCode"] == 204


# ------------------------------------------------------------------------------ data
def test_data_mutation_and_query_round_trip(lambda_tables: None, spec_document: str) -> None:
    functions = [
        {
            "module_name": "openai_assistant_engine.examples.weather_tools",
            "class_name": "WeatherTools",
            "function_name": "get_weather",
            "configuration": {"default_unit": "celsius", "ratio": 0.5},
        }
    ]
    insert = with_body(
        "apigw_v2_post.json",
        {
            "query": spec_document,
            "operationName": "insertUpdateAssistant",
            "variables": {
                "assistantType": "lambda",
                "assistantId": "asst_lambda",
                "assistantName": "Lambda assistant",
                "functions": functions,
                "updatedBy": "tester",
            },
        },
    )
    response = aws_lambda.handler(insert, None)
    assert response["statusCode"] == 200, response["body"]

    read = with_body(
        "apigw_v1_post.json",
        {
            "query": spec_document,
            "operation_name": "getAssistant",
            "variables": {"assistantType": "lambda", "assistantId": "asst_lambda"},
        },
    )
    response = aws_lambda.handler(read, None)
    assistant = body_of(response)["data"]["assistant"]
    assert assistant["assistantName"] == "Lambda assistant"
    assert assistant["functions"] == functions
    assert assistant["createdAt"].endswith("+00:00")

    direct = aws_lambda.handler(
        {
            "query": spec_document,
            "operation_name": "getAssistantList",
            "variables": {"assistantType": "lambda"},
        },
        None,
    )
    assert direct["data"]["assistantList"]["total"] == 1


def test_engine_status_becomes_the_status_code(lambda_tables: None, spec_document: str) -> None:
    missing = with_body(
        "apigw_v2_post.json",
        {
            "query": spec_document,
            "operationName": "getAssistant",
            "variables": {"assistantType": "none", "assistantId": "none"},
        },
    )
    response = aws_lambda.handler(missing, None)
    assert response["statusCode"] == 404
    assert body_of(response)["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert_cors(response)


# ------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("body", "is_base64", "message"),
    [
        ("{not json", False, "not valid JSON"),
        ("@@not base64@@", True, "base64"),
        (base64.b64encode(b"\xff\xfe{").decode(), True, "not valid JSON"),
        ("[1, 2]", False, "JSON object"),
    ],
)
def test_unreadable_body_is_a_400_in_the_contract_shape(
    body: str, is_base64: bool, message: str, lambda_env: None
) -> None:
    event = load_event("apigw_v2_post.json") | {"body": body, "isBase64Encoded": is_base64}
    response = aws_lambda.handler(event, None)
    assert response["statusCode"] == 400
    assert_cors(response)
    answer = body_of(response)
    assert answer["status_code"] == 400
    assert answer["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert message in answer["errors"][0]["message"]


def test_missing_body_and_non_object_event_are_400(lambda_env: None) -> None:
    event = load_event("apigw_v2_post.json")
    del event["body"]
    assert aws_lambda.handler(event, None)["statusCode"] == 400
    assert aws_lambda.handler(["not", "an", "object"], None)["status_code"] == 400  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ container life
def test_engine_is_built_once_per_container(
    lambda_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[Any] = []
    real_class = aws_lambda.OpenaiAssistantEngine

    def counting_engine(*args: Any, **kwargs: Any) -> Any:
        engine = real_class(*args, **kwargs)
        built.append(engine)
        return engine

    monkeypatch.setattr(aws_lambda, "OpenaiAssistantEngine", counting_engine)
    first = aws_lambda.handler(load_event("apigw_v1_post.json"), None)
    second = aws_lambda.handler(load_event("apigw_v2_post.json"), None)
    assert first["statusCode"] == second["statusCode"] == 200
    assert len(built) == 1
    assert aws_lambda._ENGINE.get() is built[0]


def test_a_failed_build_is_reported_and_retried(
    lambda_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUN_DRIVER", "sometimes")
    response = aws_lambda.handler(load_event("apigw_v2_post.json"), None)
    assert response["statusCode"] == 500
    assert "run_driver" in body_of(response)["errors"][0]["message"]
    monkeypatch.setenv("RUN_DRIVER", "poll")
    assert aws_lambda.handler(load_event("apigw_v2_post.json"), None)["statusCode"] == 200


# ------------------------------------------------------------------------------ the OpenAI key
@pytest.fixture
def secrets(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto_endpoint)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return boto3.client("secretsmanager", region_name="us-east-1")


@pytest.mark.parametrize(
    "secret_string", ["sk-from-the-secret-1234", '{"openai_api_key": "sk-from-the-secret-1234"}']
)
def test_openai_key_is_read_from_secrets_manager_once(
    secret_string: str, secrets: Any, lambda_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"oae-key-{time.monotonic_ns()}"
    secrets.create_secret(Name=name, SecretString=secret_string)
    monkeypatch.setenv(aws_lambda.SECRET_ID_VARIABLE, name)
    response = aws_lambda.handler(load_event("apigw_v2_post.json"), None)
    assert response["statusCode"] == 200
    assert aws_lambda._ENGINE.get().settings.openai_api_key == "sk-from-the-secret-1234"


def test_unreadable_secret_is_a_502_naming_the_setting(
    secrets: Any, lambda_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(aws_lambda.SECRET_ID_VARIABLE, "oae-no-such-secret")
    response = aws_lambda.handler(load_event("apigw_v2_post.json"), None)
    assert response["statusCode"] == 502
    assert aws_lambda.SECRET_ID_VARIABLE in body_of(response)["errors"][0]["message"]


# ------------------------------------------------------------------------------ a conversation
@pytest.fixture
def sandbox_assistant(
    lambda_tables: None, monkeypatch: pytest.MonkeyPatch, spec_document: str
) -> Iterator[dict[str, str]]:
    with SandboxServer() as sandbox:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-sandbox")
        monkeypatch.setenv("OPENAI_BASE_URL", sandbox.base_url)
        monkeypatch.setenv("FUNCTION_MODULE_ALLOWLIST", "openai_assistant_engine.examples")
        monkeypatch.setenv("OPENAI_BACKEND", "assistants")  # an Assistants API assistant
        client = OpenAI(api_key="sk-sandbox", base_url=sandbox.base_url)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the Assistants API's notice
            assistant = client.beta.assistants.create(model="gpt-4o-mini", name="weather")
        variables = {
            "assistantType": "lambda",
            "assistantId": assistant.id,
            "assistantName": "weather",
            "functions": [
                {
                    "module_name": "openai_assistant_engine.examples.weather_tools",
                    "class_name": "WeatherTools",
                    "function_name": "get_weather",
                    "configuration": {},
                }
            ],
            "updatedBy": "tester",
        }
        payload = {
            "query": spec_document,
            "operationName": "insertUpdateAssistant",
            "variables": variables,
        }
        assert (
            aws_lambda.handler(with_body("apigw_v2_post.json", payload), None)["statusCode"] == 200
        )
        yield {"assistantType": "lambda", "assistantId": assistant.id}


def test_ask_open_ai_then_current_run_polls_the_run_to_its_end(
    sandbox_assistant: dict[str, str], spec_document: str
) -> None:
    ask = {
        "query": spec_document,
        "operationName": "askOpenAi",
        "variables": {
            **sandbox_assistant,
            "userQuery": 'weather?\ncall:get_weather {"city": "Sydney"}',
            "updatedBy": "tester",
        },
    }
    response = aws_lambda.handler(with_body("apigw_v2_post.json", ask), None)
    started = body_of(response)["data"]["askOpenAi"]
    assert response["statusCode"] == 200

    poll = {
        "query": spec_document,
        "operationName": "getCurrentRun",
        "variables": {
            "assistantId": sandbox_assistant["assistantId"],
            "threadId": started["threadId"],
            "runId": started["currentRunId"],
            "updatedBy": "tester",
        },
    }
    # On Lambda nothing runs between events: each currentRun takes the run a step on.
    for _ in range(20):
        run = body_of(aws_lambda.handler(with_body("apigw_v1_post.json", poll), None))
        if run["data"]["currentRun"]["status"] == "completed":
            break
    assert run["data"]["currentRun"]["status"] == "completed"
    assert run["data"]["currentRun"]["usage"]["total_tokens"] > 0

    last = aws_lambda.handler(
        {
            "query": spec_document,
            "operation_name": "getLastMessage",
            "variables": {"threadId": started["threadId"], "role": "assistant"},
        },
        None,
    )
    assert "Sydney" in last["data"]["lastMessage"]["message"]


def test_events_are_not_modified(lambda_env: None) -> None:
    event = load_event("apigw_v2_post_base64.json")
    original = copy.deepcopy(event)
    aws_lambda.handler(event, None)
    assert event == original
