"""Fault-injecting HTTP proxies on the loopback interface, standard library only.

:class:`DynamoFaultProxy` stands in front of the moto server: the engine's
``dynamodb_endpoint`` points at it, and it forwards every request unchanged except the
ones a rule picks, which it answers the way DynamoDB does when it throttles
(``ProvisionedThroughputExceededException``, ``ThrottlingException``) or fails (500,
503), or drops (an outage: the connection closes with no answer). Nothing of botocore or
PynamoDB is patched: botocore retries what it considers retryable, as in production.

:class:`FaultProxy` is the generic part, also put in front of the OpenAI sandbox to
delay chosen requests past the client's timeout (the request still reaches the sandbox,
after the client gave up: the answer is lost, not the work).

Requests are named by :meth:`FaultProxy.name_of` (``"POST /v1/threads/x/runs"``; for
DynamoDB the operation, ``"UpdateItem"``); a rule matches when its text is part of the
name.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

__all__ = ["DynamoFaultProxy", "FaultProxy"]

# Actions every proxy knows. ``drop`` closes the connection before forwarding (the
# request is lost); ``drop_after`` forwards it and closes instead of answering (the work
# is done, the answer is lost); ``delay`` forwards it late.
FORWARDING_ACTIONS = ("forward", "delay", "drop", "drop_after")
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}


@dataclass
class _Rule:
    match: str | None  # part of the request name; None matches every request
    action: str
    remaining: float  # requests still to affect (inf for an outage)
    delay: float = 0.0
    armed: bool = True  # an outage arms itself at its first matching request
    skip: int = 0  # matching requests to let through first

    def matches(self, name: str) -> bool:
        return self.match is None or self.match in name


class FaultProxy:
    """A forwarding HTTP/1.1 proxy on 127.0.0.1 whose rules fail, drop or delay requests."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._rules: list[_Rule] = []
        self._names: list[str] = []
        self._affected: list[tuple[str, str]] = []
        self._in_flight = 0
        self._last_request = time.monotonic()
        self._server = _Server(("127.0.0.1", 0), self)
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> FaultProxy:
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True, name="fault-proxy"
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- steering ---------------------------------------------------------------------
    def fail(self, match: str | None, *, count: int = 1, action: str, after: int = 0) -> None:
        """The next ``count`` requests whose name contains ``match`` get ``action``, once
        ``after`` such requests went through."""
        self._check_action(action)
        with self._lock:
            self._rules.append(_Rule(match, action, count, skip=after))

    def delay(self, match: str | None, seconds: float, *, count: int = 1) -> None:
        """The next ``count`` matching requests reach upstream ``seconds`` late."""
        with self._lock:
            self._rules.append(_Rule(match, "delay", count, delay=seconds))

    def outage(
        self, starting_at: str | None = None, *, action: str = "drop", after: int = 0
    ) -> None:
        """From the next request matching ``starting_at`` (once ``after`` of them went
        through) on, every request gets ``action`` until :meth:`recover`."""
        self._check_action(action)
        with self._lock:
            self._rules.append(_Rule(starting_at, action, float("inf"), armed=False, skip=after))

    def recover(self) -> None:
        """End every rule: from now on each request is forwarded as is."""
        with self._lock:
            self._rules.clear()

    clear = recover

    def names(self) -> list[str]:
        """The name of every request so far, in order."""
        with self._lock:
            return list(self._names)

    def count(self, match: str | None = None) -> int:
        with self._lock:
            return sum(match is None or match in name for name in self._names)

    def affected(self) -> list[tuple[str, str]]:
        """(name, action) of every request a rule changed."""
        with self._lock:
            return list(self._affected)

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until no request is being handled (a delayed one reached upstream)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self._in_flight} requests still in flight")
                self._idle.wait(left)

    def wait_quiet(self, quiet: float = 0.2, timeout: float = 10.0) -> None:
        """Wait until no request has come for ``quiet`` seconds (a background worker of
        the engine has finished writing)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                silent_for = time.monotonic() - self._last_request
                busy = self._in_flight > 0
            if not busy and silent_for >= quiet:
                return
            if time.monotonic() > deadline:
                raise TimeoutError("requests keep coming")
            time.sleep(max(0.01, quiet - silent_for))

    # -- overridable ------------------------------------------------------------------
    def name_of(self, method: str, path: str, headers: Any) -> str:
        return f"{method} {urlsplit(path).path}"

    def error_reply(self, action: str) -> tuple[int, dict[str, str], bytes]:
        raise ValueError(f"unknown fault action {action!r}")

    def _check_action(self, action: str) -> None:
        if action not in FORWARDING_ACTIONS:
            self.error_reply(action)  # raises for an unknown action

    # -- used by the handler ----------------------------------------------------------
    def _admit(self, name: str) -> _Rule | None:
        with self._lock:
            self._names.append(name)
            self._in_flight += 1
            self._last_request = time.monotonic()
            for rule in self._rules:
                if not rule.matches(name):
                    continue
                if rule.skip:
                    rule.skip -= 1
                    continue
                if not rule.armed:
                    rule.armed, rule.match = True, None  # the outage begins: every request
                break
            else:
                return None
            rule.remaining -= 1
            self._rules = [r for r in self._rules if r.remaining > 0]
            self._affected.append((name, rule.action))
            return rule

    def _done(self) -> None:
        with self._idle:
            self._in_flight -= 1
            self._idle.notify_all()


class DynamoFaultProxy(FaultProxy):
    """In front of a DynamoDB endpoint; requests are named by operation (``UpdateItem``).

    Error actions, answered the way DynamoDB answers them:

    * ``throughput``: 400 ``ProvisionedThroughputExceededException`` (botocore retries it
      as throttling, with backoff);
    * ``throttling``: 400 ``ThrottlingException`` (likewise);
    * ``internal``: 500 ``InternalServerError``; ``unavailable``: 503 (both retried as
      transient errors);
    * ``validation``: 400 ``ValidationException`` (never retried).
    """

    _ERRORS = {
        "throughput": (
            400,
            "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded. "
            "Consider increasing your provisioning level with the UpdateTable API.",
        ),
        "throttling": (
            400,
            "com.amazon.coral.availability#ThrottlingException",
            "Rate of requests exceeds the allowed throughput.",
        ),
        "internal": (
            500,
            "com.amazonaws.dynamodb.v20120810#InternalServerError",
            "Internal server error",
        ),
        "unavailable": (
            503,
            "com.amazonaws.dynamodb.v20120810#ServiceUnavailableException",
            "Service unavailable",
        ),
        "validation": (
            400,
            "com.amazon.coral.validate#ValidationException",
            "Injected validation failure",
        ),
    }

    def name_of(self, method: str, path: str, headers: Any) -> str:
        target = headers.get("X-Amz-Target") or ""
        return target.rpartition(".")[2] or f"{method} {path}"

    def error_reply(self, action: str) -> tuple[int, dict[str, str], bytes]:
        try:
            status, kind, message = self._ERRORS[action]
        except KeyError:
            raise ValueError(f"unknown DynamoDB fault action {action!r}") from None
        body = json.dumps({"__type": kind, "message": message}).encode()
        return status, {"Content-Type": "application/x-amz-json-1.0"}, body


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], proxy: FaultProxy) -> None:
        super().__init__(address, _Handler)
        self.proxy = proxy


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        self._upstream: http.client.HTTPConnection | None = None
        # Headers and body go out in separate writes: without this, Nagle's algorithm and
        # delayed ACKs hold every answer back by ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_DELETE = do_PUT = do_PATCH = do_GET

    def _handle(self) -> None:
        proxy = self.server.proxy
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        rule = proxy._admit(proxy.name_of(self.command, self.path, self.headers))
        try:
            action = rule.action if rule is not None else "forward"
            if action == "drop":
                self._drop()
            elif action in ("forward", "delay", "drop_after"):
                if action == "delay":
                    time.sleep(rule.delay)  # type: ignore[union-attr]
                self._forward(body, answer=action != "drop_after")
            else:
                status, headers, payload = proxy.error_reply(action)
                self._answer(status, headers, payload)
        except OSError:  # the client went away (it timed out): nothing to tell it
            self.close_connection = True
        finally:
            proxy._done()

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _answer(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def finish(self) -> None:
        super().finish()
        if self._upstream is not None:
            self._upstream.close()

    def _forward(self, body: bytes, *, answer: bool) -> None:
        # One upstream connection per client connection, kept alive like the client's.
        if self._upstream is None:
            host, port = self.server.proxy._upstream
            self._upstream = http.client.HTTPConnection(host, port, timeout=60)
        upstream = self._upstream
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            response = upstream.getresponse()
            if not answer:
                response.read()
                self._drop()
                return
            self.send_response(response.status, response.reason)
            for name, value in response.getheaders():
                if name.lower() not in _HOP_BY_HOP | {"content-length", "date", "server"}:
                    self.send_header(name, value)
            if response.chunked:  # server-sent events: pass each piece on as it comes
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                while piece := response.read1(65536):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            else:
                payload = response.read()
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
        except BaseException:
            upstream.close()  # in an unknown state: the next request opens a new one
            self._upstream = None
            raise
        if response.will_close:
            upstream.close()
            self._upstream = None
