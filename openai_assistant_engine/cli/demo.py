"""``oae demo``: a scripted, offline function-calling conversation, every payload shown."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .console import CommandError, configure_logging
from .graphql import Echo, fetch
from .runtime import (
    DEMO_QUESTION,
    WEATHER_MODULE,
    local_runtime,
    seed_demo_assistant,
)
from .session import AssistantSession, describe_tool_call

__all__ = ["cmd_demo"]

_USER = "oae-demo"


def cmd_demo(args: argparse.Namespace) -> int:
    configure_logging(args.verbose, quiet_engine=True)
    out = sys.stdout
    with local_runtime(sandbox=True) as runtime:
        for note in runtime.notes:
            print(note, file=out)
        engine = runtime.engine
        echo = Echo(out)
        print(f"\n== 1. Record an assistant whose function is {WEATHER_MODULE}", file=out)
        demo = seed_demo_assistant(runtime, _USER, echo=echo)
        print("\n== 2. Ask a question; the sandbox model calls get_weather", file=out)
        session = AssistantSession(
            engine, demo["assistantType"], demo["assistantId"], _USER, echo=echo
        )
        keys = session.ask(DEMO_QUESTION)
        print("\n== 3. Poll currentRun until the run ends (each poll drives it on)", file=out)
        run = session.wait(keys)
        print("\n== 4. Read the assistant's reply", file=out)
        message = session.reply(keys)
        print("\n== 5. The thread and its recorded runs", file=out)
        thread_keys = {"assistantId": keys["assistantId"], "threadId": keys["threadId"]}
        fetch(engine, "getThread", thread_keys, echo)
        records = session.tool_calls(keys["runId"])
        print("\nTool calls recorded in the tool_calls table:", file=out)
        for record in records:
            print(f"  {describe_tool_call(record)}", file=out)
        _check_demo(run, message, records)
    print("\nDemo finished: the function ran and the reply used its result.", file=out)
    return 0


def _check_demo(run: dict[str, Any], message: Any, records: list[dict[str, Any]]) -> None:
    """Fail unless the run completed, the function ran and the reply carries its result."""
    if run.get("status") != "completed":
        raise CommandError(f"The demo run ended {run.get('status')}: {run.get('error')}")
    reply = (message or {}).get("message") or ""
    if "get_weather" not in reply or "Paris" not in reply:
        raise CommandError(f"The reply does not carry the function's result: {reply!r}")
    if records and not any(r.get("status") == "completed" for r in records):
        raise CommandError("The get_weather call was recorded but did not complete.")
