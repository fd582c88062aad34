"""``python -m openai_assistant_engine.sandbox``: serve the sandbox in the foreground."""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Sequence
from typing import Any

from .server import SandboxServer


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m openai_assistant_engine.sandbox",
        description="Offline scripted OpenAI-compatible server.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        help="seconds to wait before answering each API request",
    )
    parser.add_argument(
        "--assistants-shutdown",
        action="store_true",
        help="answer every Assistants endpoint like a shut-down API",
    )
    parser.add_argument(
        "--no-conversations",
        action="store_true",
        help="serve no Conversations API (like a provider without it)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)

    server = SandboxServer(
        host=args.host,
        port=args.port,
        latency_seconds=args.latency,
        assistants_shutdown=args.assistants_shutdown,
        conversations_api=not args.no_conversations,
        verbose=args.verbose,
    )
    stopped = threading.Event()

    def request_stop(_signum: int, _frame: Any) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, request_stop)
    server.start()
    print(server.base_url, flush=True)
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
