"""Per-turn cost as one thread grows: OpenAI requests, DynamoDB requests and items, wall time.

The original system listed the whole thread on every lastMessage, so its cost grew with
the thread. Here a turn should cost the same at turn 100 as at turn 1, on every backend.
Each turn asks for one function call (weather), so it has two model rounds, and tools,
claims and records are in it.

    .venv/bin/python benchmarks/turns.py [--turns 100] [--backend chat] [--list]
        [--latency 0.05] [--poll-ms 100] [--driver poll|stream] [--context-max-tokens N]

Backends (``--backend``, several allowed; all four by default):

* ``responses``: OpenAI conversations (``conversation_state=openai``);
* ``responses-engine``: stateless Responses (``store=false``), the engine sends the whole
  conversation it holds (``conversation_state=engine``);
* ``chat``: Chat Completions, the conversation rebuilt from the records each request;
* ``assistants``: Assistants threads.

The client polls currentRun every ``--poll-ms`` while the sandbox answers each request
after ``--latency`` seconds, as a model would take its time: with the defaults each poll
finds the run moved on (``--poll-ms 0`` adds the idle polls of a client polling back to
back). "items" are the items DynamoDB's Query (and Scan) answers returned during the
turn, counted at the wire; "x t1" divides a turn's figure by turn 1's. The default is 20
turns (about a minute on 2 cores); ``--turns 100`` reports turns 1, 10, 50, 100.
"""

from __future__ import annotations

import argparse
import logging
import time

from _harness import Client, register_assistant, run_turn, services, settings_for

from openai_assistant_engine import OpenaiAssistantEngine, create_tables

TEXT = 'How is the weather?\ncall:get_weather {"city": "Paris"}'
ROUNDS = 2  # model rounds per turn: the call, then the answer after its output
# The name shown -> (openai_backend, conversation_state).
BACKENDS = {
    "responses": ("responses", "openai"),
    "responses-engine": ("responses", "engine"),
    "chat": ("chat", "engine"),
    "assistants": ("assistants", "openai"),
}


def measure(
    env: dict,
    name: str,
    turns: int,
    report_at: set[int],
    listing: bool = False,
    poll_interval: float = 0.0,
    driver: str = "poll",
    context_max_tokens: int | None = None,
) -> list[tuple]:
    backend, state = BACKENDS[name]
    extra = {"context_max_tokens": context_max_tokens} if context_max_tokens else {}
    setting = settings_for(
        env,
        backend,
        prefix=f"bench-turns-{name}-{driver}-",
        run_driver=driver,
        conversation_state=state,
        **extra,
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
            print(f"\n{name}, turn 2, requests in order:")
            for method, path in sandbox.request_log:
                print(f"  OpenAI    {method} {path}")
            for request in proxy.sequence:
                print(f"  DynamoDB  {request}")
            print(f"  items read by table: {dict(proxy.items_by_table)}")
        if turn in report_at:
            rows.append(
                (
                    name,
                    turn,
                    len(sandbox.request_log),
                    proxy.total(),
                    proxy.items_returned,
                    elapsed * 1000,
                    dict(proxy.items_by_table),
                )
            )
    return rows


def _ratio(value: int, first: int) -> str:
    return f"{value / first:.2f}" if first else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument(
        "--backend",
        action="append",
        choices=tuple(BACKENDS),
        help="measure this backend (repeatable; default: all four)",
    )
    parser.add_argument("--list", action="store_true", help="print turn 2's requests in order")
    parser.add_argument("--latency", type=float, default=0.05, help="sandbox seconds/request")
    parser.add_argument("--poll-ms", type=float, default=100, help="the client's poll interval")
    parser.add_argument("--driver", choices=("poll", "stream"), default="poll")
    parser.add_argument(
        "--context-max-tokens",
        type=int,
        default=None,
        help="engine-held backends' history budget (default: the setting's, 32000)",
    )
    parser.add_argument("--tables", action="store_true", help="also print the items read by table")
    args = parser.parse_args()
    report_at = {t for t in (1, 10, 50, 100) if t <= args.turns} | {args.turns}
    names = args.backend or list(BACKENDS)
    with services() as env:
        env["sandbox"].set_latency(args.latency)
        rows = []
        for name in names:
            rows += measure(
                env,
                name,
                args.turns,
                report_at,
                args.list,
                args.poll_ms / 1000,
                args.driver,
                args.context_max_tokens,
            )
    print(
        f"\n{'backend':<17} {'turn':>5} {'openai req':>11} {'per round':>10} "
        f"{'dynamodb req':>13} {'x t1':>6} {'items read':>11} {'x t1':>6} {'ms':>8}"
    )
    first: dict[str, tuple] = {}
    for name, turn, openai_requests, dynamo_requests, items, ms, _ in rows:
        base = first.setdefault(name, (dynamo_requests, items))
        print(
            f"{name:<17} {turn:>5} {openai_requests:>11} {openai_requests / ROUNDS:>10.1f} "
            f"{dynamo_requests:>13} {_ratio(dynamo_requests, base[0]):>6} "
            f"{items:>11} {_ratio(items, base[1]):>6} {ms:>8.1f}"
        )
    if args.tables:
        print(f"\n{'backend':<17} {'turn':>5}  items read by table")
        for name, turn, *_, by_table in rows:
            tables = ", ".join(f"{table}: {count}" for table, count in sorted(by_table.items()))
            print(f"{name:<17} {turn:>5}  {tables}")


if __name__ == "__main__":
    main()
