"""``oae threads migrate``: move recorded threads onto another backend, one or all of them.

Each thread goes through ``Conversation.migrate_thread``, the migrateThread mutation's own
logic (conversation/migration.py), so the rules are the mutation's: a thread already
where it is asked to go is left as it is, a busy thread is refused (409), a move onto
the Assistants API is refused (400). A thread that fails is reported on its own line and
the others go on; the exit status is 1 when any failed.

The command is an operator's tool: it reads and writes the tables directly with the
settings' AWS credentials (no API key, no identity check), like ``tables create``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from typing import Any, TextIO

from ..config import Settings
from ..errors import EngineError
from .console import CommandError, configure_logging
from .runtime import dynamodb_location
from .tables import _default_region

__all__ = ["MIGRATE_DESCRIPTION", "MIGRATE_EPILOG", "add_threads_commands", "cmd_threads_migrate"]

logger = logging.getLogger("openai_assistant_engine.cli")

MIGRATE_DESCRIPTION = """\
Carry recorded threads on, on another backend, as the migrateThread mutation does.
A thread keeps its id; its messages and tool calls go with it. Onto chat, or onto
responses with --state engine, the engine's records are the history already and only
the thread record changes; onto responses with OpenAI-held state (the default), an
OpenAI conversation is made holding the recorded turns.

A thread already there is left as it is, so the command can be run again. A thread
that fails (busy with a run, refused) is reported with the reason and the others go on.

Settings come from the options here, then the environment, then .env (OpenAI's key
too, for moves that call OpenAI). The tables must exist: no embedded DynamoDB is
started, it would be empty.
"""
MIGRATE_EPILOG = """\
examples:
  oae threads migrate --all --to chat --dry-run     what would move, nothing written
  oae threads migrate --all --to chat
  oae threads migrate --assistant-id asst_1 --thread-id thread_1 --to responses
  oae threads migrate --all --to responses --state engine

