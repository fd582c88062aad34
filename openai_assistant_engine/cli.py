"""The ``oae`` command: serve, tables create, schema, chat, demo.

Every command reads its settings like the engine does (explicit options > environment >
``.env``). ``serve``, ``chat`` and ``demo`` embed a DynamoDB (moto, in this process) when
the settings name none, and ``--sandbox`` (always on for ``demo``) puts the scripted,
offline OpenAI-compatible server in this process and points the engine at it.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import importlib
import itertools
import json
import logging
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from . import __version__
from .config import Settings
from .engine import OpenaiAssistantEngine
from .errors import EngineError

__all__ = ["main"]

_logger = logging.getLogger("openai_assistant_engine.cli")

DEMO_ASSISTANT_TYPE = "demo"
DEMO_MODEL = "gpt-4o-mini"  # any name does for the sandbox; a real one reads better
WEATHER_MODULE = "examples.weather_tools"
WEATHER_FUNCTION = {
    "module_name": WEATHER_MODULE,
    "class_name": "WeatherTools",
    "function_name": "get_weather",
    "configuration": {},
}
# The sandbox model calls a function when the user's message holds a `call:NAME ARGS` line.
DEMO_QUESTION = (
    'What is the weather in Paris?\ncall:get_weather {"city": "Paris", "unit": "celsius"}'
)
_RUN_TIMEOUT_SECONDS = 120.0
_POLL_SECONDS = 0.25
_QUIET_LOGGERS = ("httpx", "httpx2", "openai", "werkzeug", "botocore", "urllib3", "pynamodb")

# Small documents for the commands' own calls (the page and tests send the contract's).
DOCUMENTS = {
    "insertUpdateAssistant": """\
mutation insertUpdateAssistant($assistantType: String!, $assistantId: String!,
    $assistantName: String!, $functions: [JSON]!, $configuration: JSON, $updatedBy: String!) {
  insertUpdateAssistant(assistantType: $assistantType, assistantId: $assistantId,
      assistantName: $assistantName, functions: $functions, configuration: $configuration,
      updatedBy: $updatedBy) {
    assistant { assistantType assistantId assistantName functions updatedAt }
  }
}""",
    "getAssistant": """\
query getAssistant($assistantType: String!, $assistantId: String!) {
  assistant(assistantType: $assistantType, assistantId: $assistantId) {
    assistantType assistantId assistantName
  }
}""",
    "askOpenAi": """\
query askOpenAi($assistantType: String!, $assistantId: String!, $userQuery: String!,
    $updatedBy: String!, $threadId: String) {
  askOpenAi(assistantType: $assistantType, assistantId: $assistantId, userQuery: $userQuery,
      updatedBy: $updatedBy, threadId: $threadId) {
    assistantId threadId userQuery currentRunId
  }
}""",
    "getCurrentRun": """\
query getCurrentRun($assistantId: String!, $threadId: String!, $runId: String!,
    $updatedBy: String!) {
  currentRun(assistantId: $assistantId, threadId: $threadId, runId: $runId,
      updatedBy: $updatedBy) {
    threadId runId status usage error
  }
}""",
    "getLastMessage": """\
query getLastMessage($assistantId: String, $threadId: String!, $role: String!) {
  lastMessage(assistantId: $assistantId, threadId: $threadId, role: $role) {
    threadId runId messageId role message createdAt
  }
}""",
    "getThread": """\
