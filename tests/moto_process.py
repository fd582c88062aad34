"""moto's server in a process of its own, for the tests.

In the test process moto would share one interpreter lock with the engine, the sandbox
and the test threads; in its own process it uses the second core. It prints its port on
one line once it serves and stops when its standard input closes (the tests ended, or
died).

Requests are handled one at a time. DynamoDB's conditional writes are atomic; moto's are
a read, a check and a write, and two requests racing through them can both win (the
run-engine race tests saw a tool call claimed, and run, twice). One lock around moto's
application gives its writes the atomicity the engine relies on. The lock is DynamoDB's
only: an SQS receive may wait up to 20 seconds for a message (a long poll), and must not
hold every table meanwhile.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any


def main() -> None:
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    moto = DomainDispatcherApplication(create_backend_app)
    one_at_a_time = threading.Lock()

    def atomic(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            return moto(environ, start_response)
        with one_at_a_time:
            return list(moto(environ, start_response))  # the whole answer, under the lock

    server = make_server("127.0.0.1", 0, atomic, threaded=True, request_handler=MotoRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()  # returns at end of input: the parent is gone
    # Nothing to keep: an orderly stop waits on open connections and tears down every
    # table of the run (seconds); leaving at once is instant.
    os._exit(0)


if __name__ == "__main__":
    main()
