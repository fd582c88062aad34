"""The ``oae`` command: serve, tables create, keys create, schema, chat, demo, threads migrate,
worker.

Every command reads its settings like the engine does (explicit options > environment >
``.env``). ``serve``, ``chat`` and ``demo`` embed a DynamoDB (moto, in this process) when
the settings name none, and ``--sandbox`` (always on for ``demo``) puts the scripted,
offline OpenAI-compatible server in this process and points the engine at it.

``threads migrate --to chat|responses`` moves one thread (``--assistant-id`` and
``--thread-id``) or every thread of the table (``--all``) onto another backend, each
through the migrateThread mutation's logic; ``--dry-run`` reports what would move and
writes nothing. Failures (a busy thread, a refused move) get a line each and the others
go on; a summary ends it, and the exit status is 1 when any thread failed.

This module is the entry point and the argument tree; each command lives in its own
module, and what they share in :mod:`.runtime`, :mod:`.graphql` and :mod:`.session`.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import EngineError
from .chat import cmd_chat
from .console import CommandError
from .demo import cmd_demo
from .keys import DEFAULT_KEYS_FILE, cmd_keys_create
from .schema import cmd_schema
from .serve import cmd_serve
from .tables import cmd_tables_create
from .threads import add_threads_commands
from .worker import add_worker_command

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oae",
        description="openai_assistant_engine: a GraphQL proxy for OpenAI assistants.",
    )
    parser.add_argument("--version", action="version", version=f"oae {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the local GraphQL server and its page",
        description="Serve POST /graphql and a page to try it. Settings come from the "
        "environment and .env; with no DynamoDB named, an embedded one is used.",
    )
    serve.add_argument(
        "--host",
        help="address to bind (default 127.0.0.1; when given, requests naming any Host are "
        "answered, else only loopback names)",
    )
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 = any free)")
    _add_runtime_options(
        serve,
        sandbox="use the offline scripted OpenAI server and seed a demo assistant",
        verbose="log everything, SDKs included",
    )
    serve.set_defaults(func=cmd_serve)

    tables = commands.add_parser(
        "tables", help="manage the DynamoDB tables", description="Manage the DynamoDB tables."
    )
    table_commands = tables.add_subparsers(dest="tables_command", metavar="ACTION")
    create = table_commands.add_parser(
        "create",
        help="create the missing tables (idempotent)",
        description="Create every missing table (PAY_PER_REQUEST) with settings from the "
        "environment and .env; options given here win.",
    )
    create.add_argument("--dynamodb-endpoint", help="a local or emulated DynamoDB URL")
    create.add_argument("--region", help="AWS region")
    create.add_argument("--table-prefix", help="table name prefix (default oae-)")
    create.set_defaults(func=cmd_tables_create)
    tables.set_defaults(func=lambda _args: _missing(tables))

    keys = commands.add_parser(
        "keys", help="manage API keys", description="Manage the API keys of api_keys."
    )
    key_commands = keys.add_subparsers(dest="keys_command", metavar="ACTION")
    key_create = key_commands.add_parser(
        "create",
        help="make an API key: printed once, only its hash is stored",
        description="Make a bearer API key for a user of a tenant. The key is printed once; "
        "the file keeps only its SHA-256 (point the api_keys setting at the file).",
    )
    key_create.add_argument("--user", required=True, help="the user the key stands for")
    key_create.add_argument("--tenant", required=True, help="the user's tenant")
    key_create.add_argument(
        "--admin", action="store_true", help="may read the tenant's threads, manage assistants"
    )
    key_create.add_argument(
        "--file", default=DEFAULT_KEYS_FILE, help=f"the keys file (default {DEFAULT_KEYS_FILE})"
    )
    key_create.set_defaults(func=cmd_keys_create)
    keys.set_defaults(func=lambda _args: _missing(keys))

    schema = commands.add_parser(
        "schema", help="print the GraphQL schema (SDL)", description="Print the schema as SDL."
    )
    schema.set_defaults(func=cmd_schema)

    chat = commands.add_parser(
        "chat",
        help="talk to an assistant in the terminal",
        description="A terminal conversation through the engine: each line is an askOpenAi; "
        "the run is followed with currentRun and the reply read with lastMessage. "
        "/quit or end of input ends.",
    )
    chat.add_argument("--assistant-type", help="the assistant record's assistantType")
    chat.add_argument("--assistant-id", help="the assistant record's assistantId")
    chat.add_argument("--thread-id", help="continue this thread instead of starting one")
    chat.add_argument("--updated-by", default=_default_user(), help="recorded as updatedBy")
    _add_runtime_options(
        chat, sandbox="use the offline scripted OpenAI server with a seeded weather assistant"
    )
    chat.set_defaults(func=cmd_chat)

    demo = commands.add_parser(
        "demo",
        help="run a scripted conversation offline",
        description="Sandbox model + embedded DynamoDB: record a weather assistant, ask a "
        "question that makes the model call get_weather, and print every GraphQL payload "
        "and response. Exits 0 when the function ran and the reply used its result.",
    )
    _add_runtime_options(demo, sandbox=None)  # the demo always uses the sandbox
    demo.set_defaults(func=cmd_demo)

    add_threads_commands(commands)
    add_worker_command(commands)
    return parser


def _add_runtime_options(
    parser: argparse.ArgumentParser, *, sandbox: str | None, verbose: str = "log everything"
) -> None:
    """``--sandbox`` (when ``sandbox`` gives its help) and ``--verbose``, in that order."""
    if sandbox is not None:
        parser.add_argument("--sandbox", action="store_true", help=sandbox)
    parser.add_argument("--verbose", action="store_true", help=verbose)


def _default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "oae"


def _missing(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        return _missing(parser)
    try:
        return int(func(args))
    except CommandError as exc:
        print(f"oae: {exc}", file=sys.stderr)
        return 1
    except EngineError as exc:
        print(f"oae: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
