"""The local server refuses what a web page or a rebound DNS name could send it."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator

import pytest

from openai_assistant_engine import OpenaiAssistantEngine
from openai_assistant_engine.server import GraphQLServer

from .test_server import request

PING = json.dumps({"query": "{ ping }"}).encode()
ALLOWED = "https://tools.example.test"


def _server(settings: dict[str, str], **options: object) -> GraphQLServer:
    engine = OpenaiAssistantEngine(logging.getLogger("oae.tests"), **settings)
    return GraphQLServer(engine, port=0, **options).start()  # type: ignore[arg-type]


@pytest.fixture
def server(dynamo_settings: dict[str, str]) -> Iterator[GraphQLServer]:
    running = _server({**dynamo_settings, "cors_origins": ALLOWED})
    yield running
    running.stop()


def _post(server: GraphQLServer, body: bytes = PING, **headers: str) -> tuple[int, dict, bytes]:
    sent = {"Content-Type": "application/json", **headers}
    return request(server, "POST", "/graphql", body=body, headers=sent)


def test_the_page_still_works(server: GraphQLServer) -> None:
    assert request(server, "GET", "/")[0] == 200
    # The page's own fetches carry its origin, which is the server's.
    for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}"):
        status, headers, body = _post(server, Host=host, Origin=f"http://{host}")
        assert status == 200, body
        assert json.loads(body)["data"]["ping"].startswith("pong")
        assert "Access-Control-Allow-Origin" not in headers


def test_a_foreign_host_is_refused(server: GraphQLServer) -> None:
    for host in ("attacker.example", "attacker.example:80", "127.0.0.1.nip.io"):
        status, _, body = _post(server, Host=host)
        assert status == 403, host
        assert "not a loopback name" in json.loads(body)["errors"][0]["message"]
        assert request(server, "GET", "/", headers={"Host": host})[0] == 403


def test_told_to_listen_beyond_loopback_any_host_is_answered(
    dynamo_settings: dict[str, str],
) -> None:
    running = _server(dynamo_settings, any_host=True)
    try:
        assert _post(running, Host="engine.internal:8000")[0] == 200
    finally:
        running.stop()


def test_an_origin_not_configured_is_refused(server: GraphQLServer) -> None:
    # A cross-site form or fetch with text/plain needs no preflight: its Origin tells it.
    for content_type in ("text/plain", "application/json"):
        status, headers, body = _post(
            server, Origin="https://evil.example", **{"Content-Type": content_type}
        )
        assert status == 403
        assert "cors_origins" in json.loads(body)["errors"][0]["message"]
        assert "Access-Control-Allow-Origin" not in headers
    status, headers, _ = request(
        server, "OPTIONS", "/graphql", headers={"Origin": "https://evil.example"}
    )
    assert status == 403 and "Access-Control-Allow-Origin" not in headers
    assert _post(server, Origin="null")[0] == 403


def test_a_configured_origin_gets_cors_headers(server: GraphQLServer) -> None:
    status, headers, _ = request(
        server,
        "OPTIONS",
        "/graphql",
        headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST"},
    )
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == ALLOWED
    assert headers["Vary"] == "Origin"
    status, headers, _ = _post(server, Origin=ALLOWED)
    assert status == 200 and headers["Access-Control-Allow-Origin"] == ALLOWED


def test_a_body_over_the_limit_is_413(server: GraphQLServer) -> None:
    big = json.dumps({"query": "{ ping }", "variables": {"pad": "x" * 2_000_000}}).encode()
    # The answer comes before the body is read: send the start of it, then listen.
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as connection:
        head = (
            f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(big)}\r\n\r\n"
        )
        connection.sendall(head.encode() + big[:65536])
        answer = connection.makefile("rb").read()
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split()[1] == b"413"
    body = rest.partition(b"\r\n\r\n")[2]
    assert "max_body_bytes" in json.loads(body)["errors"][0]["message"]


def test_the_body_limit_is_a_setting(dynamo_settings: dict[str, str]) -> None:
    running = _server({**dynamo_settings, "max_body_bytes": "3000000"})
    try:
        big = json.dumps({"query": "{ ping }", "variables": {"pad": "x" * 2_000_000}}).encode()
        assert _post(running, big)[0] == 200
    finally:
        running.stop()


def test_identity_off_is_said_once_at_start(
    dynamo_settings: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger("oae.tests.identity-off")
    settings = {**dynamo_settings, "table_prefix": dynamo_settings["table_prefix"] + "x"}
    with caplog.at_level(logging.INFO, logger=logger.name):
        for _ in range(3):  # SilvaEngine builds an engine per request
            OpenaiAssistantEngine(logger, **settings)
    lines = [r for r in caplog.records if "Identity is off" in r.getMessage()]
    assert len(lines) == 1
