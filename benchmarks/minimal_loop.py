"""CPU and wall time of one tool turn: the engine vs a minimal hand-written loop.

The minimal loop is what a script with no guarantees would do: the raw SDK asks (one
response that calls the function), runs the function, sends its output (one response that
answers) and writes the run, both messages and the tool call in one BatchWriteItem: 2
OpenAI and 1 DynamoDB requests. The engine does a whole poll-driver turn through its
GraphQL entry point (askOpenAi, currentRun every ``--poll-ms`` until the run ends,
lastMessage), with every claim and record. Both run in this process, in alternating
blocks, against moto and the sandbox in processes of their own (so this process's CPU is
the measured side's alone); the sandbox answers each request after ``--latency`` seconds.

    .venv/bin/python benchmarks/minimal_loop.py [--turns 20] [--blocks 3] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3
from _harness import (
    Client,
    register_assistant,
    run_turn,
    start_moto_and_sandbox,
    stop_processes,
)
from openai import OpenAI

from openai_assistant_engine import OpenaiAssistantEngine, create_tables
from openai_assistant_engine.examples.weather_tools import WeatherTools

TEXT = 'How is the weather?\ncall:get_weather {"city": "Paris"}'
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
        "required": ["city"],
    },
}


class MinimalLoop:
    """Ask, run the one function call, answer, record: nothing claimed, nothing retried."""

    def __init__(self, setting: dict[str, Any], prefix: str) -> None:
        self._openai = OpenAI(api_key="sk-sandbox", base_url=setting["openai_base_url"])
        self._dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=setting["dynamodb_endpoint"],
            region_name=setting["region_name"],
            aws_access_key_id=setting["aws_access_key_id"],
            aws_secret_access_key=setting["aws_secret_access_key"],
        )
        self._prefix = prefix
        self._weather = WeatherTools(logging.getLogger("bench.minimal"))
        self._conversation = self._openai.conversations.create().id

    def turn(self) -> None:
        asked = self._openai.responses.create(
            model="gpt-sandbox", conversation=self._conversation, input=TEXT, tools=[WEATHER_TOOL]
        )
        call = next(item for item in asked.output if item.type == "function_call")
        output = json.dumps(self._weather.get_weather(**json.loads(call.arguments)))
        answered = self._openai.responses.create(
            model="gpt-sandbox",
            conversation=self._conversation,
            input=[{"type": "function_call_output", "call_id": call.call_id, "output": output}],
            tools=[WEATHER_TOOL],
        )
        now = str(time.time())
        thread = {"S": self._conversation}

        def put(**item: dict[str, str]) -> dict[str, Any]:
            return {"PutRequest": {"Item": item}}

        self._dynamodb.batch_write_item(
            RequestItems={
                f"{self._prefix}runs": [
                    put(
                        thread_id=thread,
                        run_id={"S": answered.id},
                        status={"S": answered.status},
                        usage={"S": json.dumps(answered.usage.model_dump())},
                    )
                ],
                f"{self._prefix}messages": [
                    put(
                        thread_id=thread,
                        message_id={"S": f"msg_{uuid.uuid4().hex}"},
                        role={"S": "user"},
                        message={"S": TEXT},
                        created_at={"S": now},
                    ),
                    put(
                        thread_id=thread,
                        message_id={"S": f"msg_{uuid.uuid4().hex}"},
                        role={"S": "assistant"},
                        message={"S": answered.output_text},
                        created_at={"S": now},
                    ),
                ],
                f"{self._prefix}tool_calls": [
                    put(
                        run_id={"S": answered.id},
                        tool_call_id={"S": call.call_id},
                        name={"S": call.name},
                        arguments={"S": call.arguments},
                        output={"S": output},
                        status={"S": "completed"},
                    )
                ],
            }
        )


def measure(turn: Callable[[], None], turns: int) -> tuple[float, float]:
    """(CPU ms, wall ms) per turn over ``turns`` turns."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(turns):
        turn()
    return (
        (time.process_time() - cpu) * 1000 / turns,
        (time.perf_counter() - wall) * 1000 / turns,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=20, help="turns per block")
    parser.add_argument("--blocks", type=int, default=3, help="alternating blocks per side")
    parser.add_argument("--latency", type=float, default=0.05, help="sandbox seconds/request")
    parser.add_argument("--poll-ms", type=float, default=100, help="the engine's poll interval")
    parser.add_argument("--port", type=int, default=18303, help="moto's; the sandbox's is +1")
    args = parser.parse_args()
    logging.getLogger("openai_assistant_engine").setLevel(logging.WARNING)
    processes, setting = start_moto_and_sandbox(args.port, "bench-engine-", args.latency)
    try:
        engine_setting = {**setting, "openai_backend": "responses", "run_driver": "poll"}
        client = Client(OpenaiAssistantEngine(logging.getLogger("bench"), **engine_setting))
        assistant_id = register_assistant({}, client, "responses")
        create_tables(**{**setting, "table_prefix": "bench-minimal-"})
        minimal = MinimalLoop(setting, "bench-minimal-")
        thread: list[str | None] = [None]

        def engine_turn() -> None:
            thread[0] = run_turn(client, assistant_id, thread[0], TEXT, args.poll_ms / 1000)

        engine_turn(), minimal.turn()  # first use: clients, imports, the thread
        sides = {"engine": engine_turn, "minimal loop": minimal.turn}
        figures: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
        for _ in range(args.blocks):
            for name, turn in sides.items():
                figures[name].append(measure(turn, args.turns))
    finally:
        stop_processes(processes)

    print(
        f"{args.blocks} x {args.turns} turns per side, sandbox latency {args.latency * 1000:g} "
        f"ms, engine polls every {args.poll_ms:g} ms"
    )
    print(f"{'side':<14} {'CPU ms/turn':>12} {'wall ms/turn':>13}")
    best = {name: min(rows) for name, rows in figures.items()}  # least disturbed block
    for name, (cpu, wall) in best.items():
        print(f"{name:<14} {cpu:>12.1f} {wall:>13.1f}")
    (engine_cpu, engine_wall), (loop_cpu, loop_wall) = best["engine"], best["minimal loop"]
    print(f"{'ratio':<14} {engine_cpu / loop_cpu:>12.2f} {engine_wall / loop_wall:>13.2f}")


if __name__ == "__main__":
    main()
