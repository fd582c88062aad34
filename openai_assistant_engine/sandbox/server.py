"""HTTP plumbing: routing, JSON and server-sent-event replies, faults, latency, request log.

The API fakes in ``assistants_api``, ``responses_api`` and ``chat_api`` never see HTTP;
this module turns requests into :class:`ApiRequest` calls and their replies back into
bytes, in the shapes the official ``openai`` SDK expects. It also keeps the recent
request bodies (what the model was sent) and can switch the Assistants API off or the
Conversations API out. ``/_sandbox/...`` is an admin surface so another process can
steer a running sandbox.
"""

from __future__ import annotations

import contextlib
import copy
import json
import socket
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .assistants_api import ASSISTANTS_SHUTDOWN_ERROR, AssistantsApi
from .chat_api import ChatApi
from .protocol import ApiError, ApiRequest, EventStream, JsonReply, Reply, Route, new_id
from .responses_api import ResponsesApi

__all__ = ["SandboxServer"]

API_PREFIX = "/v1"
ADMIN_PREFIX = "/_sandbox"
POLL_AFTER_MS = "10"  # SDK poll helpers otherwise wait a whole second between polls
RETRY_AFTER_MS = "10"  # SDK retries otherwise back off ~0.5 s, then ~1 s
MAX_KEPT_BODIES = 1_000  # request bodies are kept for inspection, but not without bound

# status -> (error type, code, message), after what OpenAI answers for each.
_FAULT_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Bad request (injected by the sandbox)."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", None, "You are not allowed to make this request."),
    404: ("invalid_request_error", None, "Not found (injected by the sandbox)."),
    408: ("server_error", None, "Request timed out."),
    409: ("invalid_request_error", None, "Conflict (injected by the sandbox)."),
    429: (
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached for requests. Please try again in 10ms.",
    ),
    500: (
        "server_error",
        None,
        "The server had an error while processing your request. Sorry about that!",
    ),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}


@dataclass
class _Fault:
    status: int
    remaining: int
    path_contains: str | None
    method: str | None
    message: str | None

    def matches(self, method: str, path: str) -> bool:
        return (
            self.remaining > 0
            and (self.method is None or self.method.upper() == method)
            and (self.path_contains is None or self.path_contains in path)
        )

    def error(self) -> ApiError:
        kind, code, message = _FAULT_ERRORS.get(
            self.status,
            (
                "server_error" if self.status >= 500 else "invalid_request_error",
                None,
                f"Error {self.status} (injected by the sandbox).",
            ),
        )
        return ApiError(self.status, self.message or message, type=kind, code=code)


