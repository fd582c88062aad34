"""The same bad inputs answered the same way by every transport.

Each case goes through ``oae serve``'s server (over HTTP), the Lambda handler (an HTTP
API v2 event and a REST v1 event) and, when it is a payload the engine can be handed,
``open_assistant_graphql``: status, media type, ``Allow`` and every error's code and
message must be equal. They were not before edge/: Lambda answered JSON whatever the
``Accept`` header, took any Content-Type and body size, treated GET as an empty POST,
and said "no GraphQL 'query'" where the server said "the request body is empty".
"""

from __future__ import annotations

import copy
import http.client
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus, urlencode

import pytest

from openai_assistant_engine import OpenaiAssistantEngine, aws_lambda
from openai_assistant_engine.server import GraphQLServer

EVENTS = Path(__file__).parent / "events"
MAX_BODY = 200_000
JSON_POST = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def setting(moto_endpoint: str) -> dict[str, Any]:
    # No tables: no case reaches DynamoDB.
    return {
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "dynamodb_endpoint": moto_endpoint,
        "table_prefix": "agreement-",
        "max_body_bytes": MAX_BODY,
    }


@pytest.fixture(scope="module")
def engine(setting: dict[str, Any]) -> OpenaiAssistantEngine:
    return OpenaiAssistantEngine(logging.getLogger("oae.tests"), **setting)


@pytest.fixture(scope="module")
def server(engine: OpenaiAssistantEngine) -> Iterator[GraphQLServer]:
    running = GraphQLServer(engine, port=0).start()
    yield running
    running.stop()


@pytest.fixture
def lambda_env(setting: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in setting.items():
        monkeypatch.setenv(name.upper(), str(value))
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "oae-test")
    aws_lambda._ENGINE.reset()
    yield
    aws_lambda._ENGINE.reset()


