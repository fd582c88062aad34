"""`oae serve` against hostile and unlucky clients, over raw sockets: request framing
(chunked bodies, bad lengths), one log line per request, bodies JSON cannot read, idle
connections, the connection cap and TCP_NODELAY."""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import re
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from openai_assistant_engine import OpenaiAssistantEngine
from openai_assistant_engine.server import GraphQLServer

PING = json.dumps({"query": "query ping { ping }", "operationName": "ping"}).encode()


@contextlib.contextmanager
def serving(**settings: Any) -> Iterator[GraphQLServer]:
    """A server whose requests here never reach DynamoDB or OpenAI (ping, health, errors)."""
    engine = OpenaiAssistantEngine(
        logging.getLogger("oae.tests.http"),
        region_name="us-east-1",
        openai_api_key="sk-none",
        **settings,
    )
    server = GraphQLServer(engine, port=0).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def server() -> Iterator[GraphQLServer]:
    with serving() as running:
        yield running


def connect(server: GraphQLServer, timeout: float = 10.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=timeout)


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def statuses(raw: bytes) -> list[int]:
    """Status codes of the responses in ``raw`` (none of the bodies here holds a status line)."""
    return [int(code) for code in re.findall(rb"HTTP/1\.[01] (\d{3}) [A-Z]", raw)]


def _post(headers: str, body: bytes) -> bytes:
    start = b"POST /graphql HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
    return start + headers.encode() + b"\r\n" + body


SMUGGLED = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
CLOSE = b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"


# ------------------------------------------------------------------ request framing (9)
def test_a_chunked_body_is_decoded_and_the_connection_stays_in_step(server):
    half = len(PING) // 2
    chunked = (
        f"{half:x}\r\n".encode()
        + PING[:half]
        + f"\r\n{len(PING) - half:x};note=ext\r\n".encode()
        + PING[half:]
        + b"\r\n0\r\n\r\n"
    )
    with connect(server) as sock:
        sock.sendall(_post("Transfer-Encoding: chunked\r\n", chunked) + CLOSE)
        raw = read_until_closed(sock)

    assert statuses(raw) == [200, 200]
    assert b'"ping": "pong' in raw or b'"ping":"pong' in raw


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ("Content-Length: -1\r\n", 400),
        ("Content-Length: +5\r\n", 400),
        ("Content-Length: 5\r\nContent-Length: 7\r\n", 400),
        ("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", 400),
        ("Transfer-Encoding: gzip, chunked\r\n", 501),
    ],
    ids=["negative", "signed", "repeated", "both-framings", "other-coding"],
)
def test_a_body_of_doubtful_length_is_refused_and_the_connection_closed(server, headers, status):
    with connect(server) as sock:
        # What follows the headers would be answered as a second request if it were read so.
        sock.sendall(_post(headers, SMUGGLED))
        raw = read_until_closed(sock)

    assert statuses(raw) == [status]
    assert b"Connection: close" in raw


def test_a_malformed_chunk_is_refused_and_the_connection_closed(server):
    with connect(server) as sock:
        sock.sendall(_post("Transfer-Encoding: chunked\r\n", b"zz\r\n" + SMUGGLED))
        raw = read_until_closed(sock)

    assert statuses(raw) == [400]


def test_a_get_with_a_body_does_not_smuggle_it(server):
    head = f"GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: {len(SMUGGLED)}\r\n\r\n"
    with connect(server) as sock:
        sock.sendall(head.encode() + SMUGGLED + CLOSE)
        raw = read_until_closed(sock)

    assert statuses(raw) == [200, 200]  # the body was read as a body, not as a request


# ------------------------------------------------------------------ one log line (10)
def test_an_operation_name_cannot_forge_a_log_line(server, caplog):
    forged = "ping\nGET /admin op=- status=200 0.1ms\r\x1b[2J"
    payload = json.dumps({"query": "query ping { ping }", "operationName": forged}).encode()
    with caplog.at_level(logging.INFO, logger="openai_assistant_engine.server"):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request(
            "POST", "/graphql", body=payload, headers={"Content-Type": "application/json"}
        )
        connection.getresponse().read()
        connection.close()

    [line] = [r.getMessage() for r in caplog.records if r.name == "openai_assistant_engine.server"]
    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert "op=ping\\x0aGET /admin" in line


# ---------------------------------------------------------- JSON it cannot read (12)
@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"[" * 100_000 + b"]" * 100_000, b"too deep"),
        (b'{"query": "query ping { ping }", "variables": {"n": ' + b"7" * 5000 + b"}}", b"digits"),
    ],
    ids=["nested-100000-deep", "integer-5000-digits"],
)
def test_json_that_cannot_be_read_is_a_400(server, body, fragment):
    with connect(server) as sock:
        sock.sendall(_post(f"Content-Length: {len(body)}\r\n", body) + CLOSE)
        raw = read_until_closed(sock)

    assert statuses(raw) == [400, 200]
    assert fragment in raw


# ------------------------------------------------------- idle connections and the cap (17)
def test_an_idle_or_stalled_connection_is_closed():
    with serving(http_idle_timeout_seconds=0.3) as server:
        with connect(server) as idle, connect(server) as stalled:
            stalled.sendall(_post("Content-Length: 100\r\n", b'{"query": '))
            assert read_until_closed(idle) == b""  # closed, no answer: it asked nothing
            assert read_until_closed(stalled) == b""
        # The server still answers.
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("GET", "/healthz")
        assert connection.getresponse().status == 200
        connection.close()


def test_connections_over_the_cap_are_refused_with_503_until_one_ends():
    with serving(http_max_connections=2) as server:
        first, second = connect(server), connect(server)
        # Both held by the server (each sent half a request line) before the third comes.
        for sock in (first, second):
            sock.sendall(b"GET /heal")
        time.sleep(0.2)
        with connect(server) as third:
            raw = read_until_closed(third)
        assert statuses(raw) == [503]
        assert b"http_max_connections" in raw

        first.close()
        deadline = time.monotonic() + 10
        while True:  # the slot is free once the server has seen the close
            with connect(server) as fourth:
                fourth.sendall(CLOSE)
                answered = statuses(read_until_closed(fourth))
            if answered == [200] or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert answered == [200]
        second.close()


# ------------------------------------------------------------------ TCP_NODELAY (19)
def _server_side_of(client: socket.socket) -> socket.socket | None:
    """The accepted socket of ``client``'s connection: the server runs in this process."""
    wanted = (client.getpeername(), client.getsockname())
    for name in os.listdir("/proc/self/fd"):
        try:
            candidate = socket.socket(fileno=os.dup(int(name)))
        except OSError:
            continue
        try:
            if (candidate.getsockname(), candidate.getpeername()) == wanted:
                return candidate
        except OSError:
            pass
        candidate.close()
    return None


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_kept_alive_connections_have_nagle_off(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", "/healthz")
    assert connection.getresponse().read()
    accepted = _server_side_of(connection.sock)
    try:
        assert accepted is not None
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        if accepted is not None:
            accepted.close()
        connection.close()
