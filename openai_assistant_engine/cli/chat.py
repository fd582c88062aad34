"""``oae chat``: a terminal conversation, one askOpenAi per line typed."""

from __future__ import annotations

import argparse
import itertools
import sys
from typing import TextIO

from .console import CommandError, configure_logging
from .graphql import fetch
from .runtime import local_runtime, seed_demo_assistant
from .session import AssistantSession, describe_tool_call

__all__ = ["cmd_chat"]


def cmd_chat(args: argparse.Namespace) -> int:
    if not args.sandbox and not (args.assistant_type and args.assistant_id):
        raise CommandError("chat needs --assistant-type and --assistant-id (or --sandbox).")
    if not args.sandbox:
        _refuse_an_empty_embedded_dynamodb(args.assistant_type, args.assistant_id)
    configure_logging(args.verbose, quiet_engine=True)  # the conversation is the output
    out = sys.stdout
    with local_runtime(sandbox=args.sandbox) as runtime:
        engine = runtime.engine
        if args.sandbox:
            demo = seed_demo_assistant(runtime, args.updated_by)
            if args.assistant_id:
                runtime.notes.append(
                    "--sandbox makes its own assistant ids: --assistant-id unused."
                )
            assistant_type, assistant_id = demo["assistantType"], demo["assistantId"]
        else:
            assistant_type, assistant_id = args.assistant_type, args.assistant_id
            keys = {"assistantType": assistant_type, "assistantId": assistant_id}
            fetch(engine, "getAssistant", keys, doing="Finding the assistant")
        for note in runtime.notes:
            print(note, file=sys.stderr)
        print(f"Chatting with {assistant_type}/{assistant_id}. /quit or Ctrl-D ends.", file=out)
        session = AssistantSession(engine, assistant_type, assistant_id, args.updated_by)
        thread_id = args.thread_id
        while True:
            try:
                line = input("you> ")
            except EOFError:
                print(file=out)
                break
            if line.strip() in ("/quit", "/exit"):
                break
            if not line.strip():
                continue
            # "\n" typed as two characters starts a new line (sandbox `call:` directives).
            text = line.replace("\\n", "\n")
            thread_id = _chat_turn(session, thread_id, text)
    return 0


def _refuse_an_empty_embedded_dynamodb(assistant_type: str, assistant_id: str) -> None:
    """Without DynamoDB settings chat would embed one, which starts empty: no assistant
    could be found in it, so say so before starting anything."""
    from ..config import Settings
    from ..local_dynamodb import wants_embedded_dynamodb

    if wants_embedded_dynamodb(Settings.load({})):
        raise CommandError(
            f"No DynamoDB is set, and the embedded one starts empty: it cannot hold the "
            f"assistant {assistant_type}/{assistant_id}. Set dynamodb_endpoint or "
            "region_name (environment or .env) to the DynamoDB that holds it, or run "
            "`oae chat --sandbox` to chat with the demo assistant."
        )


def _chat_turn(session: AssistantSession, thread_id: str | None, text: str) -> str | None:
    """One line's turn; returns the thread to continue (the old one if the ask failed)."""
    try:
        keys = session.ask(text, thread_id)
        progress = _Progress(sys.stderr)
        try:
            run = session.wait(keys, on_poll=progress.tick)
        finally:
            progress.done()
    except CommandError as exc:
        print(f"error: {exc}")
        return thread_id
    for record in session.tool_calls(keys["runId"]):
        print(f"  tool: {describe_tool_call(record)}")
    if run.get("status") != "completed":
        print(f"run {run.get('status')}: {run.get('error') or 'no reason given'}")
        return keys["threadId"]
    try:
        message = session.reply(keys)
    except CommandError as exc:
        print(f"error: {exc}")
    else:
        print(f"assistant> {(message or {}).get('message', '(no reply)')}")
    usage = run.get("usage") or {}
    if usage:
        print(f"  ({usage.get('total_tokens', '?')} tokens)")
    return keys["threadId"]


class _Progress:
    """A spinner on a terminal, dots elsewhere (logs and pipes stay readable)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._frames = itertools.cycle("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")

    def tick(self, status: str) -> None:
        text = f"\r{next(self._frames)} {status:<20}" if self._tty else "."
        self._stream.write(text)
        self._stream.flush()

    def done(self) -> None:
        self._stream.write("\r" + " " * 24 + "\r" if self._tty else "\n")
        self._stream.flush()
