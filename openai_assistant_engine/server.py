"""The local HTTP server of `oae serve`: POST /graphql, the browser page, /healthz.

Standard library only (``http.server``): a development server needs no framework. Routes:

* ``POST /graphql``: a JSON body ``{query, variables, operationName | operation_name}``
  (``Content-Type: application/json``); ``GET /graphql?query=...`` for queries. The HTTP
  status is the engine's ``status_code``; the answer is ``application/json`` or
  ``application/graphql-response+json`` as the ``Accept`` header asks. The rules are
  ``edge/http.py``'s, shared with the Lambda handler; so are the answers to bad input.
* ``GET /``: the page (``static/index.html``) and ``GET /static/<name>`` its assets.
* ``GET /spec.graphql``: the contract document, to prefill the page.
* ``GET /examples.json``: example variables per operation (the seeded demo assistant).
* ``GET /healthz``: ``{"status": "ok"}``.

One log line per request: method, path, operation name, status, milliseconds. Never the
variables or the body: they may hold anything; the path and name are escaped to one line.

Bodies are read by ``edge.http_body`` (exactly, or refused and the connection closed),
JSON by ``edge.payload``; ``http_connections`` caps connections and times idle ones out
(settings ``http_max_connections``, ``http_idle_timeout_seconds``). Headers and body go
out in one write, with ``TCP_NODELAY``: a kept-alive connection pays no Nagle delay.

Who may call (a server on a developer's machine is reachable from every page their
browser opens): a ``Host`` that is not a loopback name is refused unless the server was
told to listen beyond loopback (DNS rebinding); a browser ``Origin`` other than the
page's own is refused unless ``cors_origins`` names it (cross-site requests, which need
no preflight for ``text/plain``); bodies over ``max_body_bytes`` are a 413; with
``api_keys`` or ``jwt_jwks_url`` set, ``Authorization: Bearer`` names the caller.
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
from .edge import envelope
from .edge.http import (
    JSON_TYPE,
    HttpRefusal,
    answer_headers,
    check_post_content_type,
    cors_headers,
    get_payload,
    method_not_allowed,
    response_media_type,
)
from .edge.http_body import BodyError, read_body
from .edge.log_text import single_line
from .edge.payload import operation_name_of, parse_body
from .engine import OpenaiAssistantEngine
from .errors import EngineError
from .http_connections import BoundedHTTPServer

__all__ = ["GraphQLServer", "contract_document"]

_STATIC_NAME = re.compile(r"^[A-Za-z0-9_-]+\.(html|js|css|svg)$")
_CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "svg": "image/svg+xml",
    "graphql": "application/graphql; charset=utf-8",
}
_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
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
        *,
        any_host: bool = False,
    ) -> None:
        """``any_host``: answer whatever ``Host`` a request names (``oae serve --host``);
        otherwise only loopback names, so a rebound DNS name cannot reach the server."""
        self.engine = engine
        self.examples = dict(examples or {})
        self.any_host = any_host
        self.cors_origins = frozenset(engine.settings.cors_origins)
        self.max_body_bytes = engine.settings.max_body_bytes
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
            # A short poll interval: stop() returns in ~50 ms, not the default 0.5 s.
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                args=(0.05,),
                name=f"oae-http-{self.port}",
                daemon=True,
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
    _allow = "POST"  # the Allow header of the next answer, if it is a 405

    def setup(self) -> None:
        self.timeout = self.server.idle_timeout  # applied to the socket by setup()
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: :meth:`_send` writes one structured line per request instead."""

    # ------------------------------------------------------------------ routing
    def do_GET(self) -> None:
        self._started = time.perf_counter()
        self._operation = "-"
        if self._refused():
            return
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
        if self._refused():
            return
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
            hint = " (the max_body_bytes setting)" if exc.status == 413 else ""
            self._send_error(exc.status, "BAD_REQUEST", exc.message.rstrip(".") + hint + ".")
            return
        except EngineError as exc:  # a body that is not a JSON object
            self._send_error(exc.status, exc.code, exc.message)
            return
        self._execute(payload)

    def _method_not_allowed(self) -> None:
        self._started = time.perf_counter()
        self._operation = "-"
        if self._refused():
            return
        if self._discard_body():
            self._refuse(method_not_allowed(self.command))

    do_PUT = do_DELETE = do_PATCH = _method_not_allowed

    def _execute(self, payload: Mapping[str, Any]) -> None:
        try:
            media_type = response_media_type(self.headers.get("Accept"))
        except HttpRefusal as refusal:
            self._refuse(refusal)
            return
        name = operation_name_of(payload)
        self._operation = name if isinstance(name, str) and name else "-"
        engine = self.server.app.engine
        try:
            caller = engine.authenticator.caller(authorization=self.headers.get("Authorization"))
        except EngineError as exc:
            self._send_error(exc.status, exc.code, exc.message)
            return
        response = engine.execute(payload, caller=caller)
        status = int(response.get("status_code", 500))
        self._send(status, engine.render(response).encode(), media_type)

    def do_OPTIONS(self) -> None:
        self._started = time.perf_counter()
        self._operation = "-"
        if self._refused():
            return
        if self._discard_body():
            self._send(204, b"", None)

    # ------------------------------------------------------------------ who may call
    def _refused(self) -> bool:
        """Answer (and True) a request from a foreign Host or a browser Origin not allowed.
        Its body is left unread and the connection closed."""
        app = self.server.app
        host = self.headers.get("Host") or ""
        if not app.any_host and _host_name(host) not in _LOOPBACK_NAMES:
            message = (
                f"Host {host[:100]!r} is not a loopback name; start `oae serve --host` to "
                "answer other names."
            )
        else:
            origin = self.headers.get("Origin")
            if origin is None or origin.rstrip("/") in app.cors_origins:
                return False
            if origin in (f"http://{host}", f"https://{host}"):
                return False  # the page itself
            message = (
                f"Origin {origin[:100]!r} may not call this server: add it to the "
                "cors_origins setting."
            )
        self.close_connection = True
        self._send_error(403, "FORBIDDEN", message)
        return True

    # ------------------------------------------------------------------ helpers
    def _read_payload(self) -> Mapping[str, Any]:
        return parse_body(read_body(self.headers, self.rfile, self.server.app.max_body_bytes))

    def _discard_body(self) -> bool:
        """Read and drop a body nobody needs; False (answered, closing) if it is unreadable."""
        try:
            read_body(self.headers, self.rfile, self.server.app.max_body_bytes)
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
        self._send(status, json.dumps(value).encode(), JSON_TYPE)

    def _send_error(self, status: int, code: str, message: str) -> None:
        self._send_json(status, envelope.error_response(status, code, message))

    def _refuse(self, refusal: HttpRefusal) -> None:
        self._allow = refusal.allow
        self._send_error(refusal.status, refusal.code, refusal.message)

    def _send(self, status: int, body: bytes, media_type: str | None) -> None:
        """``media_type``: a JSON type (edge/http.py's headers) or a static file's type."""
        self.send_response(status)
        if media_type in (None, JSON_TYPE) or media_type.endswith("+json"):
            headers = answer_headers(status, media_type, allow=self._allow)
        else:
            headers = {"Content-Type": media_type, "Cache-Control": "no-store"}
        self._allow = "POST"
        headers["Content-Length"] = str(len(body))
        if self.close_connection:
            headers["Connection"] = "close"
        origin = (self.headers.get("Origin") or "").rstrip("/")
        if origin and origin in self.server.app.cors_origins:
            headers.update(cors_headers(origin))
        for name, value in headers.items():
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


def _host_name(host: str) -> str:
    """The name of a Host header, without its port: "[::1]:8000" -> "::1"."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host
