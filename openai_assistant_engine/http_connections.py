"""A threading HTTP server that holds at most so many connections, none of them forever.

``ThreadingHTTPServer`` gives every connection a thread and never times one out: a client
that connects and sends nothing (or stops halfway) holds a thread and a file descriptor
for good, and a few hundred of them exhaust the process's open-files limit, after which
``accept`` fails in a loop and nobody is answered. So each connection's socket gets an
idle timeout (a read or write that waits longer ends the connection) and connections
over the cap are answered ``503`` at once and closed, without a thread.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from http.server import ThreadingHTTPServer
from typing import Any

__all__ = ["BoundedHTTPServer"]

_logger = logging.getLogger(__name__)
_REFUSAL_SEND_SECONDS = 1.0  # the refusal is one small write: never wait long for it


class BoundedHTTPServer(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` with ``max_connections`` and ``idle_timeout`` per socket."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type,
        *,
        max_connections: int,
        idle_timeout: float,
    ) -> None:
        if max_connections < 1 or idle_timeout <= 0:
            raise ValueError("max_connections and idle_timeout must be positive")
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self._slots = threading.BoundedSemaphore(max_connections)
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self._refuse(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:  # no thread started: the slot is not taken after all
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def _refuse(self, request: socket.socket) -> None:
        _logger.warning(
            "Refused a connection: %d are open (http_max_connections)", self.max_connections
        )
        message = (
            f"The server holds {self.max_connections} connections already "
            "(http_max_connections); try again shortly."
        )
        body = json.dumps(
            {
                "errors": [{"message": message, "extensions": {"code": "UNAVAILABLE"}}],
                "status_code": 503,
            }
        ).encode()
        head = (
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
        ).encode()
        try:
            request.settimeout(_REFUSAL_SEND_SECONDS)
            request.sendall(head + body)
        except OSError:
            pass
        finally:
            self.shutdown_request(request)
