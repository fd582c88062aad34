"""Per-turn cost as one thread grows: OpenAI requests, DynamoDB requests, wall time.

The original system listed the whole thread on every lastMessage, so its cost grew with
the thread. Here a turn should cost the same at turn 100 as at turn 1, on both backends.
Each turn asks for one function call (weather), so tools, claims and records are in it.

    .venv/bin/python benchmarks/turns.py [--turns 100] [--list] [--latency 0.05] [--poll-ms 100]

The client polls currentRun every ``--poll-ms`` while the sandbox answers each request
after ``--latency`` seconds, as a model would take its time: with the defaults each poll
finds the run moved on (``--poll-ms 0`` adds the idle polls of a client polling back to
back: one GetItem and one OpenAI read each).
"""

from __future__ import annotations

import argparse
import logging
import time

from _harness import Client, register_assistant, run_turn, services, settings_for

from openai_assistant_engine import OpenaiAssistantEngine, create_tables

TEXT = 'How is the weather?\ncall:get_weather {"city": "Paris"}'


def measure(
    env: dict,
    backend: str,
    turns: int,
    report_at: set[int],
    listing: bool = False,
    poll_interval: float = 0.0,
    driver: str = "poll",
) -> list[tuple]:
    setting = settings_for(
        env, backend, prefix=f"bench-turns-{backend}-{driver}-", run_driver=driver
    )
    create_tables(**setting)
    client = Client(OpenaiAssistantEngine(logging.getLogger("bench"), **setting))
    assistant_id = register_assistant(env, client, backend)
    sandbox, proxy = env["sandbox"], env["proxy"]
    rows = []
    thread_id = None
    for turn in range(1, turns + 1):
        sandbox.clear_request_log()
        proxy.reset()
        started = time.perf_counter()
        thread_id = run_turn(client, assistant_id, thread_id, TEXT, poll_interval)
        elapsed = time.perf_counter() - started
        if turn == 2 and listing:
            print(f"\n{backend}, turn 2, requests in order:")
            for method, path in sandbox.request_log:
                print(f"  OpenAI    {method} {path}")
            for request in proxy.sequence:
                print(f"  DynamoDB  {request}")
        if turn in report_at:
            rows.append((backend, turn, len(sandbox.request_log), proxy.total(), elapsed * 1000))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--list", action="store_true", help="print turn 2's requests in order")
    parser.add_argument("--latency", type=float, default=0.05, help="sandbox seconds/request")
    parser.add_argument("--poll-ms", type=float, default=100, help="the client's poll interval")
    parser.add_argument("--driver", choices=("poll", "stream"), default="poll")
    args = parser.parse_args()
    report_at = {t for t in (1, 10, 50, 100) if t <= args.turns} | {args.turns}
    with services() as env:
        env["sandbox"].set_latency(args.latency)
        rows = []
        for backend in ("assistants", "responses"):
            rows += measure(
                env, backend, args.turns, report_at, args.list, args.poll_ms / 1000, args.driver
            )
    print(f"{'backend':<11} {'turn':>5} {'openai req':>11} {'dynamodb req':>13} {'ms':>8}")
    for backend, turn, openai_requests, dynamo_requests, ms in rows:
        print(f"{backend:<11} {turn:>5} {openai_requests:>11} {dynamo_requests:>13} {ms:>8.1f}")


if __name__ == "__main__":
    main()