query getThread($assistantId: String!, $threadId: String!) {
  thread(assistantId: $assistantId, threadId: $threadId) { threadId runs }
}""",
}


class CommandError(Exception):
    """A command failed in a way the user can act on; ``main`` prints it and exits 1."""


# ------------------------------------------------------------------------------ plumbing
@dataclass
class LocalRuntime:
    """An engine plus what it runs on here: maybe an embedded DynamoDB and a sandbox."""

    engine: OpenaiAssistantEngine
    notes: list[str] = field(default_factory=list)
    sandbox_url: str | None = None


@contextlib.contextmanager
def local_runtime(*, sandbox: bool) -> Iterator[LocalRuntime]:
    """Start what the settings lack (DynamoDB, and the sandbox if asked); stop it after."""
    from .local_dynamodb import EmbeddedDynamoDB, wants_embedded_dynamodb

    setting: dict[str, Any] = {}  # explicit settings, over the environment and .env
    settings = Settings.load(setting)
    notes: list[str] = []
    with contextlib.ExitStack() as stack:
        if wants_embedded_dynamodb(settings):
            database = stack.enter_context(EmbeddedDynamoDB(settings.table_prefix))
            setting.update(database.settings())
            notes.append(
                f"DynamoDB: embedded (moto) at {database.endpoint}, tables "
                f"{settings.table_prefix}*; the data lasts only while this process runs. "
                "Set dynamodb_endpoint or region_name to use another DynamoDB."
            )
        else:
            where = (
                settings.dynamodb_endpoint or f"AWS ({settings.region_name or 'default region'})"
            )
            notes.append(f"DynamoDB: {where}, tables {settings.table_prefix}*")
        sandbox_url = None
        if sandbox:
            from .sandbox import SandboxServer

            server = SandboxServer().start()
            stack.callback(server.stop)
            sandbox_url = server.base_url
            allowlist = (*settings.function_module_allowlist, WEATHER_MODULE)
            setting.update(
                openai_api_key="sk-sandbox",
                openai_base_url=sandbox_url,
                function_module_allowlist=allowlist,
            )
            notes.append(f"OpenAI: the offline scripted sandbox at {sandbox_url}")
        elif not settings.openai_api_key:
            notes.append(
                "OpenAI: no openai_api_key set; askOpenAi fails until you set it "
                "(environment or .env), or use --sandbox."
            )
        engine = OpenaiAssistantEngine(logging.getLogger("openai_assistant_engine"), **setting)
        yield LocalRuntime(engine=engine, notes=notes, sandbox_url=sandbox_url)


@dataclass
class Echo:
    """Where ``call`` prints payloads and answers; each document is shown once."""

    stream: TextIO
    shown: set[str] = field(default_factory=set)


def call(
    engine: OpenaiAssistantEngine,
    operation: str,
    variables: dict[str, Any],
    echo: Echo | None = None,
) -> dict[str, Any]:
    """Run one of :data:`DOCUMENTS` through the engine; print payload and answer if ``echo``."""
    payload = {"query": DOCUMENTS[operation], "operationName": operation, "variables": variables}
    if echo is not None:
        out = echo.stream
        print(f"\n>>> POST /graphql  operationName={operation}", file=out)
        if operation in echo.shown:
            print("    query: (the document above)", file=out)
        else:
            echo.shown.add(operation)
            print(_indent(DOCUMENTS[operation]), file=out)
        print(_indent("variables: " + json.dumps(variables, indent=2)), file=out)
    response = json.loads(engine.to_json(engine.execute(payload)))
    if echo is not None:
        print(f"<<< {response.get('status_code')}", file=echo.stream)
        print(_indent(json.dumps(response, indent=2)), file=echo.stream)
    return response


def _indent(text: str) -> str:
    return "    " + text.replace("\n", "\n    ")


def _data(response: dict[str, Any], field_name: str, doing: str) -> Any:
    if "errors" in response:
        messages = "; ".join(str(e.get("message")) for e in response["errors"])
        raise CommandError(f"{doing} failed ({response.get('status_code')}): {messages}")
    return response["data"][field_name]


def weather_tools_importable() -> bool:
    """Whether ``examples.weather_tools`` can be imported, from a source checkout if need be.

    ``examples/`` sits beside the package in the repository and is not installed, and a
    console script does not put the working directory on ``sys.path``; so a checkout's
    root (the working directory, or the one an editable install points at) is added.
    """
    for root in (None, Path.cwd(), Path(__file__).resolve().parents[1]):
        if root is not None and (root / "examples" / "weather_tools.py").is_file():
            sys.path.insert(0, str(root))
            importlib.invalidate_caches()
        try:
            importlib.import_module(WEATHER_MODULE)
            return True
        except ImportError:
            continue
    return False


def seed_demo_assistant(
    runtime: LocalRuntime, updated_by: str, echo: Echo | None = None
) -> dict[str, Any]:
    """Create the weather assistant in the sandbox and record it; returns its variables."""
    from .backends.client import openai_client
    from .function_schema import describe_callable

    functions: list[dict[str, Any]] = []
    tools: list[dict[str, Any]] = []
    if weather_tools_importable():
        weather = importlib.import_module(WEATHER_MODULE)
        schema = describe_callable(weather.WeatherTools.get_weather)
        tools = [{"type": "function", "function": schema}]
        functions = [dict(WEATHER_FUNCTION)]
    else:
        runtime.notes.append(
            f"{WEATHER_MODULE} is not importable (run from a source checkout), so the demo "
            "assistant has no functions."
        )
    client = openai_client(runtime.engine.settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the Assistants API's notice
        assistant = client.beta.assistants.create(
            model=DEMO_MODEL,
            name="Weather demo",
            instructions="Answer weather questions with the get_weather function.",
            tools=tools,
        )
    if echo is not None:
        note = f"Created the sandbox assistant {assistant.id} (OpenAI API, not GraphQL)."
        print(note, file=echo.stream)
    variables = {
        "assistantType": DEMO_ASSISTANT_TYPE,
        "assistantId": assistant.id,
        "assistantName": "Weather demo",
        "functions": functions,
        "configuration": {"model": DEMO_MODEL},
        "updatedBy": updated_by,
    }
    _data(
        call(runtime.engine, "insertUpdateAssistant", variables, echo),
        "insertUpdateAssistant",
        "Recording the demo assistant",
    )
    return variables


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


def wait_for_run(
    engine: OpenaiAssistantEngine,
    variables: dict[str, Any],
    *,
    on_poll: Callable[[str], None] | None = None,
    echo: Echo | None = None,
    timeout: float = _RUN_TIMEOUT_SECONDS,
) -> dict[str, Any]:
    """Poll currentRun (which also drives the run on) until the run ends."""
    from .backends.base import TERMINAL_STATUSES

    deadline = time.monotonic() + timeout
    while True:
        run = _data(call(engine, "getCurrentRun", variables, echo), "currentRun", "currentRun")
        status = str(run.get("status"))
        if status in TERMINAL_STATUSES:
            return run
        if on_poll is not None:
            on_poll(status)
        if time.monotonic() > deadline:
            raise CommandError(f"Run {variables['runId']} still {status} after {timeout:.0f} s.")
        time.sleep(_POLL_SECONDS)


def tool_calls(engine: OpenaiAssistantEngine, run_id: str) -> list[dict[str, Any]]:
    """The run's records in the tool_calls table (empty if the store cannot list them)."""
    lister = getattr(engine.store, "list_tool_calls", None)
    if lister is None:
        return []
    try:
        records = list(lister(run_id))
    except EngineError:
        return []
    return sorted(records, key=lambda record: str(record.get("claimed_at") or ""))


