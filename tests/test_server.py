"""The local HTTP server over real HTTP: GraphQL, the page, health, errors and its log."""

from __future__ import annotations

import http.client
import json
import logging
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openai import OpenAI

from openai_assistant_engine import OpenaiAssistantEngine, create_tables
from openai_assistant_engine.sandbox import SandboxServer
from openai_assistant_engine.server import GraphQLServer, contract_document

PACKAGE = Path(__file__).resolve().parents[1] / "openai_assistant_engine"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture(scope="module")
def server(moto_endpoint: str, sandbox: SandboxServer) -> Iterator[GraphQLServer]:
    """One server (and table set) for the module: the cases use keys of their own."""
    setting = {
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "dynamodb_endpoint": moto_endpoint,
        "table_prefix": "http-server-",
    }
    create_tables(**setting)
    engine = OpenaiAssistantEngine(
        logging.getLogger("oae.tests"),
        **setting,
        openai_api_key="sk-sandbox-secret-value",
        openai_base_url=sandbox.base_url,
        openai_backend="assistants",  # the cases make their assistant with the Assistants API
        function_module_allowlist="openai_assistant_engine.examples.weather_tools",
    )
    running = GraphQLServer(engine, port=0, examples={"updatedBy": "browser"}).start()
    yield running
    running.stop()


