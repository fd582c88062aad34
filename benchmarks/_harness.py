"""What the benchmarks share: moto and the sandbox on loopback, and request counting.

DynamoDB requests are counted by a small forwarding proxy in front of moto's server (by
the ``X-Amz-Target`` header), so nothing inside PynamoDB or botocore is touched; OpenAI
requests are counted by the sandbox's own request log.
"""

from __future__ import annotations

import http.client
import json
import logging
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from openai_assistant_engine import contract_document

TOOL_MODULE = "openai_assistant_engine.examples.weather_tools"


def _table_of(body: bytes, operation: str) -> str:
    try:
        request = json.loads(body)
    except ValueError:
        return operation
    tables = request.get("TableName") or ",".join(request.get("RequestItems") or ())
    return f"{operation} {tables}".strip()


class CountingProxy:
    """Forwards DynamoDB requests to ``upstream`` and counts them by operation."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.counts: Counter[str] = Counter()
        # "Operation table", in the order the requests arrived.
        self.sequence: list[str] = []
        self.items_returned = 0
        # Query and Scan items returned, by table.
        self.items_by_table: Counter[str] = Counter()
        lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                operation = (self.headers.get("X-Amz-Target") or "?").split(".")[-1]
                connection = http.client.HTTPConnection(host, int(port), timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                connection.request("POST", self.path, body, headers)
                answer = connection.getresponse()
                payload = answer.read()
                with lock:
                    proxy.counts[operation] += 1
                    proxy.sequence.append(_table_of(body, operation))
                    if operation in ("Query", "Scan") and answer.status == 200:
                        items = len(json.loads(payload).get("Items", []))
                        proxy.items_returned += items
                        proxy.items_by_table[_table_of(body, "").strip()] += items
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def total(self) -> int:
        return sum(self.counts.values())

    def reset(self) -> None:
        self.sequence.clear()
        self.counts.clear()
        self.items_returned = 0
        self.items_by_table.clear()

    def stop(self) -> None:
        self._server.shutdown()


@contextmanager
def services() -> Iterator[dict[str, Any]]:
    """moto (behind a counting proxy) and the sandbox, both on loopback."""
    from moto.server import ThreadedMotoServer

    from openai_assistant_engine.sandbox import SandboxServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    proxy = CountingProxy(f"http://{host}:{port}")
    sandbox = SandboxServer()
    sandbox.start()
    try:
        yield {"proxy": proxy, "sandbox": sandbox, "moto_url": f"http://{host}:{port}"}
    finally:
        sandbox.stop()
        proxy.stop()
        moto.stop()


def settings_for(env: dict[str, Any], backend: str, prefix: str, **extra: Any) -> dict[str, Any]:
    return {
        "region_name": "us-east-1",
        "aws_access_key_id": "bench",
        "aws_secret_access_key": "bench",
        "dynamodb_endpoint": env["proxy"].url,
        "table_prefix": prefix,
        "openai_api_key": "sk-sandbox",
        "openai_base_url": env["sandbox"].base_url,
        "openai_backend": backend,
        "run_driver": "poll",
        "function_module_allowlist": TOOL_MODULE,
        **extra,
    }


class Client:
    """Sends the spec document, verbatim, with each operation, as real clients do."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.document = contract_document()

    def __call__(self, operation: str, **variables: Any) -> dict[str, Any]:
        answer = json.loads(
            self.engine.open_assistant_graphql(
                query=self.document, variables=variables, operation_name=operation
            )
        )
        if answer.get("errors"):
            raise RuntimeError(f"{operation}: {answer['errors']}")
        return answer["data"]


def register_assistant(env: dict[str, Any], client: Client, backend: str) -> str:
    """An assistant record (and, for the Assistants API, the assistant upstream)."""
    from openai import OpenAI

    assistant_id = "asst_bench"
    if backend == "assistants":
        upstream = OpenAI(api_key="sk-sandbox", base_url=env["sandbox"].base_url)
        assistant_id = upstream.beta.assistants.create(model="gpt-sandbox").id
    client.engine.open_assistant_graphql(
        query="""mutation($id: String!, $f: [JSON]!, $c: JSON) {
            insertUpdateAssistant(assistantType: "bench", assistantId: $id,
              assistantName: "Bench", functions: $f, updatedBy: "bench", configuration: $c)
            { assistant { assistantId } } }""",
        variables={
            "id": assistant_id,
            "f": [
                {
                    "module_name": TOOL_MODULE,
                    "class_name": "WeatherTools",
                    "function_name": "get_weather",
                    "configuration": {},
                }
            ],
            "c": {"model": "gpt-sandbox"},
        },
    )
    return assistant_id


def run_turn(
    client: Client,
    assistant_id: str,
    thread_id: str | None,
    text: str,
    poll_interval: float = 0.0,
) -> str:
    """askOpenAi, currentRun (every ``poll_interval`` s) until the run ends, lastMessage:
    one user turn."""
    asked = client(
        "askOpenAi",
        assistantType="bench",
        assistantId=assistant_id,
        userQuery=text,
        updatedBy="bench",
        threadId=thread_id,
    )["askOpenAi"]
    deadline = time.monotonic() + 30
    while True:
        run = client(
            "getCurrentRun",
            assistantId=assistant_id,
            threadId=asked["threadId"],
            runId=asked["currentRunId"],
            updatedBy="bench",
        )["currentRun"]
        if run["status"] in ("completed", "failed", "cancelled", "expired", "incomplete"):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"run {asked['currentRunId']} did not end")
        time.sleep(poll_interval)
    client("getLastMessage", assistantId=assistant_id, threadId=asked["threadId"], role="assistant")
    return asked["threadId"]


ROOT = Path(__file__).resolve().parents[1]


def start_moto_and_sandbox(
    port: int, prefix: str, latency: float = 0.0
) -> tuple[list[subprocess.Popen], dict[str, Any]]:
    """moto's server (on ``port``) and the sandbox (on ``port + 1``, answering each
    request after ``latency`` seconds) as processes of their own, so that a measured
    process's CPU and GIL are its own; their settings for an engine, tables created."""
    moto = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    sandbox = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "openai_assistant_engine.sandbox",
            "--port",
            str(port + 1),
            "--latency",
            str(latency),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert sandbox.stdout is not None
    sandbox_url = sandbox.stdout.readline().strip()
    setting = {
        "region_name": "us-east-1",
        "aws_access_key_id": "bench",
        "aws_secret_access_key": "bench",
        "dynamodb_endpoint": f"http://127.0.0.1:{port}",
        "table_prefix": prefix,
        "openai_api_key": "sk-sandbox",
        "openai_base_url": sandbox_url,
        "function_module_allowlist": TOOL_MODULE,
    }
    _wait_for(f"http://127.0.0.1:{port}/moto-api/")
    from openai_assistant_engine import create_tables

    create_tables(**setting)
    return [moto, sandbox], setting


def stop_processes(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_for(url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
