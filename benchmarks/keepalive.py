"""Requests on one kept-alive connection to `oae serve`: as served, vs headers and body in
two sends with Nagle's algorithm on (how the server answered before).

With two small sends and Nagle on, the body waits for the client's ACK of the headers,
which the client delays (~40 ms on Linux): every request after the first pays it. The
server now sets TCP_NODELAY and writes headers and body in one send.

    .venv/bin/python benchmarks/keepalive.py --requests 200
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import statistics
import time

from openai_assistant_engine import OpenaiAssistantEngine
from openai_assistant_engine.server import GraphQLServer, _Handler

PING = json.dumps({"query": "query ping { ping }", "operationName": "ping"}).encode()


class _TwoSendsNagleOn(_Handler):
    """The handler as it was: unbuffered writes (headers, then body), Nagle on."""

    disable_nagle_algorithm = False
    wbufsize = 0


def _timings(port: int, method: str, path: str, requests: int) -> list[float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = PING if method == "POST" else None
    timings = []
    try:
        for _ in range(requests + 1):
            started = time.perf_counter()
            connection.request(method, path, body=body)
            response = connection.getresponse()
            response.read()
            assert response.status == 200, response.status
            timings.append((time.perf_counter() - started) * 1000)
    finally:
        connection.close()
    return timings[1:]  # the first request also opens the connection


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    engine = OpenaiAssistantEngine(
        logging.getLogger("bench"), region_name="us-east-1", openai_api_key="sk-none"
    )
    print("| server | request | median ms | p90 ms |")
    print("|---|---|---|---|")
    for label, handler in (("before: two sends, Nagle on", _TwoSendsNagleOn), ("now", _Handler)):
        server = GraphQLServer(engine, port=0)
        server._httpd.RequestHandlerClass = handler  # the benchmark's only reach inside
        server.start()
        try:
            for method, path in (("GET", "/healthz"), ("POST", "/graphql")):
                timings = _timings(server.port, method, path, args.requests)
                p90 = statistics.quantiles(timings, n=10)[-1]
                print(
                    f"| {label} | {method} {path} | {statistics.median(timings):.2f} | {p90:.2f} |"
                )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
