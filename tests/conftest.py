"""Shared fixtures: moto's DynamoDB in server mode over real HTTP, one table set per test."""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# The tests read the contract shipped in the package; the project's spec document, when it
# sits beside the checkout, is only compared with it (tests/test_contract_files.py).
SPEC_DOCUMENT_PATH = (
    Path(__file__).resolve().parents[2] / "shared" / "spec" / "openai_assistant_engine.graphql"
)
# What the packaged contract adds to the spec's text: whole lines, so the spec's own text
# is the contract with them taken out.
CONTRACT_ADDITIONS = ("    $configuration: JSON,\n", "        configuration: $configuration,\n")


def spec_text_of(contract: str) -> str:
    """The spec's document: the packaged contract without its additions."""
    for line in CONTRACT_ADDITIONS:
        assert contract.count(line) == 1, f"the contract no longer adds {line!r}"
        contract = contract.replace(line, "")
    return contract


# No test may find real credentials or reach AWS by accident.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
    os.environ.pop(_name, None)
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"

_prefixes = itertools.count()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's server, in a process of its own (tests/moto_process.py), over HTTP."""
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "tests.moto_process"],
        cwd=Path(__file__).resolve().parents[1],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdin is not None
    port = process.stdout.readline().strip()
    assert port.isdigit(), f"moto's server did not start (exit {process.poll()})"
    yield f"http://127.0.0.1:{port}"
    process.terminate()  # at once: the end of its input is only the backstop for a crash
    process.wait(10)


@pytest.fixture
def dynamo_settings(moto_endpoint: str) -> dict[str, str]:
    """Settings for a fresh, empty table set on the moto server."""
    from openai_assistant_engine import create_tables

    setting = {
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "dynamodb_endpoint": moto_endpoint,
        "table_prefix": f"t{next(_prefixes)}-",
    }
    create_tables(**setting)
    return setting


@pytest.fixture
def spec_document() -> str:
    """The contract document as the package ships it (a superset of the spec's)."""
    from openai_assistant_engine import contract_document

    return contract_document()


@pytest.fixture
def test_logger() -> logging.Logger:
    return logging.getLogger("oae.tests")


# ------------------------------------------------------------ conversations over the sandbox
# The engine over HTTP twice: DynamoDB is the moto server, OpenAI is the sandbox, spoken
# to by the official SDK. One sandbox and one table set serve every conversation test:
# each test has its own assistant record, threads and runs, so none sees another's.


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Any]:
    from openai_assistant_engine.sandbox import SandboxServer

    with SandboxServer() as server:
        yield server


@pytest.fixture
def openai_sandbox(sandbox_server: Any) -> Iterator[Any]:
    """The shared sandbox, left as it was found: no pending faults, Assistants API on."""
    yield sandbox_server
    sandbox_server.clear_errors()
    sandbox_server.assistants_shutdown = False


@pytest.fixture(scope="session")
def conversation_tables(moto_endpoint: str) -> dict[str, str]:
    from openai_assistant_engine import create_tables

    setting = {
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "dynamodb_endpoint": moto_endpoint,
        "table_prefix": f"conv{next(_prefixes)}-",
    }
    create_tables(**setting)
    return setting


@pytest.fixture(scope="session")
def sandbox_assistant_id(sandbox_server: Any) -> str:
    """The OpenAI assistant the Assistants backend runs, made with the SDK on the sandbox."""
    import warnings

    from openai import OpenAI

    with (
        OpenAI(api_key="sk-sandbox", base_url=sandbox_server.base_url) as client,
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", DeprecationWarning)
        return client.beta.assistants.create(model="gpt-sandbox", name="engine tests").id


_assistant_numbers = itertools.count()


@pytest.fixture
def make_chat(
    openai_sandbox: Any,
    conversation_tables: dict[str, str],
    sandbox_assistant_id: str,
    spec_document: str,
    test_logger: logging.Logger,
) -> Callable[..., Any]:
    """``make_chat(backend, driver="poll", **settings)``: an engine and a fresh assistant
    record for it (Assistants: the sandbox assistant; the others: a model configuration).
    ``backend`` may be ``responses-engine``: Responses with engine-held history."""
    from .conversation_calls import ALLOWLIST, FUNCTIONS, RESPONSES_CONFIGURATION, Chat

    def build(backend: str, driver: str = "poll", **settings: Any) -> Any:
        if backend == "responses-engine":  # the Responses API with engine-held history
            backend, settings = "responses", {"conversation_state": "engine", **settings}
        number = next(_assistant_numbers)
        chat = Chat(
            document=spec_document,
            logger=test_logger,
            settings={
                **conversation_tables,
                "openai_api_key": "sk-sandbox",
                "openai_base_url": openai_sandbox.base_url,
                "openai_backend": backend,
                "run_driver": driver,
                "function_module_allowlist": ALLOWLIST,
                "tool_timeout_seconds": 5,
                **settings,
            },
            assistant_type=f"conversation-{number}",
            assistant_id=(
                sandbox_assistant_id if backend == "assistants" else f"asst_local_{number}"
            ),
        )
        chat.register(FUNCTIONS, None if backend == "assistants" else RESPONSES_CONFIGURATION)
        return chat

    return build


# moto's server logs every DynamoDB request at INFO: keep failure reports readable.
logging.getLogger("werkzeug").setLevel(logging.WARNING)


# ------------------------------------------------------------------------ the end of a run
# Everything the run leaves behind (moto's tables of every test, the SDK's and botocore's
# models) is a heap of millions of objects: pytest's final garbage collections and the
# interpreter's teardown took a minute after the summary line on a busy machine. The
# summary is out and every report written once pytest_unconfigure runs last, so the
# process leaves then, with pytest's exit status. OAE_TESTS_FULL_EXIT=1 keeps the usual
# exit (to see an unraisable exception reported only at collection time).
_exit_status: list[int] = []


def pytest_collection_finish(session: pytest.Session) -> None:
    # Objects made by imports and collection live to the end: keep them out of every
    # garbage collection the tests trigger. The tests keep clients, engines and servers
    # alive for the session: full collections come a tenth as often (default 700, 10, 10).
    import gc

    gc.freeze()
    gc.set_threshold(700, 10, 100)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _exit_status.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if not _exit_status or os.environ.get("OAE_TESTS_FULL_EXIT") == "1":
        return
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_exit_status[-1])
