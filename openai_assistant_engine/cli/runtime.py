"""The local runtime: an engine plus what the settings lack, started here and stopped after.

With no DynamoDB named in the settings an embedded one (moto, in this process) is used;
``sandbox`` puts the scripted, offline OpenAI-compatible server in this process too, and
:func:`seed_demo_assistant` gives it the weather assistant the demo, chat and page use.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..config import Settings
from ..engine import OpenaiAssistantEngine
from .graphql import Echo, fetch

__all__ = [
    "DEMO_QUESTION",
    "WEATHER_MODULE",
    "LocalRuntime",
    "dynamodb_location",
    "local_runtime",
    "seed_demo_assistant",
]

DEMO_ASSISTANT_TYPE = "demo"
DEMO_MODEL = "gpt-4o-mini"  # any name does for the sandbox; a real one reads better
WEATHER_MODULE = "openai_assistant_engine.examples.weather_tools"
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


@dataclass
class LocalRuntime:
    """An engine plus what it runs on here: maybe an embedded DynamoDB and a sandbox."""

    engine: OpenaiAssistantEngine
    notes: list[str] = field(default_factory=list)
    sandbox_url: str | None = None


def dynamodb_location(settings: Settings) -> str:
    """The DynamoDB the settings name, as the commands print it."""
    return settings.dynamodb_endpoint or f"AWS ({settings.region_name or 'default region'})"


@contextlib.contextmanager
def local_runtime(*, sandbox: bool) -> Iterator[LocalRuntime]:
    """Start what the settings lack (DynamoDB, and the sandbox if asked); stop it after."""
    from ..local_dynamodb import EmbeddedDynamoDB, wants_embedded_dynamodb

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
            notes.append(
                f"DynamoDB: {dynamodb_location(settings)}, tables {settings.table_prefix}*"
            )
        sandbox_url = None
        if sandbox:
            from ..sandbox import SandboxServer

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


def seed_demo_assistant(
    runtime: LocalRuntime, updated_by: str, echo: Echo | None = None
) -> dict[str, Any]:
    """Create the weather assistant in the sandbox and record it; returns its variables."""
    from ..backends.client import openai_client
    from ..examples.weather_tools import WeatherTools  # shipped in the package
    from ..function_schema import describe_callable

    tools = [{"type": "function", "function": describe_callable(WeatherTools.get_weather)}]
    functions = [dict(WEATHER_FUNCTION)]
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
    fetch(
        runtime.engine,
        "insertUpdateAssistant",
        variables,
        echo,
        doing="Recording the demo assistant",
    )
    return variables
