"""GraphQL over HTTP on ``oae serve``'s server: media types, their status codes, GET."""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from openai_assistant_engine import OpenaiAssistantEngine
from openai_assistant_engine.edge.http import response_media_type
from openai_assistant_engine.server import GraphQLServer

NEWER = "application/graphql-response+json"


@pytest.fixture(scope="module")
def server(moto_endpoint: str) -> Iterator[GraphQLServer]:
    from openai_assistant_engine import create_tables

    setting = {
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "dynamodb_endpoint": moto_endpoint,
        "table_prefix": "over-http-",
    }
    create_tables(**setting)
    engine = OpenaiAssistantEngine(logging.getLogger("oae.tests"), **setting)
    running = GraphQLServer(engine, port=0).start()
    yield running
    running.stop()


def send(
    server: GraphQLServer, method: str, path: str, body: Any = None, **headers: str
) -> tuple[int, dict[str, str], dict[str, Any]]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    raw = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    try:
        names = {name.replace("_", "-"): value for name, value in headers.items()}
        connection.request(method, path, body=raw, headers=names)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        connection.close()


PING = {"query": "query ping { ping }"}
ASSISTANT_QUERY = (
    "query a($t: String!, $i: String!) "
    "{ assistant(assistantType: $t, assistantId: $i) { assistantId } }"
)
JSON_POST = {"Content_Type": "application/json"}


def test_the_newer_media_type_is_answered_when_asked(server) -> None:
    status, headers, body = send(server, "POST", "/graphql", PING, **JSON_POST, Accept=NEWER)
    assert status == 200
    assert headers["Content-Type"] == f"{NEWER}; charset=utf-8"
    assert body["data"]["ping"].startswith("pong")


def test_without_accept_or_with_json_the_answer_is_json(server) -> None:
    for accept in ({}, {"Accept": "application/json"}, {"Accept": "*/*"}):
        _status, headers, _body = send(server, "POST", "/graphql", PING, **JSON_POST, **accept)
        assert headers["Content-Type"] == "application/json; charset=utf-8"


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"query": "query { ping "}, 400),  # does not parse: no data
        ({"query": "query { nothing }"}, 400),  # does not validate: no data
        (  # a well-formed request whose field fails: no data either, the engine's status
            {"query": ASSISTANT_QUERY, "variables": {"t": "none", "i": "none"}},
            404,
        ),
    ],
)
def test_the_newer_media_type_answers_errors_without_data_with_4xx(server, payload, status) -> None:
    answer, headers, body = send(server, "POST", "/graphql", payload, **JSON_POST, Accept=NEWER)
    assert answer == status
    assert "data" not in body and body["errors"]
    assert headers["Content-Type"].startswith(NEWER)


def test_an_accept_header_that_takes_no_json_is_a_406(server) -> None:
    status, _headers, body = send(server, "POST", "/graphql", PING, **JSON_POST, Accept="text/html")
    assert status == 406
    assert body["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_post_without_a_json_content_type_is_a_415(server, content_type) -> None:
    headers = {} if content_type is None else {"Content_Type": content_type}
    status, _headers, body = send(server, "POST", "/graphql", PING, **headers)
    assert status == 415
    message = body["errors"][0]["message"]
    assert "Content-Type: application/json" in message


def test_a_query_by_get(server) -> None:
    path = "/graphql?" + urlencode({"query": "query ping { ping }", "operationName": "ping"})
    status, headers, body = send(server, "GET", path)
    assert status == 200 and body["data"]["ping"].startswith("pong")
    assert headers["Cache-Control"] == "no-store"

    variables = json.dumps({"t": "none", "i": "none"})
    params = urlencode({"query": ASSISTANT_QUERY, "variables": variables})
    status, _headers, body = send(server, "GET", "/graphql?" + params)
    assert status == 404  # the variables arrived: the record was looked up


@pytest.mark.parametrize(
    "params",
    [
        {"query": 'mutation { deleteAssistant(assistantType: "t", assistantId: "x") { ok } }'},
        {
            "query": "query q { ping } mutation m { __typename }",
            "operationName": "m",
        },
    ],
)
def test_a_mutation_by_get_is_a_405(server, params) -> None:
    status, headers, body = send(server, "GET", "/graphql?" + urlencode(params))
    assert status == 405
    assert headers["Allow"] == "POST"
    assert "POST" in body["errors"][0]["message"]


def test_media_type_choice() -> None:
    assert response_media_type(None) == "application/json"
    assert response_media_type(f"application/json, {NEWER}") == NEWER
    assert response_media_type(f"application/json, {NEWER};q=0.5") == "application/json"
    assert response_media_type(f"{NEWER};q=0, application/json") == "application/json"
