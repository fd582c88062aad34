"""Engine overhead: each operation through the engine vs. the same requests made directly.

For askOpenAi, currentRun, lastMessage and getMessageList, the engine (GraphQL document
sent verbatim, parsing cached, resolvers, records) is timed against a hand-written
sequence of the same OpenAI SDK calls and PynamoDB operations it makes (the sequences are
checked against the request counters, so both sides do the same I/O). Medians of
interleaved repetitions, one run, Assistants backend, poll driver, sandbox without latency.
Goal: engine / direct <= 1.15.

    .venv/bin/python benchmarks/overhead.py [--repeat 40]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
import warnings
from collections import Counter
from datetime import datetime, timezone
from typing import Any

from _harness import Client, register_assistant, services, settings_for

from openai_assistant_engine import OpenaiAssistantEngine, create_tables
from openai_assistant_engine.backends.client import openai_client

# A run that is still in progress at its first poll and answers a few polls later.
SLOW = "Take your time\nsteps:3"


class Direct:
    """The engine's requests, made with the SDK and PynamoDB and nothing else."""

    def __init__(self, engine: OpenaiAssistantEngine, assistant_id: str) -> None:
        self.models = engine.store.models
        self.openai = openai_client(engine.settings).beta.threads
        self.assistant_id = assistant_id

    def ask(self, thread_id: str) -> str:
        m = self.models
        Thread, Run = m.Thread, m.Run
        m.Assistant.get("bench", self.assistant_id)
        m.Thread.get(self.assistant_id, thread_id)
        now = datetime.now(timezone.utc)
        Thread(self.assistant_id, thread_id).update(
            actions=[
                Thread.assistant_type.set("bench"),
                Thread.updated_by.set("bench"),
                Thread.updated_at.set(now),
                Thread.created_at.set(Thread.created_at | now),
                Thread.is_voice.set(Thread.is_voice | False),
                Thread.backend.set(Thread.backend | "assistants"),
            ]
        )
        run = self.openai.runs.create(
            thread_id=thread_id,
            assistant_id=self.assistant_id,
            additional_messages=[{"role": "user", "content": SLOW}],
        )
        page = self.openai.messages.list(thread_id, order="desc", limit=10)
        message = next(item for item in page.data if item.role == "user")
        Run(thread_id, run.id).update(
            actions=[
                Run.updated_at.set(now),
                Run.created_at.set(Run.created_at | now),
                Run.status.set(run.status),
                Run.usage.set({}),
                Run.model.set(run.model),
                Run.assistant_id.set(self.assistant_id),
                Run.assistant_type.set("bench"),
                Run.backend.set("assistants"),
                Run.updated_by.set("bench"),
                Run.backend_state.remove(),
            ]
        )
        Thread(self.assistant_id, thread_id).update(actions=[Thread.active_run_id.set(run.id)])
        m.Message(thread_id, message.id).update(
            actions=[
                m.Message.role.set("user"),
                m.Message.message.set(SLOW),
                m.Message.created_at.set(now),
                m.Message.run_id.set(run.id),
            ]
        )
        return run.id

    def current_run(self, thread_id: str, run_id: str) -> str:
        self.models.Run.get(thread_id, run_id, consistent_read=True)
        return self.openai.runs.retrieve(run_id, thread_id=thread_id).status

    def last_message(self, thread_id: str) -> str:
        m = self.models
        m.Thread.get(self.assistant_id, thread_id)
        page = self.openai.messages.list(thread_id, order="desc", limit=10)
        message = next(item for item in page.data if item.role == "assistant")
        m.Message(thread_id, message.id).update(
            actions=[
                m.Message.role.set("assistant"),
                m.Message.message.set(message.content[0].text.value),
                m.Message.created_at.set(datetime.now(timezone.utc)),
                m.Message.run_id.set(message.run_id),
            ]
        )
        return message.id

    def message_list(self, thread_id: str) -> int:
        index = self.models.Message.created_at_index
        index.count(thread_id)
        return len(list(index.query(thread_id, limit=20)))