def request(
    server: GraphQLServer,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request over a fresh connection, the path sent exactly as given."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def graphql(server: GraphQLServer, payload: Any) -> tuple[int, dict[str, Any]]:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    post = urllib.request.Request(
        server.url + "/graphql", data=data, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(post, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


# ------------------------------------------------------------------------------ GraphQL
def test_ping_over_http(server: GraphQLServer) -> None:
    status, body = graphql(server, {"query": "query ping { ping }", "operationName": "ping"})
    assert status == 200
    assert body["status_code"] == 200
    assert body["data"]["ping"].startswith("pong")


def test_data_mutation_and_query_round_trip(server: GraphQLServer, spec_document: str) -> None:
    variables = {
        "assistantType": "http",
        "assistantId": "asst_http",
        "assistantName": "Over HTTP",
        "functions": [],
        "updatedBy": "tester",
    }
    status, body = graphql(
        server,
        {"query": spec_document, "operationName": "insertUpdateAssistant", "variables": variables},
    )
    assert status == 200, body
    status, body = graphql(
        server,
        {
            "query": spec_document,
            "operation_name": "getAssistant",
            "variables": {"assistantType": "http", "assistantId": "asst_http"},
        },
    )
    assert status == 200
    assert body["data"]["assistant"]["assistantName"] == "Over HTTP"


def test_ask_open_ai_over_http_then_follow_the_run(
    server: GraphQLServer, sandbox: SandboxServer, spec_document: str
) -> None:
    client = OpenAI(api_key="sk-sandbox", base_url=sandbox.base_url)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the Assistants API's notice
        assistant = client.beta.assistants.create(model="gpt-4o-mini", name="http")
    graphql(
        server,
        {
            "query": spec_document,
            "operationName": "insertUpdateAssistant",
            "variables": {
                "assistantType": "http",
                "assistantId": assistant.id,
                "assistantName": "http",
                "functions": [],
                "updatedBy": "tester",
            },
        },
    )
    status, body = graphql(
        server,
        {
            "query": spec_document,
            "operationName": "askOpenAi",
            "variables": {
                "assistantType": "http",
                "assistantId": assistant.id,
                "userQuery": "Hello over HTTP",
                "updatedBy": "tester",
            },
        },
    )
    assert status == 200, body
    started = body["data"]["askOpenAi"]
    poll = {
        "query": spec_document,
        "operationName": "getCurrentRun",
        "variables": {
            "assistantId": assistant.id,
            "threadId": started["threadId"],
            "runId": started["currentRunId"],
            "updatedBy": "tester",
        },
    }
    for _ in range(50):
        status, body = graphql(server, poll)
        assert status == 200
        if body["data"]["currentRun"]["status"] == "completed":
            break
    assert body["data"]["currentRun"]["status"] == "completed"

    status, body = graphql(
        server,
        {
            "query": spec_document,
            "operationName": "getLastMessage",
            "variables": {"threadId": started["threadId"], "role": "assistant"},
        },
    )
    assert body["data"]["lastMessage"]["message"] == "Echo: Hello over HTTP"
    assert "sk-sandbox-secret-value" not in json.dumps(body)


# ------------------------------------------------------------------------------ error statuses
@pytest.mark.parametrize(
    ("payload", "status", "fragment"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"", 400, "empty"),
        (b"[1, 2]", 400, "JSON object"),
        ({"variables": {}}, 400, "no GraphQL 'query'"),
        ({"query": "query { nothing }"}, 400, "Cannot query field"),
        ({"query": "query ping { ping }", "operationName": "pong"}, 400, "pong"),
    ],
)
def test_bad_requests_are_400_in_the_contract_shape(
    server: GraphQLServer, payload: Any, status: int, fragment: str
) -> None:
    answer_status, body = graphql(server, payload)
    assert answer_status == status
    assert body["status_code"] == status
    assert isinstance(body["errors"], list)
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert fragment in body["errors"][0]["message"]


def test_not_found_is_a_404(server: GraphQLServer, spec_document: str) -> None:
    status, body = graphql(
        server,
        {
            "query": spec_document,
            "operationName": "getAssistant",
            "variables": {"assistantType": "none", "assistantId": "none"},
        },
    )
    assert status == 404
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_oversized_body_is_refused_before_it_is_read(server: GraphQLServer) -> None:
    status, _headers, body = request(
        server,
        "POST",
        "/graphql",
        headers={"Content-Length": "5000000", "Content-Type": "application/json"},
    )
    assert status == 413
    assert json.loads(body)["status_code"] == 413


def test_routes_other_than_graphql(server: GraphQLServer) -> None:
    assert request(server, "GET", "/graphql")[0] == 400  # GET needs a query parameter
    assert request(server, "GET", "/nowhere")[0] == 404
    assert request(server, "POST", "/nowhere", body=b"{}")[0] == 404
    status, headers, _ = request(server, "OPTIONS", "/graphql")
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == "*"


# ------------------------------------------------------------------------------ page and files
def test_the_page_and_its_assets_are_served(server: GraphQLServer) -> None:
    status, headers, body = request(server, "GET", "/")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    page = body.decode()
    assert '<textarea id="document"' in page
    assert 'id="operation"' in page and 'id="variables"' in page and 'id="run"' in page
    assert "http://" not in page and "https://" not in page  # nothing from a CDN
    for asset, kind in (("/static/app.js", "text/javascript"), ("/static/style.css", "text/css")):
        status, headers, body = request(server, "GET", asset)
        assert status == 200
        assert headers["Content-Type"].startswith(kind)
        assert b"https://" not in body


@pytest.mark.parametrize(
    "path",
    [
        "/static/../cli/__init__.py",
        "/static/..%2Fcli/__init__.py",
        "/static/missing.js",
        "/static/",
    ],
)
def test_static_files_cannot_escape_the_static_folder(server: GraphQLServer, path: str) -> None:
    assert request(server, "GET", path)[0] == 404


def test_spec_examples_and_health(server: GraphQLServer) -> None:
    status, _headers, body = request(server, "GET", "/spec.graphql")
    assert status == 200
    assert body.decode() == contract_document()
    assert json.loads(request(server, "GET", "/examples.json")[2]) == {"updatedBy": "browser"}
    assert json.loads(request(server, "GET", "/healthz")[2]) == {"status": "ok"}


def test_the_package_exports_its_contract_document() -> None:
    from openai_assistant_engine import contract_document as exported

    assert exported() == (PACKAGE / "schema" / "contract.graphql").read_text()
    assert exported is contract_document


# ------------------------------------------------------------------------------ the log
def test_one_log_line_per_request_without_variables(
    server: GraphQLServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="openai_assistant_engine.server")
    graphql(
        server,
        {
            "query": "query ping { ping }",
            "operationName": "ping",
            "variables": {"x": "do-not-log-me"},
        },
    )
    request(server, "GET", "/healthz?token=do-not-log-me")
    lines = [r.getMessage() for r in caplog.records if r.name == "openai_assistant_engine.server"]
    assert len(lines) == 2
    assert lines[0].startswith("POST /graphql op=ping status=200 ")
    assert lines[0].endswith("ms")
    assert lines[1].startswith("GET /healthz op=- status=200 ")
    assert not any("do-not-log-me" in line for line in lines)
