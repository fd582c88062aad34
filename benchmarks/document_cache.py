"""The document cache: ping sent with the whole spec document, as clients send it.

Parsing and validating the 18-operation document costs milliseconds; the engine does it
once per distinct text. Goal: ping with the full document <= 1 ms median after warm-up.

    .venv/bin/python benchmarks/document_cache.py [--calls 2000]
"""

from __future__ import annotations

import argparse
import statistics
import time

from graphql import parse, validate

from openai_assistant_engine import OpenaiAssistantEngine, contract_document
from openai_assistant_engine.schema import build_schema


def median_ms(action, calls: int) -> float:
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    document = contract_document()
    schema = build_schema().graphql_schema
    engine = OpenaiAssistantEngine(None)

    def ping() -> None:
        engine.open_assistant_graphql(query=document, operation_name="ping")

    def parse_and_validate() -> None:
        validate(schema, parse(document))

    ping()  # warm-up: the first call parses and validates
    uncached = median_ms(parse_and_validate, max(50, args.calls // 20))
    cached = median_ms(ping, args.calls)
    print(f"{'what':<52} {'median ms':>10}")
    print(f"{'parse + validate the spec document (no cache)':<52} {uncached:>10.3f}")
    print(f"{'engine: ping with the spec document (cached)':<52} {cached:>10.3f}")
    print(f"{'ratio uncached / cached':<52} {uncached / cached:>10.1f}")


if __name__ == "__main__":
    main()