# ---------------------------------------------------------------------------- answers
def answer(status: int, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """What must agree: status, media type, Allow, and each error's code and message."""
    lowered = {name.lower(): value for name, value in headers.items()}
    document = json.loads(body) if body else {}
    assert document.get("status_code", status) == status
    return {
        "status": status,
        "content-type": lowered.get("content-type"),
        "allow": lowered.get("allow"),
        "cache-control": lowered.get("cache-control"),
        "errors": [
            (error["extensions"]["code"], error["message"]) for error in document.get("errors", ())
        ],
        "data": _shape(document.get("data")),
    }


def _shape(data: Any) -> Any:
    """The fields answered (ping's text holds the time it was answered)."""
    return sorted(data) if isinstance(data, dict) else data


def over_server(server: GraphQLServer, request: dict[str, Any]) -> dict[str, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request(
            request["method"], request["path"], body=request["body"], headers=request["headers"]
        )
        response = connection.getresponse()
        return answer(response.status, dict(response.getheaders()), response.read())
    finally:
        connection.close()


def over_lambda(request: dict[str, Any], version: str) -> dict[str, Any]:
    event = json.loads((EVENTS / f"apigw_{version}_post.json").read_text())
    event = copy.deepcopy(event)
    query = request["path"].partition("?")[2]
    body = request["body"]
    event["body"] = None if body is None else body.decode("utf-8", "surrogatepass")
    event["isBase64Encoded"] = False
    if version == "v2":
        event["requestContext"]["http"]["method"] = request["method"]
        event["rawQueryString"] = query
        event["headers"] = {name.lower(): value for name, value in request["headers"].items()}
    else:
        event["httpMethod"] = request["method"]
        fields: dict[str, list[str]] = {}
        for name, value in (p.partition("=")[::2] for p in query.split("&") if p):
            fields.setdefault(unquote_plus(name), []).append(unquote_plus(value))
        event["multiValueQueryStringParameters"] = fields or None
        event["queryStringParameters"] = {k: v[-1] for k, v in fields.items()} or None
        event["headers"] = dict(request["headers"])
        event["multiValueHeaders"] = {k: [v] for k, v in request["headers"].items()}
    response = aws_lambda.handler(event, None)
    return answer(response["statusCode"], response["headers"], response["body"].encode())


def post(payload: Any, **headers: str) -> dict[str, Any]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return {
        "method": "POST",
        "path": "/graphql",
        "body": body,
        "headers": {**JSON_POST, **headers},
    }


def raw(method: str, path: str, body: bytes | None = None, **headers: str) -> dict[str, Any]:
    return {"method": method, "path": path, "body": body, "headers": headers}


# Payloads: the engine is handed these too (as SilvaEngine's params).
PAYLOADS = {
    "no query": {},
    "empty query": {"query": "  "},
    "query not a string": {"query": 5},
    "query too long": {"query": "{ ping }" + " " * 100_000},
    "variables not JSON": {"query": "{ ping }", "variables": "{nope"},
    "variables a list": {"query": "{ ping }", "variables": [1]},
    "variables too deep": {
        "query": "{ ping }",
        "variables": {"v": json.loads("[" * 80 + "]" * 80)},
    },
    "variable not finite": {"query": "{ ping }", "variables": {"x": float("nan")}},
    "operation name not a string": {"query": "{ ping }", "operationName": 5},
    "unknown operation": {"query": "query a { ping } query b { ping }", "operationName": "c"},
    "both names: operation_name wins": {
        "query": "query a { ping } query b { ping }",
        "operation_name": "a",
        "operationName": "zzz",
    },
    "syntax error": {"query": "{ ping"},
    "unknown field": {"query": "{ nope }"},
    "string cut in an escape": {"query": '{ ping(x: "\\u12'},
}

# Bodies and HTTP: only the two HTTP transports see these.
REQUESTS = {
    "empty body": post(b""),
    "body not JSON": post(b"{nope"),
    "body a JSON array": post(b"[1]"),
    "body nested too deep": post(b"[" * 100_000 + b"]" * 100_000),
    "number with too many digits": post(
        b'{"query": "{ ping }", "variables": {"x": ' + b"1" * 5000 + b"}}"
    ),
    "body over max_body_bytes": post({"query": "{ ping }", "pad": "x" * MAX_BODY}),
    "text/plain body": post({"query": "{ ping }"}, **{"Content-Type": "text/plain"}),
    "no Content-Type": raw("POST", "/graphql", json.dumps({"query": "{ ping }"}).encode()),
    "Accept takes no JSON": post({"query": "{ ping }"}, Accept="text/html"),
    "Accept the newer type": post(
        {"query": "{ nope }"}, Accept="application/graphql-response+json"
    ),
    "GET a query": raw("GET", "/graphql?" + urlencode({"query": "{ ping }"})),
    "GET with bad variables": raw(
        "GET", "/graphql?" + urlencode({"query": "{ ping }", "variables": "{"})
    ),
    "GET a mutation": raw("GET", "/graphql?" + urlencode({"query": "mutation { x }"})),
    "GET without a query": raw("GET", "/graphql"),
    "GET a query twice": raw("GET", "/graphql?query=%7Bping%7D&query=%7Bping%7D"),
    "PUT": raw("PUT", "/graphql", b"{}", **JSON_POST),
    "DELETE": raw("DELETE", "/graphql"),
}
for _name, _payload in PAYLOADS.items():
    REQUESTS[f"payload: {_name}"] = post(_payload)


@pytest.mark.parametrize("name", list(REQUESTS))
def test_server_and_lambda_answer_alike(name, server, lambda_env):
    request = REQUESTS[name]
    served = over_server(server, request)
    assert over_lambda(request, "v2") == served
    assert over_lambda(request, "v1") == served
    assert served["cache-control"] == "no-store"
    if served["status"] >= 400:
        assert served["errors"], served


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_the_engine_answers_payloads_as_the_transports_do(name, server, engine, lambda_env):
    served = over_server(server, post(PAYLOADS[name]))
    # As SilvaEngine calls it, and as a direct Lambda invocation.
    text = engine.open_assistant_graphql(**PAYLOADS[name])
    direct = aws_lambda.handler(dict(PAYLOADS[name]), None)
    for document in (json.loads(text), direct):
        assert document["status_code"] == served["status"]
        assert [
            (error["extensions"]["code"], error["message"]) for error in document.get("errors", ())
        ] == served["errors"]
        assert _shape(document.get("data")) == served["data"]


def test_the_cases_cover_every_refusal(server):
    statuses = {over_server(server, request)["status"] for request in REQUESTS.values()}
    assert {200, 400, 405, 406, 413, 415} <= statuses
