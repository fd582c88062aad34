"""What identity costs: the same operations with identity off and as an API-key caller.

One table set holds threads (with a message each) of two tenants. Each operation runs
through the engine's GraphQL entry point, identity off (single-tenant) and on (a bearer
API key of tenant ``acme``: the key's hash is checked, then the thread's owner). Printed:
median ms, DynamoDB requests per call by operation, and the items the calls' Query/Scan
requests returned at the wire. Goal: on / off <= 1.3 for reads of one record, and a
tenant's threadList reads none of the other tenant's items.

    .venv/bin/python benchmarks/identity.py [--threads 200] [--repeat 30]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from typing import Any

from _harness import services, settings_for

from openai_assistant_engine import OpenaiAssistantEngine, create_tables
from openai_assistant_engine.identity import Caller
from openai_assistant_engine.identity.api_keys import hash_key, new_key

THREAD = """query($t: String!) { thread(assistantId: "a", threadId: $t) { threadId updatedBy } }"""
MESSAGES = """query($t: String!) { messageList(threadId: $t, limit: 10) { total } }"""
THREAD_LIST = """query { threadList(limit: 10) { total threadList { threadId } } }"""
PUT_THREAD = """mutation($t: String!) { insertUpdateThread(assistantId: "a", threadId: $t,
    assistantType: "bench", updatedBy: "") { thread { threadId } } }"""
PUT_MESSAGE = """mutation($t: String!) { insertUpdateMessage(threadId: $t, messageId: "m",
    runId: "r", role: "user", message: "hello", createdAt: "2026-01-01T00:00:00Z")
    { message { messageId } } }"""


def _call(engine: OpenaiAssistantEngine, query: str, **params: Any) -> dict[str, Any]:
    answer = json.loads(engine.open_assistant_graphql(query=query, **params))
    if answer.get("errors"):
        raise RuntimeError(answer["errors"])
    return answer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=200, help="threads per tenant")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    key = new_key()
    entry = {"hash": hash_key(key), "user": "owner-0", "tenant": "acme", "admin": True}
    with services() as env:
        base = settings_for(env, "responses", "bench-identity-")
        create_tables(**base)
        logger = logging.getLogger("bench")
        off = OpenaiAssistantEngine(logger, **base)
        on = OpenaiAssistantEngine(logger, **base, api_keys=json.dumps([entry]))
        for tenant in ("acme", "globex"):
            for number in range(args.threads):
                caller = Caller(user=f"owner-{number % 2}", tenant=tenant)
                variables = {"t": f"{tenant}-{number}"}
                _call(off, PUT_THREAD, variables=variables, identity=caller)
                _call(off, PUT_MESSAGE, variables=variables, identity=caller)
        cases = [
            ("thread", THREAD, {"t": "acme-0"}),
            ("messageList(threadId)", MESSAGES, {"t": "acme-0"}),
            ("threadList (limit 10)", THREAD_LIST, {}),
        ]
        print(f"{args.threads} threads per tenant, 2 tenants; median of {args.repeat} calls\n")
        print("| operation | off ms | on ms | on/off | DynamoDB requests off; on | items off; on |")
        print("|---|---|---|---|---|---|")
        modes = (("off", off, {}), ("on", on, {"authorization": f"Bearer {key}"}))
        for name, query, variables in cases:
            times: dict[str, list[float]] = {"off": [], "on": []}
            requests: dict[str, str] = {}
            items: dict[str, float] = {}
            for mode, engine, extra in modes:  # warm, and count one mode's requests
                _call(engine, query, variables=variables, **extra)
                env["proxy"].reset()
                _call(engine, query, variables=variables, **extra)
                counts = sorted(env["proxy"].counts.items())
                requests[mode] = ", ".join(f"{op} {n}" for op, n in counts)
                items[mode] = env["proxy"].items_returned
            for _ in range(args.repeat):  # interleaved: load on the machine hits both alike
                for mode, engine, extra in modes:
                    started = time.perf_counter()
                    _call(engine, query, variables=variables, **extra)
                    times[mode].append((time.perf_counter() - started) * 1000)
            off_ms, on_ms = (statistics.median(times[m]) for m in ("off", "on"))
            print(
                f"| {name} | {off_ms:.2f} | {on_ms:.2f} | {on_ms / off_ms:.2f} | "
                f"{requests['off']}; {requests['on']} | {items['off']:g}; {items['on']:g} |"
            )


if __name__ == "__main__":
    main()
