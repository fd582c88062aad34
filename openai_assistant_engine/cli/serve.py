"""``oae serve``: the GraphQL server and its page, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

from .console import configure_logging
from .runtime import DEMO_QUESTION, local_runtime, seed_demo_assistant

__all__ = ["cmd_serve"]


def cmd_serve(args: argparse.Namespace) -> int:
    from ..server import GraphQLServer

    configure_logging(args.verbose)
    with local_runtime(sandbox=args.sandbox) as runtime:
        examples: dict[str, Any] = {"updatedBy": "browser", "role": "assistant"}
        if args.sandbox:
            demo = seed_demo_assistant(runtime, "oae-serve")
            examples.update(demo, updatedBy="browser", userQuery=DEMO_QUESTION)
            runtime.notes.append(
                f"Demo assistant: assistantType={demo['assistantType']} "
                f"assistantId={demo['assistantId']}"
            )
        server = GraphQLServer(
            runtime.engine,
            args.host or "127.0.0.1",
            args.port,
            examples=examples,
            any_host=args.host is not None,  # told to listen beyond loopback
        )
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
