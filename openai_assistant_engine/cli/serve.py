"""``oae serve``: the GraphQL server and its page, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import socket
import threading
from typing import Any

from .console import CommandError, configure_logging
from .runtime import DEMO_QUESTION, local_runtime, seed_demo_assistant

__all__ = ["cmd_serve"]


def cmd_serve(args: argparse.Namespace) -> int:
    from ..server import GraphQLServer

    configure_logging(args.verbose)
    _check_port(args.host, args.port)  # before the slow start of DynamoDB and the sandbox
    with local_runtime(sandbox=args.sandbox) as runtime:
        examples: dict[str, Any] = {"updatedBy": "browser", "role": "assistant"}
        if args.sandbox:
            demo = seed_demo_assistant(runtime, "oae-serve")
            examples.update(demo, updatedBy="browser", userQuery=DEMO_QUESTION)
            runtime.notes.append(
                f"Demo assistant: assistantType={demo['assistantType']} "
                f"assistantId={demo['assistantId']}"
            )
        try:
            server = GraphQLServer(runtime.engine, args.host, args.port, examples=examples)
        except OSError as exc:  # taken meanwhile
            raise CommandError(_port_message(args.host, args.port, exc)) from None
        for note in runtime.notes:
            print(note, flush=True)
        print(f"Serving {server.url}  (page: /, GraphQL: POST /graphql)", flush=True)

        def stop(_signum: int, _frame: Any) -> None:
            # shutdown() waits for serve_forever, which runs on this very thread.
            threading.Thread(target=server.shutdown, daemon=True).start()

        previous = signal.signal(signal.SIGTERM, stop)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            server.stop()
    print("Stopped.", flush=True)
    return 0


def _check_port(host: str, port: int) -> None:
    if port == 0:
        return
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # As the server binds: a port in TIME_WAIT is free, one with a listener is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise CommandError(_port_message(host, port, exc)) from None


def _port_message(host: str, port: int, exc: OSError) -> str:
    return (
        f"Cannot listen on {host}:{port} ({exc.strerror or exc}): another program uses it. "
        "Pass --port with another port (--port 0 picks a free one), or --host."
    )
