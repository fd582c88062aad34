"""The local HTTP server of `oae serve`: POST /graphql, the browser page, /healthz.

Standard library only (``http.server``): a development server needs no framework. Routes:

* ``POST /graphql``: a JSON body ``{query, variables, operationName | operation_name}``
  (``Content-Type: application/json``); ``GET /graphql?query=...`` for queries. The HTTP
  status is the engine's ``status_code``; the answer is ``application/json`` or
  ``application/graphql-response+json`` as the ``Accept`` header asks (graphql_http.py).
* ``GET /``: the page (``static/index.html``) and ``GET /static/<name>`` its assets.
* ``GET /spec.graphql``: the contract document, to prefill the page.
* ``GET /examples.json``: example variables per operation (the seeded demo assistant).
* ``GET /healthz``: ``{"status": "ok"}``.

One log line per request: method, path, operation name, status, milliseconds. Never the
variables or the body: they may hold anything; the path and name are escaped to one line.

Bodies are read by ``http_body`` (exactly, or refused and the connection closed), JSON by
``request_json``; ``http_connections`` caps connections and times idle ones out
(settings ``http_max_connections``, ``http_idle_timeout_seconds``). Headers and body go
out in one write, with ``TCP_NODELAY``: a kept-alive connection pays no Nagle delay.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from .contract import contract_document
from .engine import OpenaiAssistantEngine
from .graphql_http import (
    HttpRefusal,
    check_post_content_type,
    get_payload,
    response_media_type,
)
from .http_body import BodyError, read_body
from .http_connections import BoundedHTTPServer
from .log_text import single_line
from .request_json import UnreadableJson, parse_json_object

__all__ = ["GraphQLServer", "contract_document"]

MAX_BODY_BYTES = 1_000_000
_STATIC_NAME = re.compile(r"^[A-Za-z0-9_-]+\.(html|js|css|svg)$")
_CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "svg": "image/svg+xml",
    "graphql": "application/graphql; charset=utf-8",
    "json": "application/json",
}
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization",
}
_logger = logging.getLogger(__name__)


def _package_file(*parts: str) -> bytes:
    return resources.files("openai_assistant_engine").joinpath(*parts).read_bytes()


class GraphQLServer:
    """``ThreadingHTTPServer`` around one engine. ``port=0`` picks a free port."""

    def __init__(
        self,
        engine: OpenaiAssistantEngine,
        host: str = "127.0.0.1",
        port: int = 8000,
        examples: Mapping[str, Any] | None = None,
    ) -> None:
        self.engine = engine
        self.examples = dict(examples or {})
        self._httpd = _HTTPServer((host, port), self, engine.settings)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        host = str(self._httpd.server_address[0])
        return f"http://{host}:{self.port}"

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def start(self) -> GraphQLServer:
        """Serve from a daemon thread (tests, embedding)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, name=f"oae-http-{self.port}", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (safe from another thread, e.g. a signal handler's)."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def shutdown(self) -> None:
        """End ``serve_forever`` running in another thread."""
        self._httpd.shutdown()


class _HTTPServer(BoundedHTTPServer):
    request_queue_size = 64  # a browser opens several connections at once

    def __init__(self, address: tuple[str, int], app: GraphQLServer, settings: Any) -> None:
        super().__init__(
            address,
            _Handler,
            max_connections=settings.http_max_connections,
            idle_timeout=settings.http_idle_timeout_seconds,
        )
        self.app = app

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer is routine (a timed-out poll, a closed tab):
        # not worth a traceback on stderr. Anything else is still reported.
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    server_version = "oae"
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # TCP_NODELAY: small answers leave at once
    wbufsize = 64 * 1024  # headers and body leave in one send (flushed after each request)
    _allow: str | None = None  # an Allow header for the next answer (405s)

    def setup(self) -> None:
        self.timeout = self.server.idle_timeout  # applied to the socket by setup()
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: :meth:`_send` writes one structured line per request instead."""

    # ------------------------------------------------------------------ routing
    def do_GET(self) -> None:
        self._started = time.perf_counter()
        self._operation = "-"
        if not self._discard_body():
            return
        path = urlsplit(self.path).path
        if path in ("/", "/index.html"):
            self._send_static("index.html")
        elif path.startswith("/static/"):
            self._send_static(path[len("/static/") :])
        elif path == "/spec.graphql":
            self._send(200, contract_document().encode(), _CONTENT_TYPES["graphql"])
        elif path == "/examples.json":
            self._send_json(200, self.server.app.examples)
        elif path == "/healthz":
            self._send_json(200, {"status": "ok"})
        elif path == "/graphql":
            try:
                payload = get_payload(urlsplit(self.path).query)
            except HttpRefusal as refusal:
                self._refuse(refusal)
                return
            self._execute(payload)
        else:
            self._send_error(404, "NOT_FOUND", f"No route for GET {path}.")

    def do_POST(self) -> None:
        self._started = time.perf_counter()
        self._operation = "-"
        path = urlsplit(self.path).path
        if path != "/graphql":
            if self._discard_body():
                self._send_error(404, "NOT_FOUND", f"No route for POST {path}; use /graphql.")
            return
        try:
            check_post_content_type(self.headers.get("Content-Type"))
        except HttpRefusal as refusal:
            if self._discard_body():
                self._refuse(refusal)
            return
        try:
            payload = self._read_payload()
        except BodyError as exc:
            self.close_connection = True  # what is left unread would be the next request
            self._send_error(exc.status, "BAD_REQUEST", exc.message)
            return
        except UnreadableJson as exc:
            self._send_error(400, "BAD_REQUEST", str(exc))
            return
        self._execute(payload)

    def _execute(self, payload: Mapping[str, Any]) -> None:
        try:
            media_type = response_media_type(self.headers.get("Accept"))
        except HttpRefusal as refusal:
            self._refuse(refusal)
            return
        name = payload.get("operationName") or payload.get("operation_name")
        self._operation = name if isinstance(name, str) and name else "-"
        engine = self.server.app.engine
        response = engine.execute(payload)
        status = int(response.get("status_code", 500))
        self._send(status, engine.to_json(response).encode(), f"{media_type}; charset=utf-8")

    def do_OPTIONS(self) -> None:
        self._started = time.perf_counter()
        self._operation = "-"
        if self._discard_body():
            self._send(204, b"", None)

    # ------------------------------------------------------------------ helpers
    def _read_payload(self) -> Mapping[str, Any]:
        raw = read_body(self.headers, self.rfile, MAX_BODY_BYTES)
        if not raw.strip():
            raise UnreadableJson("The request body is empty: send JSON with a GraphQL query.")
        return parse_json_object(raw)

    def _discard_body(self) -> bool:
        """Read and drop a body nobody needs; False (answered, closing) if it is unreadable."""
        try:
            read_body(self.headers, self.rfile, MAX_BODY_BYTES)
        except BodyError as exc:
            self.close_connection = True
            self._send_error(exc.status, "BAD_REQUEST", exc.message)
            return False
        return True

    def _send_static(self, name: str) -> None:
        match = _STATIC_NAME.match(name)
        try:
            if match is None:
                raise FileNotFoundError(name)
            body = _package_file("static", name)
        except (FileNotFoundError, IsADirectoryError):
            self._send_error(404, "NOT_FOUND", f"No static file {name!r}.")
            return
        self._send(200, body, _CONTENT_TYPES[match.group(1)])

    def _send_json(self, status: int, value: Any) -> None:
        self._send(status, json.dumps(value).encode(), _CONTENT_TYPES["json"])

    def _send_error(self, status: int, code: str, message: str) -> None:
        errors = [{"message": message, "extensions": {"code": code}}]
        self._send_json(status, {"errors": errors, "status_code": status})

    def _refuse(self, refusal: HttpRefusal) -> None:
        if refusal.status == 405:
            self._allow = "POST"  # the method a refused mutation must use
        self._send_error(refusal.status, refusal.code, refusal.message)

    def _send(self, status: int, body: bytes, content_type: str | None) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        if self._allow:
            self.send_header("Allow", self._allow)
            self._allow = None
        if self.close_connection:
            self.send_header("Connection", "close")
        for name, value in _CORS.items():
            self.send_header(name, value)
        self.end_headers()
        # Logged before the body goes out, so the line exists once the client has its answer.
        elapsed_ms = (time.perf_counter() - self._started) * 1000
        path = urlsplit(self.path).path  # the query string may carry anything
        _logger.info(
            "%s %s op=%s status=%d %.1fms",
            single_line(self.command),
            single_line(path),
            single_line(self._operation),
            status,
            elapsed_ms,
        )
        if body and self.command != "HEAD":
            self.wfile.write(body)