def _describe_tool_call(record: dict[str, Any]) -> str:
    result = record.get("output") if record.get("status") == "completed" else record.get("error")
    text = f"{record.get('name')}({record.get('arguments') or ''}) -> {result}"
    if record.get("status") != "completed":
        text += f"  [{record.get('status')}]"
    return text if len(text) <= 240 else text[:237] + "..."


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not verbose:
        for name in _QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)


def _default_region() -> str | None:
    """The AWS default chain's region (environment, profile), if it names one."""
    import boto3

    return boto3.session.Session().region_name


def _default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "oae"


# ------------------------------------------------------------------------------ commands
def cmd_serve(args: argparse.Namespace) -> int:
    from .server import GraphQLServer

    _configure_logging(args.verbose)
    with local_runtime(sandbox=args.sandbox) as runtime:
        examples: dict[str, Any] = {"updatedBy": "browser", "role": "assistant"}
        if args.sandbox:
            demo = seed_demo_assistant(runtime, "oae-serve")
            examples.update(demo, updatedBy="browser", userQuery=DEMO_QUESTION)
            runtime.notes.append(
                f"Demo assistant: assistantType={demo['assistantType']} "
                f"assistantId={demo['assistantId']}"
            )
        server = GraphQLServer(runtime.engine, args.host, args.port, examples=examples)
        for note in runtime.notes:
            print(note, flush=True)
        print(f"Serving {server.url}  (page: /, GraphQL: POST /graphql)", flush=True)

        def stop(_signum: int, _frame: Any) -> None:
            # shutdown() waits for serve_forever, which runs on this very thread.
            threading.Thread(target=server.shutdown, daemon=True).start()

        previous = signal.signal(signal.SIGTERM, stop)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            server.stop()
    print("Stopped.", flush=True)
    return 0