Each moved (or, with --dry-run, movable) thread and each failure gets a line on stdout,
then a summary; a progress bar goes to stderr with --all. Exit status: 0 when no
thread failed, 1 otherwise.
"""


def add_threads_commands(commands: Any) -> None:
    """``threads`` and its ``migrate`` action, on the ``oae`` parser's subcommands."""
    threads = commands.add_parser(
        "threads",
        help="manage recorded threads (migrate)",
        description="Manage the recorded threads.",
    )
    actions = threads.add_subparsers(dest="threads_command", metavar="ACTION")
    migrate = actions.add_parser(
        "migrate",
        help="move threads onto another backend (chat, responses)",
        description=MIGRATE_DESCRIPTION,
        epilog=MIGRATE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    migrate.add_argument(
        "--to",
        required=True,
        choices=("chat", "responses"),
        metavar="BACKEND",
        dest="to_backend",
        help="the backend to carry the threads on: chat or responses (required)",
    )
    migrate.add_argument(
        "--state",
        choices=("openai", "engine"),
        metavar="STATE",
        dest="conversation_state",
        help="with --to responses: where the conversation lives: openai (an OpenAI "
        "conversation; the default) or engine (the engine's records, stateless requests)",
    )
    which = migrate.add_argument_group("which threads (--all, or both ids)")
    which.add_argument(
        "--all",
        action="store_true",
        help="every thread of the threads table (a progress bar on stderr)",
    )
    which.add_argument("--assistant-id", metavar="ID", help="the thread's assistantId")
    which.add_argument("--thread-id", metavar="ID", help="the thread's threadId")
    migrate.add_argument(
        "--dry-run",
        action="store_true",
        help="report what would move (and how many messages and tool calls), write nothing",
    )
    migrate.add_argument("--dynamodb-endpoint", help="a local or emulated DynamoDB URL")
    migrate.add_argument("--region", help="AWS region")
    migrate.add_argument("--table-prefix", help="table name prefix (default oae-)")
    migrate.add_argument("--verbose", action="store_true", help="log everything")
    migrate.set_defaults(func=cmd_threads_migrate)
    threads.set_defaults(func=lambda _args: _missing(threads))


def _missing(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def cmd_threads_migrate(args: argparse.Namespace) -> int:
    from ..engine import OpenaiAssistantEngine

    targets = _which_threads(args)
    if args.conversation_state and args.to_backend != "responses":
        raise CommandError(
            f"--state applies to --to responses only: {args.to_backend} keeps a thread's "
            "history in the engine's records."
        )
    overrides = {
        "dynamodb_endpoint": args.dynamodb_endpoint,
        "region_name": args.region,
        "table_prefix": args.table_prefix,
    }
    setting = {key: value for key, value in overrides.items() if value}
    settings = Settings.load(setting)
    if not (settings.dynamodb_endpoint or settings.region_name or _default_region()):
        raise CommandError(
            "No DynamoDB holds the threads: set region_name (and AWS credentials) or "
            "dynamodb_endpoint in the environment or .env, or pass --region or "
            "--dynamodb-endpoint."
        )
    configure_logging(args.verbose, quiet_engine=True)  # the lines below are the output
    engine = OpenaiAssistantEngine(logging.getLogger("openai_assistant_engine"), **setting)
    err = sys.stderr
    print(
        f"DynamoDB: {dynamodb_location(settings)}, table {settings.table_prefix}threads",
        file=err,
    )
    if not settings.openai_api_key and not args.dry_run:  # a dry run calls no OpenAI
        print(
            "OpenAI: no openai_api_key set; moves that call OpenAI (onto an OpenAI "
            "conversation, or checking a busy thread's run) fail until you set it.",
            file=err,
        )
    if targets is None:
        targets = _every_thread_key(engine.store)
    tally = _Tally(dry_run=args.dry_run)
    progress = _ProgressBar(err, len(targets)) if args.all else None
    out = sys.stdout
    try:
        for number, (assistant_id, thread_id) in enumerate(targets, start=1):
            line = tally.add(
                assistant_id, thread_id, _migrate_one(engine, args, assistant_id, thread_id)
            )
            if line is not None:
                if progress is not None:
                    progress.clear()
                print(line, file=out, flush=True)
            if progress is not None:
                progress.update(number, tally.failed)
    except KeyboardInterrupt:
        if progress is not None:
            progress.finish()
        print(tally.summary(len(targets), interrupted=True), file=out)
        raise
    if progress is not None:
        progress.finish()
    print(tally.summary(len(targets)), file=out)
    return 1 if tally.failed else 0


def _which_threads(args: argparse.Namespace) -> list[tuple[str, str]] | None:
    """The one thread named, or None for --all; a usage error for anything else."""
    named = args.assistant_id is not None or args.thread_id is not None
    if args.all and named:
        raise CommandError("Give --all, or --assistant-id and --thread-id: not both.")
    if args.all:
        return None
    if not (args.assistant_id and args.thread_id):
        raise CommandError(
            "Name the threads to move: --all, or --assistant-id and --thread-id for one."
        )
    return [(args.assistant_id, args.thread_id)]


def _migrate_one(
    engine: Any, args: argparse.Namespace, assistant_id: str, thread_id: str
) -> dict[str, Any] | str:
    """The move's report, or why it failed (the engine's message, never a setting)."""
    try:
        return engine.conversation.migrate_thread(
            assistant_id=assistant_id,
            thread_id=thread_id,
            to_backend=args.to_backend,
            conversation_state=args.conversation_state,
            dry_run=args.dry_run,
        )
    except EngineError as exc:
        return f"{exc.message} ({exc.status} {exc.code})"
    except Exception as exc:  # one odd thread must not stop the others
        # Only the type on stdout: the message of an unexpected error is not known to be
        # free of secrets. The log line (redacted like every log line) has it all.
        logger.error("Moving thread %s failed", thread_id, exc_info=True)
        return f"unexpected {type(exc).__name__}; --verbose logs it in full"


def _every_thread_key(store: Any) -> list[tuple[str, str]]:
    """Every thread's (assistant_id, thread_id), sorted: one Scan reading only the keys.

    Store.list_threads pages by page number: each page counts the table and skips to its
    offset again, so reading every thread through it reads the table once per page (and
    its pages shift under threads recorded meanwhile). Nothing in store/ reads every
    thread in one pass, hence the Thread model's own scan here. The keys are read first,
    all of them, so the scan does not run over items the moves are writing, and the
    progress bar knows the total.
    """
    from botocore.exceptions import BotoCoreError, ClientError
    from pynamodb.exceptions import PynamoDBException

    model = store.models.Thread
    try:
        items = model.scan(attributes_to_get=["assistant_id", "thread_id"])
        return sorted((item.assistant_id, item.thread_id) for item in items)
    except (PynamoDBException, ClientError, BotoCoreError) as exc:
        # The store's own reading says what is wrong the way every command says it (a
        # missing table, no region): it raises that engine error.
        store.list_threads(page_number=1, limit=1)
        raise CommandError(f"Reading the threads table failed: {exc}") from exc


@dataclass
class _Tally:
    """What the moves came to, and each one's line (None: nothing worth a line)."""

    dry_run: bool
    moved: int = 0
    there: int = 0
    would_move: int = 0
    failed: int = 0
    messages: int = 0
    tool_calls: int = 0

    def add(self, assistant_id: str, thread_id: str, result: dict[str, Any] | str) -> str | None:
        name = f"{assistant_id}/{thread_id}"
        if isinstance(result, str):
            self.failed += 1
            return f"failed      {name}: {result}"
        if not result.get("changed"):
            self.there += 1
            return None
        if result.get("dry_run"):
            self.would_move += 1
            verb = "would move"
        else:
            self.moved += 1
            verb = "moved"
        self.messages += int(result.get("messages") or 0)
        self.tool_calls += int(result.get("tool_calls") or 0)
        line = (
            f"{verb:<11} {name}: {result['from_backend']}/{result['from_state']} -> "
            f"{result['to_backend']}/{result['to_state']} "
            f"({_count(result.get('messages'), 'message')}, "
            f"{_count(result.get('tool_calls'), 'tool call')})"
        )
        upstream = result.get("upstream_thread_id")
        if upstream and not result.get("dry_run") and upstream != thread_id:
            line += f", upstream {upstream}"
        return line

    def summary(self, total: int, *, interrupted: bool = False) -> str:
        done = self.moved + self.there + self.would_move + self.failed
        head = "Dry run, nothing written. " if self.dry_run else ""
        if interrupted:
            head += f"Interrupted after {done} of {total} thread(s). "
        else:
            head += f"{_count(total, 'thread')}: "
        carried = "would carry" if self.dry_run else "carried"
        return (
            f"{head}moved {self.moved}, already there {self.there}, would move "
            f"{self.would_move} (dry run), failed {self.failed}; {carried} "
            f"{_count(self.messages, 'message')} and {_count(self.tool_calls, 'tool call')}."
        )


def _count(number: Any, noun: str) -> str:
    number = int(number or 0)
    return f"{number} {noun}{'' if number == 1 else 's'}"


class _ProgressBar:
    """A text bar redrawn with ``\\r`` on a terminal; elsewhere one line per 10 %."""

    WIDTH = 30

    def __init__(self, stream: TextIO, total: int) -> None:
        self._stream = stream
        self._total = total
        self._tty = _is_tty(stream)
        self._tenths = 0  # the 10 % steps reported (not on a terminal)
        self._drawn = ""

    def update(self, done: int, failed: int = 0) -> None:
        if self._total <= 0:
            return
        percent = 100 * done // self._total
        failures = f", {failed} failed" if failed else ""
        if self._tty:
            filled = self.WIDTH * done // self._total
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            self._drawn = f"[{bar}] {percent:3d}%  {done}/{self._total} threads{failures}"
            self._stream.write("\r" + self._drawn)
            self._stream.flush()
            return
        if percent // 10 > self._tenths:
            self._tenths = percent // 10
            print(
                f"progress: {percent}% ({done}/{self._total} threads{failures})",
                file=self._stream,
                flush=True,
            )

    def clear(self) -> None:
        """Take the bar off the terminal's line, for a line of output (drawn again next)."""
        if self._tty and self._drawn:
            self._stream.write("\r" + " " * len(self._drawn) + "\r")
            self._stream.flush()
            self._drawn = ""

    def finish(self) -> None:
        if self._tty and self._drawn:
            self._stream.write("\n")
            self._stream.flush()
            self._drawn = ""


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or stand-in stream
        return False