class SandboxServer:
    """An offline, scripted, OpenAI-compatible HTTP server for the official SDK.

    ``OpenAI(api_key="sk-sandbox", base_url=server.base_url)`` talks to it unmodified.
    The socket is bound at construction; ``start()`` serves from a daemon thread.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_seconds: float = 0.0,
        assistants_shutdown: bool = False,
        verbose: bool = False,
        conversations_api: bool = True,
    ) -> None:
        self.assistants_shutdown = assistants_shutdown
        # False: a provider without the Conversations API (its routes are 404s, and
        # responses.create rejects a ``conversation``); may be flipped at run time.
        self.conversations_api = conversations_api
        self.verbose = verbose
        self._latency = float(latency_seconds)
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._log: list[tuple[str, str]] = []
        self._bodies: deque[tuple[str, str, Any]] = deque(maxlen=MAX_KEPT_BODIES)
        self._assistants = AssistantsApi(lambda: self._latency)
        self._responses = ResponsesApi(lambda: self._latency, lambda: self.conversations_api)
        self._chat = ChatApi()
        self._routes: list[Route] = (
            self._assistants.routes() + self._responses.routes() + self._chat.routes()
        )
        self._httpd = _HTTPServer((host, port), self)
        self._thread: threading.Thread | None = None
        self._stopped = False

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> SandboxServer:
        if self._stopped:
            raise RuntimeError("A stopped SandboxServer cannot be restarted; create a new one.")
        if self._thread is None:
            # A short poll interval keeps stop() fast (shutdown waits for one poll).
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                args=(0.05,),
                name=f"sandbox-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.close_open_connections()
        self._httpd.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        host = str(self._httpd.server_address[0])
        return f"http://{host}:{self.port}{API_PREFIX}"

    # -- steering ---------------------------------------------------------------------

    def inject_errors(
        self,
        status: int = 429,
        count: int = 2,
        path_contains: str | None = None,
        method: str | None = None,
        message: str | None = None,
    ) -> None:
        """The next ``count`` API requests matching the filters fail with ``status``."""
        with self._lock:
            self._faults.append(_Fault(int(status), int(count), path_contains, method, message))

    def clear_errors(self) -> None:
        with self._lock:
            self._faults.clear()

    def set_latency(self, seconds: float) -> None:
        self._latency = float(seconds)

    @property
    def latency_seconds(self) -> float:
        return self._latency

    @property
    def request_log(self) -> list[tuple[str, str]]:
        """``(method, path)`` of every API request so far (query strings left out)."""
        with self._lock:
            return list(self._log)

    def clear_request_log(self) -> None:
        """Forget the request log and the kept request bodies."""
        with self._lock:
            self._log.clear()
            self._bodies.clear()

    @property
    def request_bodies(self) -> list[tuple[str, str, Any]]:
        """``(method, path, JSON body)`` of the last 1,000 API requests, oldest first.

        The body is ``None`` for a request without one (a GET) and the raw text for one
        that is not JSON. Copies: changing them changes nothing in the server.
        """
        with self._lock:
            return copy.deepcopy(list(self._bodies))

    def clear_request_bodies(self) -> None:
        with self._lock:
            self._bodies.clear()

    # -- request handling (called from handler threads) -------------------------------

    def _admit(self, method: str, path: str, body: Any) -> ApiError | None:
        """Log an API request and consume the first fault that matches it, if any."""
        with self._lock:
            self._log.append((method, path))
            self._bodies.append((method, path, body))
            fault = next((f for f in self._faults if f.matches(method, path)), None)
            if fault is not None:
                fault.remaining -= 1
                self._faults = [f for f in self._faults if f.remaining > 0]
        return fault.error() if fault is not None else None

    def _dispatch(self, method: str, path: str, query: dict[str, str], body: Any) -> Reply:
        if not path.startswith(API_PREFIX + "/"):
            raise ApiError(404, f"Invalid URL ({method} {path})")
        relative = path[len(API_PREFIX) :]
        for candidate in self._routes:
            match = candidate.pattern.match(relative)
            if match is None or candidate.method != method:
                continue
            if candidate.family == "assistants" and self.assistants_shutdown:
                return JsonReply(ASSISTANTS_SHUTDOWN_ERROR, status=404)
            if candidate.family == "conversations" and not self.conversations_api:
                break  # an API without the route: the same 404 as any unknown URL
            if not isinstance(body, dict):
                raise ApiError(400, "The request body must be a JSON object.")
            return candidate.handler(ApiRequest(method, path, query, body), **match.groupdict())
        raise ApiError(404, f"Invalid URL ({method} {path})")

    def _admin(self, method: str, path: str, query: dict[str, str], body: Any) -> JsonReply:
        body = body if isinstance(body, dict) else {}
        action = (method, path[len(ADMIN_PREFIX) :])
        if action == ("POST", "/faults"):
            self.inject_errors(
                status=body.get("status", 429),
                count=body.get("count", 1),
                path_contains=body.get("path_contains"),
                method=body.get("method"),
                message=body.get("message"),
            )
        elif action == ("DELETE", "/faults"):
            self.clear_errors()
        elif action == ("POST", "/latency"):
            self.set_latency(body.get("seconds", 0.0))
        elif action == ("POST", "/assistants_shutdown"):
            self.assistants_shutdown = bool(body.get("enabled", True))
        elif action == ("POST", "/conversations_api"):
            self.conversations_api = bool(body.get("enabled", True))
        elif action == ("GET", "/requests"):
            kept = self.request_bodies if _truthy(query.get("bodies")) else self.request_log
            return JsonReply({"requests": [list(entry) for entry in kept]})
        elif action == ("DELETE", "/requests"):
            self.clear_request_log()
        else:
            raise ApiError(404, f"Unknown sandbox admin endpoint ({method} {path})")
        return JsonReply({"ok": True})


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # several engine threads and processes connect at once

    def __init__(self, address: tuple[str, int], sandbox: SandboxServer) -> None:
        super().__init__(address, _Handler)
        self.sandbox = sandbox
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        # Tracked so stop() can end idle keep-alive connections instead of leaking them.
        with self._open_lock:
            self._open.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._open_lock:
                self._open.discard(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer is routine (a timed-out poll, a closed tab):
        # not worth a traceback on stderr. Anything else is still reported.
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)

    def close_open_connections(self) -> None:
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's algorithm and
        # delayed ACKs stall every reply by ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.sandbox.verbose:
            super().log_message(format, *args)

    def _serve(self) -> None:
        sandbox = self.server.sandbox
        url = urlsplit(self.path)
        path, method = url.path, self.command
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            if path.startswith(ADMIN_PREFIX + "/"):
                self._reply(sandbox._admin(method, path, query, _parse_json(raw)), api=False)
                return
            fault = sandbox._admit(method, path, _body_for_log(raw))
            if sandbox.latency_seconds > 0:
                time.sleep(sandbox.latency_seconds)
            if fault is not None:
                self._send_error(
                    fault, retry=fault.status in (408, 409, 429) or fault.status >= 500
                )
                return
            self._reply(sandbox._dispatch(method, path, query, _parse_json(raw)), api=True)
        except ApiError as error:
            self._send_error(error)
        except Exception as error:  # a sandbox bug must not look like a hung server
            traceback.print_exc(file=sys.stderr)
            self._send_error(ApiError(500, f"Sandbox error: {error!r}", type="server_error"))

    def _reply(self, reply: Reply, api: bool) -> None:
        if isinstance(reply, EventStream):
            self._send_events(reply)
        else:
            self._send_json(reply.status, reply.body, api=api)

    def _send_error(self, error: ApiError, retry: bool = False) -> None:
        self._send_json(
            error.status, error.body(), extra={"retry-after-ms": RETRY_AFTER_MS} if retry else None
        )

    def _send_json(
        self, status: int, body: Any, api: bool = True, extra: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", new_id("req"))
        if api:
            self.send_header("openai-poll-after-ms", POLL_AFTER_MS)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_events(self, stream: EventStream) -> None:
        # Chunked transfer keeps the connection reusable while events are written lazily.
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-request-id", new_id("req"))
        self.end_headers()
        events = stream.events
        try:
            for name, data in events:
                payload = data if isinstance(data, str) else json.dumps(data)
                event = "" if stream.data_only else f"event: {name}\n"
                chunk = f"{event}data: {payload}\n\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client went away; nothing left to tell it
            self.close_connection = True
        except Exception:  # headers are sent: all we can do is cut the stream short
            traceback.print_exc(file=sys.stderr)
            self.close_connection = True
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()  # runs the producer's ``finally`` so its state is committed


def _truthy(flag: str | None) -> bool:
    return flag is not None and flag.lower() not in ("", "0", "false", "no")


def _body_for_log(raw: bytes) -> Any:
    """The body as kept for ``request_bodies``: parsed apart, so no handler shares it."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def _parse_json(raw: bytes) -> Any:
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError(400, "We could not parse the JSON body of your request.") from None