def cmd_tables_create(args: argparse.Namespace) -> int:
    from .store.models import TABLE_NAMES
    from .store.tables import create_tables

    overrides = {
        "dynamodb_endpoint": args.dynamodb_endpoint,
        "region_name": args.region,
        "table_prefix": args.table_prefix,
    }
    setting = {key: value for key, value in overrides.items() if value}
    settings = Settings.load(setting)
    if not (settings.dynamodb_endpoint or settings.region_name or _default_region()):
        raise CommandError(
            "No DynamoDB to create tables in: set region_name (and AWS credentials) or "
            "dynamodb_endpoint in the environment or .env, or pass --region or "
            "--dynamodb-endpoint."
        )
    created = set(create_tables(**setting))
    where = settings.dynamodb_endpoint or f"AWS ({settings.region_name or 'default region'})"
    print(f"DynamoDB: {where}")
    for name in (f"{settings.table_prefix}{table}" for table in TABLE_NAMES):
        print(f"  {'created' if name in created else 'exists '}  {name}")
    print(f"{len(created)} table(s) created.")
    return 0


def cmd_schema(_args: argparse.Namespace) -> int:
    from .schema import build_schema

    print(str(build_schema()))
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    if not args.sandbox and not (args.assistant_type and args.assistant_id):
        raise CommandError("chat needs --assistant-type and --assistant-id (or --sandbox).")
    _configure_logging(args.verbose)
    if not args.verbose:  # the conversation is the output; warnings still show
        logging.getLogger("openai_assistant_engine").setLevel(logging.WARNING)
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
            _data(call(engine, "getAssistant", keys), "assistant", "Finding the assistant")
        for note in runtime.notes:
            print(note, file=sys.stderr)
        print(f"Chatting with {assistant_type}/{assistant_id}. /quit or Ctrl-D ends.", file=out)
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
            thread_id = _chat_turn(engine, assistant_type, assistant_id, thread_id, text, args)
    return 0


def _chat_turn(
    engine: OpenaiAssistantEngine,
    assistant_type: str,
    assistant_id: str,
    thread_id: str | None,
    text: str,
    args: argparse.Namespace,
) -> str | None:
    ask = {
        "assistantType": assistant_type,
        "assistantId": assistant_id,
        "userQuery": text,
        "updatedBy": args.updated_by,
        "threadId": thread_id,
    }
    try:
        started = _data(call(engine, "askOpenAi", ask), "askOpenAi", "askOpenAi")
        keys = {
            "assistantId": assistant_id,
            "threadId": started["threadId"],
            "runId": started["currentRunId"],
            "updatedBy": args.updated_by,
        }
        progress = _Progress(sys.stderr)
        try:
            run = wait_for_run(engine, keys, on_poll=progress.tick)
        finally:
            progress.done()
    except CommandError as exc:
        print(f"error: {exc}")
        return thread_id
    for record in tool_calls(engine, keys["runId"]):
        print(f"  tool: {_describe_tool_call(record)}")
    if run.get("status") != "completed":
        print(f"run {run.get('status')}: {run.get('error') or 'no reason given'}")
        return started["threadId"]
    last = {"assistantId": assistant_id, "threadId": started["threadId"], "role": "assistant"}
    try:
        message = _data(call(engine, "getLastMessage", last), "lastMessage", "lastMessage")
    except CommandError as exc:
        print(f"error: {exc}")
    else:
        print(f"assistant> {(message or {}).get('message', '(no reply)')}")
    usage = run.get("usage") or {}
    if usage:
        print(f"  ({usage.get('total_tokens', '?')} tokens)")
    return started["threadId"]


