"""The Lambda handler takes its caller from API Gateway's authorizer context."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from openai_assistant_engine import aws_lambda
from openai_assistant_engine.identity.api_keys import hash_key, new_key

from .test_aws_lambda import body_of, lambda_env, lambda_tables, load_event, with_body

__all__ = ["lambda_env", "lambda_tables"]  # the fixtures, shared with test_aws_lambda

INSERT = """mutation { insertUpdateThread(assistantId: "a", threadId: "lambda-thread",
    assistantType: "t", updatedBy: "") { thread { threadId updatedBy } } }"""
GET = """query { thread(assistantId: "a", threadId: "lambda-thread") { threadId updatedBy } }"""
ADMIN_ONLY = """mutation { deleteAssistant(assistantType: "t", assistantId: "none") { ok } }"""


def _jwt_event(query: str, **claims: Any) -> dict[str, Any]:
    event = load_event("apigw_v2_jwt_authorizer.json")
    event["body"] = json.dumps({"query": query})
    event["requestContext"]["authorizer"]["jwt"]["claims"].update(claims)
    return event


def test_http_api_jwt_claims_name_the_caller(lambda_tables: None) -> None:
    claims = load_event("apigw_v2_jwt_authorizer.json")["requestContext"]["authorizer"]
    user = claims["jwt"]["claims"]["sub"]
    made = body_of(aws_lambda.handler(_jwt_event(INSERT), None))
    assert made["data"]["insertUpdateThread"]["thread"]["updatedBy"] == user
    assert body_of(aws_lambda.handler(_jwt_event(GET), None))["data"]["thread"]["threadId"]
    # Another tenant's caller, and another user of the tenant who is no admin: not found.
    for other in ({"tenant": "globex"}, {"sub": "someone-else", "cognito:groups": "[]"}):
        answer = aws_lambda.handler(_jwt_event(GET, **other), None)
        assert answer["statusCode"] == 404, answer
    # "[admin support]" (how API Gateway passes a list claim) holds the admin role.
    response = aws_lambda.handler(_jwt_event(ADMIN_ONLY), None)
    assert response["statusCode"] == 404  # allowed: the assistant just does not exist
    response = aws_lambda.handler(_jwt_event(ADMIN_ONLY, **{"cognito:groups": "[support]"}), None)
    assert response["statusCode"] == 403


def test_lambda_authorizer_context_names_the_caller(lambda_tables: None) -> None:
    event = with_body("apigw_v2_post.json", {"query": INSERT})
    event["requestContext"]["authorizer"] = {"lambda": {"user": "svc-7", "tenant": "acme"}}
    made = body_of(aws_lambda.handler(event, None))
    assert made["data"]["insertUpdateThread"]["thread"]["updatedBy"] == "svc-7"
    v1 = with_body("apigw_v1_post.json", {"query": GET})
    v1["requestContext"]["authorizer"] = {"principalId": "svc-7", "tenant": "acme"}
    assert body_of(aws_lambda.handler(v1, None))["data"]["thread"]["updatedBy"] == "svc-7"
    v1["requestContext"]["authorizer"] = {"principalId": "svc-8", "tenant": "acme"}
    assert aws_lambda.handler(v1, None)["statusCode"] == 404


def test_an_authorizer_context_without_a_tenant_is_401(lambda_tables: None) -> None:
    event = _jwt_event(GET)
    del event["requestContext"]["authorizer"]["jwt"]["claims"]["tenant"]
    response = aws_lambda.handler(event, None)
    assert response["statusCode"] == 401
    assert "tenant" in body_of(response)["errors"][0]["message"]


def test_api_keys_in_the_authorization_header(
    lambda_tables: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = new_key()
    entry = {"hash": hash_key(key), "user": "kim", "tenant": "acme", "admin": False}
    monkeypatch.setenv("API_KEYS", json.dumps([entry]))
    event = with_body("apigw_v2_post.json", {"query": INSERT})
    # Neither a missing header nor a caller named in the body gets through.
    assert aws_lambda.handler(event, None)["statusCode"] == 401
    forged = copy.deepcopy(event)
    forged["body"] = json.dumps(
        {"query": INSERT, "identity": {"sub": "boss", "tenant": "acme", "roles": ["admin"]}}
    )
    assert aws_lambda.handler(forged, None)["statusCode"] == 401
    event["headers"]["authorization"] = f"Bearer {key}"
    made = body_of(aws_lambda.handler(event, None))
    assert made["data"]["insertUpdateThread"]["thread"]["updatedBy"] == "kim"
    event["headers"]["authorization"] = f"Bearer {new_key()}"
    response = aws_lambda.handler(event, None)
    assert response["statusCode"] == 401 and key not in response["body"]
