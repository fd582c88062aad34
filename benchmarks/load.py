"""Throughput of `oae serve --sandbox` under concurrent conversations on loopback.

Starts the server as a child process (embedded DynamoDB, sandbox model), runs
``--conversations`` clients at once, each doing ``--turns`` turns (askOpenAi, currentRun
until the run ends, lastMessage; every turn makes one function call), then checks that
every message, run usage and tool call was recorded. Bounded in count and time: it stops
by itself after the turns or ``--max-seconds``, whichever comes first.

    .venv/bin/python benchmarks/load.py [--conversations 50] [--turns 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "openai_assistant_engine" / "schema" / "contract.graphql"
TEXT = 'Weather please\ncall:get_weather {"city": "Tokyo"}'
TERMINAL = {"completed", "failed", "cancelled", "expired", "incomplete"}


class Load:
    def __init__(self, url: str, assistant: dict, deadline: float) -> None:
        self.url = url
        self.assistant = assistant
        self.deadline = deadline
        self.document = SPEC.read_text()
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.runs: list[tuple[str, str]] = []  # (thread_id, run_id)
        self.lock = threading.Lock()

    def call(self, operation: str, **variables: object) -> dict:
        body = json.dumps(
            {"query": self.document, "variables": variables, "operationName": operation}
        ).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", body, {"Content-Type": "application/json"}
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                payload = json.loads(answer.read())
        except Exception as exc:
            with self.lock:
                self.errors.append(f"{operation}: {exc}")
            raise
        finally:
            with self.lock:
                self.latencies.append(time.perf_counter() - started)
        if payload.get("errors"):
            with self.lock:
                self.errors.append(f"{operation}: {payload['errors'][0]['message']}")
            raise RuntimeError(payload["errors"])
        return payload["data"]

    def conversation(self, turns: int) -> None:
        keys = {
            "assistantType": self.assistant["assistantType"],
            "assistantId": self.assistant["assistantId"],
        }
        thread_id = None
        try:
            for _ in range(turns):
                if time.monotonic() > self.deadline:
                    return
                asked = self.call(
                    "askOpenAi", **keys, userQuery=TEXT, updatedBy="load", threadId=thread_id
                )["askOpenAi"]
                thread_id = asked["threadId"]
                while True:
                    run = self.call(
                        "getCurrentRun",
                        assistantId=keys["assistantId"],
                        threadId=thread_id,
                        runId=asked["currentRunId"],
                        updatedBy="load",
                    )["currentRun"]
                    if run["status"] in TERMINAL or time.monotonic() > self.deadline:
                        break
                    time.sleep(0.05)
                self.call(
                    "getLastMessage",
                    assistantId=keys["assistantId"],
                    threadId=thread_id,
                    role="assistant",
                )
                with self.lock:
                    self.runs.append((thread_id, asked["currentRunId"]))
        except Exception:
            return  # counted in errors


def start_server() -> tuple[subprocess.Popen, str]:
    server = subprocess.Popen(
        [sys.executable, "-m", "openai_assistant_engine.cli", "serve", "--sandbox", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    for line in server.stdout:
        if line.startswith("Serving "):
            return server, line.split()[1]
    raise RuntimeError("the server did not start")


def verify(load: Load) -> dict[str, int]:
    """Every run recorded with usage, both messages of its turn, and its tool call."""
    missing = {"run usage": 0, "messages": 0, "tool calls": 0}
    query = (
        "query($a: String!, $t: String!, $r: String!) {"
        " thread(assistantId: $a, threadId: $t) { runs }"
        " messageList(threadId: $t, limit: 1000) { messageList { runId role } }"
        " toolCalls(runId: $r) { status } }"
    )
    for thread_id, run_id in load.runs:
        body = json.dumps(
            {
                "query": query,
                "variables": {"a": load.assistant["assistantId"], "t": thread_id, "r": run_id},
            }
        ).encode()
        request = urllib.request.Request(
            f"{load.url}/graphql", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            data = json.loads(answer.read())["data"]
        run = next((r for r in data["thread"]["runs"] if r["run_id"] == run_id), None)
        if not run or not (run.get("usage") or {}).get("total_tokens"):
            missing["run usage"] += 1
        roles = {m["role"] for m in data["messageList"]["messageList"] if m["runId"] == run_id}
        if roles != {"user", "assistant"}:
            missing["messages"] += 1
        if [c["status"] for c in data["toolCalls"]] != ["completed"]:
            missing["tool calls"] += 1
    return missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=300)
    args = parser.parse_args()
    server, url = start_server()
    try:
        with urllib.request.urlopen(f"{url}/examples.json", timeout=30) as answer:
            assistant = json.loads(answer.read())
        load = Load(url, assistant, time.monotonic() + args.max_seconds)
        workers = [
            threading.Thread(target=load.conversation, args=(args.turns,))
            for _ in range(args.conversations)
        ]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        elapsed = time.perf_counter() - started
        latencies = sorted(load.latencies)
        missing = verify(load)
    finally:
        server.terminate()
        server.wait(timeout=30)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"conversations {args.conversations}, turns each {args.turns}, {elapsed:.1f} s")
    print(f"{'requests':<24} {len(latencies):>10}")
    print(f"{'requests/s':<24} {len(latencies) / elapsed:>10.1f}")
    print(f"{'p50 ms':<24} {statistics.median(latencies) * 1000:>10.1f}")
    print(f"{'p99 ms':<24} {p99 * 1000:>10.1f}")
    print(f"{'errors':<24} {len(load.errors):>10}")
    print(f"{'turns completed':<24} {len(load.runs):>10}")
    for what, count in missing.items():
        print(f"{'missing ' + what:<24} {count:>10}")
    for error in load.errors[:5]:
        print("  error:", error)


if __name__ == "__main__":
    main()
