"""Throughput of `oae serve` under concurrent conversations on loopback.

Starts moto's DynamoDB server, the sandbox model and `oae serve` as three processes (so
the server's figures are not the other two's GIL), warms the server up with a few
conversations, then runs
``--conversations`` clients at once, each doing ``--turns`` turns (askOpenAi, currentRun
until the run ends, lastMessage; every turn makes one function call), then checks that
every message, run usage and tool call was recorded. Bounded in count and time: it stops
by itself after the turns or ``--max-seconds``, whichever comes first. Prints requests/s
and latencies, of all requests and of currentRun alone.

    .venv/bin/python benchmarks/load.py [--conversations 50] [--turns 3] [--port 18203]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

from _harness import ROOT, TOOL_MODULE, start_moto_and_sandbox, stop_processes

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
        self.current_run: list[float] = []  # currentRun's latencies alone
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
                elapsed = time.perf_counter() - started
                self.latencies.append(elapsed)
                if operation == "getCurrentRun":
                    self.current_run.append(elapsed)
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


def start_services(port: int) -> tuple[list[subprocess.Popen], str]:
    """moto, the sandbox and `oae serve` (on ``port``, ``port + 1`` and a free port)."""
    processes, setting = start_moto_and_sandbox(port, prefix="load-")
    environment = {**os.environ, **{name.upper(): value for name, value in setting.items()}}
    server = subprocess.Popen(
        [sys.executable, "-m", "openai_assistant_engine.cli", "serve", "--port", "0"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    processes.append(server)
    for line in server.stdout:
        if line.startswith("Serving "):
            return processes, line.split()[1]
    raise RuntimeError("the server did not start")


def register_assistant(url: str) -> dict:
    """A Responses-backend assistant with the weather tool, made over GraphQL."""
    keys = {"assistantType": "load", "assistantId": "asst_load"}
    function = {
        "module_name": TOOL_MODULE,
        "class_name": "WeatherTools",
        "function_name": "get_weather",
        "configuration": {},
    }
    body = json.dumps(
        {
            "query": """mutation($t: String!, $i: String!, $f: [JSON]!, $c: JSON) {
                insertUpdateAssistant(assistantType: $t, assistantId: $i, assistantName: "Load",
                  functions: $f, updatedBy: "load", configuration: $c)
                  { assistant { assistantId } } }""",
            "variables": {
                "t": keys["assistantType"],
                "i": keys["assistantId"],
                "f": [function],
                "c": {"model": "gpt-sandbox"},
            },
        }
    ).encode()
    request = urllib.request.Request(f"{url}/graphql", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        assert "errors" not in json.loads(answer.read())
    return keys


def run_conversations(load: Load, conversations: int, turns: int) -> float:
    workers = [
        threading.Thread(target=load.conversation, args=(turns,)) for _ in range(conversations)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - started


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else 0.0


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
    parser.add_argument("--warmup", type=int, default=5, help="conversations of one turn first")
    parser.add_argument("--max-seconds", type=float, default=300)
    parser.add_argument("--port", type=int, default=18203, help="moto's; the sandbox's is +1")
    args = parser.parse_args()
    processes, url = start_services(args.port)
    try:
        assistant = register_assistant(url)
        warm = Load(url, assistant, time.monotonic() + args.max_seconds)
        run_conversations(warm, args.warmup, 1)
        load = Load(url, assistant, time.monotonic() + args.max_seconds)
        elapsed = run_conversations(load, args.conversations, args.turns)
        missing = verify(load)
    finally:
        stop_processes(processes)
    latencies = load.latencies
    print(f"conversations {args.conversations}, turns each {args.turns}, {elapsed:.1f} s")
    print(f"{'requests':<24} {len(latencies):>10}")
    print(f"{'requests/s':<24} {len(latencies) / elapsed:>10.1f}")
    print(f"{'p50 ms':<24} {statistics.median(latencies) * 1000:>10.1f}")
    print(f"{'p99 ms':<24} {percentile(latencies, 0.99) * 1000:>10.1f}")
    print(f"{'currentRun p50 ms':<24} {percentile(load.current_run, 0.5) * 1000:>10.1f}")
    print(f"{'currentRun p99 ms':<24} {percentile(load.current_run, 0.99) * 1000:>10.1f}")
    print(f"{'errors':<24} {len(load.errors) + len(warm.errors):>10}")
    print(f"{'turns completed':<24} {len(load.runs):>10}")
    for what, count in missing.items():
        print(f"{'missing ' + what:<24} {count:>10}")
    for error in (warm.errors + load.errors)[:5]:
        print("  error:", error)


if __name__ == "__main__":
    main()