def cmd_demo(args: argparse.Namespace) -> int:
    _configure_logging(args.verbose)
    if not args.verbose:
        logging.getLogger("openai_assistant_engine").setLevel(logging.WARNING)
    out = sys.stdout
    if not weather_tools_importable():
        raise CommandError(
            f"The demo needs {WEATHER_MODULE}: run `oae demo` from the repository's root "
            "(the examples/ folder is not installed with the package)."
        )
    with local_runtime(sandbox=True) as runtime:
        for note in runtime.notes:
            print(note, file=out)
        engine = runtime.engine
        echo = Echo(out)
        print("\n== 1. Record an assistant whose function is examples.weather_tools", file=out)
        demo = seed_demo_assistant(runtime, "oae-demo", echo=echo)
        print("\n== 2. Ask a question; the sandbox model calls get_weather", file=out)
        ask = {
            "assistantType": demo["assistantType"],
            "assistantId": demo["assistantId"],
            "userQuery": DEMO_QUESTION,
            "updatedBy": "oae-demo",
        }
        started = _data(call(engine, "askOpenAi", ask, echo), "askOpenAi", "askOpenAi")
        keys = {
            "assistantId": demo["assistantId"],
            "threadId": started["threadId"],
            "runId": started["currentRunId"],
            "updatedBy": "oae-demo",
        }
        print("\n== 3. Poll currentRun until the run ends (each poll drives it on)", file=out)
        run = wait_for_run(engine, keys, echo=echo)
        print("\n== 4. Read the assistant's reply", file=out)
        last = {
            "assistantId": keys["assistantId"],
            "threadId": keys["threadId"],
            "role": "assistant",
        }
        message = _data(call(engine, "getLastMessage", last, echo), "lastMessage", "lastMessage")
        print("\n== 5. The thread and its recorded runs", file=out)
        thread_keys = {"assistantId": keys["assistantId"], "threadId": keys["threadId"]}
        _data(call(engine, "getThread", thread_keys, echo), "thread", "thread")
        records = tool_calls(engine, keys["runId"])
        print("\nTool calls recorded in the tool_calls table:", file=out)
        for record in records:
            print(f"  {_describe_tool_call(record)}", file=out)
        _check_demo(run, message, records)
    print("\nDemo finished: the function ran and the reply used its result.", file=out)
    return 0


def _check_demo(run: dict[str, Any], message: Any, records: list[dict[str, Any]]) -> None:
    if run.get("status") != "completed":
        raise CommandError(f"The demo run ended {run.get('status')}: {run.get('error')}")
    reply = (message or {}).get("message") or ""
    if "get_weather" not in reply or "Paris" not in reply:
        raise CommandError(f"The reply does not carry the function's result: {reply!r}")
    if records and not any(r.get("status") == "completed" for r in records):
        raise CommandError("The get_weather call was recorded but did not complete.")


# ------------------------------------------------------------------------------ parser
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
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 = any free)")
    serve.add_argument(
        "--sandbox",
        action="store_true",
        help="use the offline scripted OpenAI server and seed a demo assistant",
    )
    serve.add_argument("--verbose", action="store_true", help="log everything, SDKs included")
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
    chat.add_argument(
        "--sandbox",
        action="store_true",
        help="use the offline scripted OpenAI server with a seeded weather assistant",
    )
    chat.add_argument("--verbose", action="store_true", help="log everything")
    chat.set_defaults(func=cmd_chat)

    demo = commands.add_parser(
        "demo",
        help="run a scripted conversation offline",
        description="Sandbox model + embedded DynamoDB: record a weather assistant, ask a "
        "question that makes the model call get_weather, and print every GraphQL payload "
        "and response. Exits 0 when the function ran and the reply used its result.",
    )
    demo.add_argument("--verbose", action="store_true", help="log everything")
    demo.set_defaults(func=cmd_demo)
    return parser


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


if __name__ == "__main__":
    raise SystemExit(main())