def finish_run(client: Client, assistant_id: str, thread_id: str, run_id: str) -> None:
    for _ in range(20):
        run = client(
            "getCurrentRun",
            assistantId=assistant_id,
            threadId=thread_id,
            runId=run_id,
            updatedBy="bench",
        )["currentRun"]
        if run["status"] == "completed":
            return
    raise RuntimeError(f"run {run_id} did not complete")


def main() -> None:
    warnings.simplefilter("ignore", DeprecationWarning)  # the Assistants API's notice
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    with services() as env:
        setting = settings_for(env, "assistants", prefix="bench-overhead-")
        create_tables(**setting)
        engine = OpenaiAssistantEngine(logging.getLogger("bench"), **setting)
        client = Client(engine)
        assistant_id = register_assistant(env, client, "assistants")
        direct = Direct(engine, assistant_id)
        # A thread with one answered turn, so lastMessage has a reply to read.
        first = client(
            "askOpenAi",
            assistantType="bench",
            assistantId=assistant_id,
            userQuery="hello",
            updatedBy="bench",
        )["askOpenAi"]
        thread_id = first["threadId"]
        for _ in range(10):
            status = client(
                "getCurrentRun",
                assistantId=assistant_id,
                threadId=thread_id,
                runId=first["currentRunId"],
                updatedBy="bench",
            )
            if status["currentRun"]["status"] == "completed":
                break
        proxy, sandbox = env["proxy"], env["sandbox"]
        samples: dict[str, dict[str, list[float]]] = {}
        requests: dict[str, dict[str, tuple]] = {}

        def measure(name: str, side: str, action: Any) -> Any:
            proxy.reset()
            sandbox.clear_request_log()
            began = time.perf_counter()
            result = action()
            samples.setdefault(name, {}).setdefault(side, []).append(time.perf_counter() - began)
            requests.setdefault(name, {})[side] = (
                len(sandbox.request_log),
                dict(Counter({k: v for k, v in proxy.counts.items()})),
            )
            return result

        for _ in range(args.repeat):
            run_id = measure(
                "askOpenAi",
                "engine",
                lambda: client(
                    "askOpenAi",
                    assistantType="bench",
                    assistantId=assistant_id,
                    userQuery=SLOW,
                    updatedBy="bench",
                    threadId=thread_id,
                )["askOpenAi"]["currentRunId"],
            )
            measure(
                "currentRun",
                "engine",
                lambda run=run_id: client(
                    "getCurrentRun",
                    assistantId=assistant_id,
                    threadId=thread_id,
                    runId=run,
                    updatedBy="bench",
                ),
            )
            measure("currentRun", "direct", lambda run=run_id: direct.current_run(thread_id, run))
            finish_run(client, assistant_id, thread_id, run_id)
            run_id = measure("askOpenAi", "direct", lambda: direct.ask(thread_id))
            finish_run(client, assistant_id, thread_id, run_id)
            measure(
                "lastMessage",
                "engine",
                lambda: client(
                    "getLastMessage", assistantId=assistant_id, threadId=thread_id, role="assistant"
                ),
            )
            measure("lastMessage", "direct", lambda: direct.last_message(thread_id))
            measure(
                "getMessageList",
                "engine",
                lambda: client("getMessageList", threadId=thread_id, limit=20),
            )
            measure("getMessageList", "direct", lambda: direct.message_list(thread_id))

    print(f"{'operation':<15} {'engine ms':>10} {'direct ms':>10} {'ratio':>7}  requests")
    for name, sides in samples.items():
        engine_ms = statistics.median(sides["engine"]) * 1000
        direct_ms = statistics.median(sides["direct"]) * 1000
        print(
            f"{name:<15} {engine_ms:>10.2f} {direct_ms:>10.2f} {engine_ms / direct_ms:>7.2f}"
            f"  engine {requests[name]['engine']}, direct {requests[name]['direct']}"
        )


if __name__ == "__main__":
    main()
