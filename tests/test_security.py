"""Security properties: the function allowlist holds, secrets stay out of every response and
log line, and oversized documents are refused before they cost anything."""

from __future__ import annotations

import json
import logging
import sys
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from graphql import parse, validate
from openai import OpenAI

from openai_assistant_engine import OpenaiAssistantEngine, contract_document, create_tables
from openai_assistant_engine.backends.base import ToolCall
from openai_assistant_engine.config import Settings
from openai_assistant_engine.edge.document_cache import MAX_TOKENS
from openai_assistant_engine.edge.log_redaction import REDACTED, redact_secrets_in_logs
from openai_assistant_engine.edge.payload import MAX_QUERY_LENGTH
from openai_assistant_engine.errors import ConfigurationError
from openai_assistant_engine.sandbox import SandboxServer
from openai_assistant_engine.schema import build_schema
from openai_assistant_engine.schema.limits import (
    MAX_DEPTH,
    MAX_FIELDS,
    MAX_FRAGMENT_NESTING,
    limit_rules,
)
from openai_assistant_engine.tools import InMemoryToolCallLedger, ToolOutcome, ToolRunner
from tests.toolbox import probe

LOGGER = logging.getLogger("oae.tests.security")
NEVER_IMPORTED = "tests.toolbox.never_imported"
SPEC_DOCUMENT = contract_document()

OPENAI_KEY = "sk-LOGMARKER-7f3a9c1e5b2d4680"
AWS_SECRET = "AWSLOGMARKERsecretKey/abc+123"
AWS_KEY_ID = "AKIALOGMARKER0042"
SECRETS = (OPENAI_KEY, AWS_SECRET, AWS_KEY_ID)
# Every logger that could write a request, a header or a traceback.
LIBRARY_LOGGERS = (
    "openai",
    "httpx",
    "httpx2",
    "httpcore",
    "httpcore2",
    "botocore",
    "boto3",
    "urllib3",
    "pynamodb",
    "openai_assistant_engine",
    "oae",
)


@pytest.fixture(autouse=True)
def _fresh_probe() -> Iterator[None]:
    probe.reset()
    yield
    probe.release_hung.set()


# ================================================================ the function allowlist
def run_one(
    entry: dict[str, Any], *, allowlist: tuple[str, ...] = ("tests.toolbox",)
) -> tuple[ToolOutcome, dict[str, Any]]:
    """Run one call of the entry's function; its outcome and the error the model sees."""
    entry = {"function_name": "run", **entry}
    runner = ToolRunner(logger=LOGGER, allowlist=allowlist, timeout_seconds=5)
    call = ToolCall(id=f"call_{uuid.uuid4().hex[:8]}", name=entry["function_name"], arguments="{}")
    outcomes = runner.run(
        functions=[entry],
        assistant_configuration={},
        calls=[call],
        run_id="run_security",
        thread_id="thread_security",
        ledger=InMemoryToolCallLedger(),
    )
    assert outcomes is not None
    (outcome,) = outcomes
    assert outcome.status == "failed" or not outcome.output.startswith('{"error"')
    return outcome, json.loads(outcome.output).get("error") or {}


def probe_entry(class_name: str = "Probe", function_name: str = "add") -> dict[str, Any]:
    return {
        "module_name": "tests.toolbox.probe",
        "class_name": class_name,
        "function_name": function_name,
        "configuration": {"token": "security"},
    }


@pytest.mark.parametrize(
    "module_name",
    [
        ".never_imported",
        "..toolbox.never_imported",
        ".tests.toolbox.never_imported",
        "tests..toolbox.never_imported",
        "tests.toolbox..never_imported",
        "tests.toolbox.never_imported.",
        "tests/toolbox/never_imported",
        "tests.toolbox.never_imported\x00",
        "tests.toolbox.__init__",
        "tests.__main__",
    ],
)
def test_module_names_that_are_not_absolute_dotted_paths_are_refused_before_import(
    module_name: str,
) -> None:
    outcome, error = run_one(
        {"module_name": module_name, "class_name": "Forbidden", "function_name": "f"},
        allowlist=("tests",),
    )
    assert outcome.status == "failed"
    assert error["type"] == "not_allowed", error
    assert NEVER_IMPORTED not in sys.modules


@pytest.mark.parametrize(
    ("module_name", "class_name"),
    [
        ("os", "PathLike"),
        ("subprocess", "Popen"),
        ("builtins", "object"),
        ("importlib", "import_module"),
        ("this", "Anything"),  # prints the Zen of Python when imported
    ],
)
def test_built_in_modules_off_the_allowlist_are_never_imported(
    module_name: str, class_name: str
) -> None:
    was_imported = module_name in sys.modules
    _, error = run_one({"module_name": module_name, "class_name": class_name})
    assert error["type"] == "not_allowed"
    assert "function_module_allowlist" in error["message"]
    assert (module_name in sys.modules) == was_imported


@pytest.mark.parametrize(
    ("allowlist", "module_name"),
    [
        (("tests.toolbox",), "tests.toolboxer"),
        (("tests.toolbox.never",), NEVER_IMPORTED),
        (("tests.toolbox.probe",), NEVER_IMPORTED),
        (("tests.tool",), "tests.toolbox.never_imported"),
    ],
)
def test_an_allowlist_entry_matches_whole_dotted_segments_not_string_prefixes(
    allowlist: tuple[str, ...], module_name: str
) -> None:
    outcome, error = run_one(
        {"module_name": module_name, "class_name": "Forbidden", "function_name": "run"},
        allowlist=allowlist,
    )
    assert error["type"] == "not_allowed"
    assert NEVER_IMPORTED not in sys.modules
    assert "escaped" not in outcome.output


@pytest.mark.parametrize(
    "function_name",
    [
        "__class__",
        "__globals__",
        "__init__",
        "__subclasses__",
        "__reduce__",
        "__getattribute__",
        "__dict__",
        "_private",
        "_count",
    ],
)
def test_dunder_and_private_attributes_are_not_functions(function_name: str) -> None:
    _, error = run_one(probe_entry(function_name=function_name))
    assert error["type"] == "not_allowed"
    assert "public identifier" in error["message"]
    assert probe.constructed["security"] == 0  # refused before the class was even built


@pytest.mark.parametrize(
    "class_name", ["__class__", "__builtins__", "__loader__", "__spec__", "_lock", "__init__"]
)
def test_dunder_and_private_module_attributes_are_not_classes(class_name: str) -> None:
    _, error = run_one(probe_entry(class_name=class_name))
    assert error["type"] == "not_allowed"


@pytest.mark.parametrize(
    ("class_name", "why"),
    [
        ("helper_function", "is not a class"),  # a function of the module
        ("collections", "is not a class"),  # a module the module imported
        ("release_hung", "is not a class"),  # an Event instance
        ("Reexported", "is defined in 'collections'"),  # a class from off the allowlist
    ],
)
def test_a_class_name_must_name_a_class_defined_on_the_allowlist(class_name: str, why: str) -> None:
    _, error = run_one(probe_entry(class_name=class_name, function_name="keys"))
    assert error["type"] == "not_allowed"
    assert why in error["message"]


@pytest.mark.parametrize(
    ("class_name", "function_name"),
    [
        ("Probe", "measure"),  # a built-in (len) stored on the class
        ("DictTools", "keys"),  # inherited from dict
        ("DictTools", "mro"),  # type's, not the class's
        ("Probe", "callback"),  # set on the instance, not defined by the class
    ],
)
def test_only_functions_the_class_itself_defines_can_run(
    class_name: str, function_name: str
) -> None:
    outcome, error = run_one(probe_entry(class_name, function_name))
    assert outcome.status == "failed"
    assert error["type"] in ("not_allowed", "import_error"), error
    assert probe.invoked["security"] == 0


def test_a_lookalike_unicode_name_finds_nothing_to_run() -> None:
    outcome, error = run_one(
        probe_entry(class_name="\uff30\uff52\uff4f\uff42\uff45")
    )  # fullwidth "Probe"
    assert outcome.status == "failed"
    assert "has no class" in error["message"]


def test_an_allowed_function_still_runs() -> None:
    """The refusals above are not everything being refused."""
    runner = ToolRunner(logger=LOGGER, allowlist=("tests.toolbox.probe",), timeout_seconds=5)
    outcomes = runner.run(
        functions=[probe_entry()],
        assistant_configuration={},
        calls=[ToolCall(id="call_ok", name="add", arguments='{"a": 2, "b": 3}')],
        run_id="run_ok",
        thread_id="thread_ok",
        ledger=InMemoryToolCallLedger(),
    )
    assert outcomes is not None
    assert outcomes[0].status == "completed"
    assert outcomes[0].output == "5"


def test_describing_a_function_for_the_model_applies_the_same_checks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runner = ToolRunner(logger=LOGGER, allowlist=("tests.toolbox",), timeout_seconds=5)
    with caplog.at_level("WARNING"):
        described = runner.describe(
            functions=[probe_entry(function_name="__init__")], assistant_configuration={}
        )
    assert described == []  # left out of the request, never described
    assert "public identifier" in caplog.text


@pytest.mark.parametrize("entry", [".tests", "tests.", "tests..toolbox"])
def test_a_relative_or_hollow_allowlist_entry_fails_at_construction(entry: str) -> None:
    with pytest.raises(ConfigurationError, match="function_module_allowlist"):
        Settings.load({"function_module_allowlist": entry}, environ={}, env_file=None)


# ---------------------------------------------------------------- end to end, on the sandbox
@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


def sandbox_assistant(sandbox: SandboxServer) -> str:
    client = OpenAI(api_key="sk-sandbox", base_url=sandbox.base_url)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the Assistants API's notice
        return client.beta.assistants.create(model="gpt-4o-mini", name="security").id


def graphql(engine: OpenaiAssistantEngine, operation: str, **variables: Any) -> dict[str, Any]:
    text = engine.open_assistant_graphql(
        query=SPEC_DOCUMENT, operation_name=operation, variables=variables
    )
    return json.loads(text)


def converse(
    engine: OpenaiAssistantEngine, assistant_id: str, functions: list[dict[str, Any]], text: str
) -> dict[str, str]:
    """Register the assistant, ask, and poll currentRun to the run's end."""
    put = graphql(
        engine,
        "insertUpdateAssistant",
        assistantType="security",
        assistantId=assistant_id,
        assistantName="security",
        functions=functions,
        updatedBy="tester",
    )
    assert put["status_code"] == 200, put
    asked = graphql(
        engine,
        "askOpenAi",
        assistantType="security",
        assistantId=assistant_id,
        userQuery=text,
        updatedBy="tester",
    )
    assert asked["status_code"] == 200, asked
    started = asked["data"]["askOpenAi"]
    for _ in range(20):
        run = graphql(
            engine,
            "getCurrentRun",
            assistantId=assistant_id,
            threadId=started["threadId"],
            runId=started["currentRunId"],
            updatedBy="tester",
        )
        assert run["status_code"] == 200, run
        if run["data"]["currentRun"]["status"] == "completed":
            return {"thread_id": started["threadId"], "run_id": started["currentRunId"]}
    raise AssertionError(f"the run did not complete: {run}")


@pytest.mark.parametrize(
    ("function", "module_name"),
    [
        (
            {"module_name": NEVER_IMPORTED, "class_name": "Forbidden", "function_name": "run"},
            NEVER_IMPORTED,
        ),
        (
            {"module_name": "..toolbox.never_imported", "class_name": "F", "function_name": "run"},
            NEVER_IMPORTED,
        ),
        ({"module_name": "this", "class_name": "Zen", "function_name": "run"}, "this"),
    ],
    ids=["off-the-allowlist", "relative", "standard-library"],
)
def test_a_model_calling_a_function_off_the_allowlist_gets_not_allowed_and_nothing_is_imported(
    dynamo_settings: dict[str, str],
    sandbox: SandboxServer,
    function: dict[str, Any],
    module_name: str,
) -> None:
    was_imported = module_name in sys.modules
    engine = OpenaiAssistantEngine(
        LOGGER,
        **dynamo_settings,
        openai_api_key="sk-sandbox",
        openai_base_url=sandbox.base_url,
        openai_backend="assistants",  # sandbox_assistant() is an Assistants API assistant
        function_module_allowlist="tests.toolbox.probe",
        run_driver="poll",
    )
    ids = converse(engine, sandbox_assistant(sandbox), [function], "go\ncall:run {}")

    (record,) = engine.store.list_tool_calls(ids["run_id"])
    assert record["status"] == "failed"
    assert record["error"].startswith("not_allowed")
    last = graphql(engine, "getLastMessage", threadId=ids["thread_id"], role="assistant")
    assert "not_allowed" in last["data"]["lastMessage"]["message"]
    assert "escaped" not in last["data"]["lastMessage"]["message"]
    assert (module_name in sys.modules) == was_imported


# ================================================================ secrets: responses and logs
@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    for name in LIBRARY_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def assert_no_secret_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    for record in caplog.records:
        line = formatter.format(record)  # the message, then exc_text with any traceback
        for secret in SECRETS:
            assert secret not in line, (record.name, line[:500])
            assert secret not in (record.exc_text or "")
    assert SECRETS[0] not in caplog.text


def test_no_setting_value_reaches_a_response_or_a_log_line(
    all_logs: pytest.LogCaptureFixture, moto_endpoint: str, sandbox: SandboxServer
) -> None:
    setting = {
        "region_name": "us-east-1",
        "dynamodb_endpoint": moto_endpoint,
        "table_prefix": f"sec-{uuid.uuid4().hex[:8]}-",
        "aws_access_key_id": AWS_KEY_ID,
        "aws_secret_access_key": AWS_SECRET,
        "openai_api_key": OPENAI_KEY,
        "openai_base_url": sandbox.base_url,
        "openai_backend": "assistants",  # sandbox_assistant() is an Assistants API assistant
        "function_module_allowlist": "tests.toolbox.probe",
        "run_driver": "poll",
    }
    create_tables(**setting)
    engine = OpenaiAssistantEngine(LOGGER, **setting)
    assistant_id = sandbox_assistant(sandbox)
    functions = [
        {**probe_entry(function_name="add")},
        {**probe_entry(function_name="fail")},
    ]
    responses: list[str] = []

    def send(operation: str, **variables: Any) -> dict[str, Any]:
        text = engine.open_assistant_graphql(
            query=SPEC_DOCUMENT, operation_name=operation, variables=variables
        )
        responses.append(text)
        return json.loads(text)

    # A whole conversation: a tool round, then the answer.
    ids = converse(engine, assistant_id, functions, 'sum?\ncall:add {"a": 1, "b": 2}')
    assert send("getLastMessage", threadId=ids["thread_id"], role="assistant")["status_code"] == 200
    assert send("getLiveMessages", threadId=ids["thread_id"])["status_code"] == 200
    # A tool that fails with the key in its message: logged with a traceback, told the model.
    converse(engine, assistant_id, functions, f'x\ncall:fail {{"message": "{OPENAI_KEY}"}}')
    # OpenAI echoing the key in an error (a proxy might), after the SDK's retries.
    sandbox.inject_errors(400, count=1, message=f"bad key {OPENAI_KEY} for {AWS_KEY_ID}")
    failed = send(
        "askOpenAi",
        assistantType="security",
        assistantId=assistant_id,
        userQuery="hi",
        updatedBy="tester",
    )
    assert failed["status_code"] == 502, failed
    assert f"bad key {REDACTED} for {REDACTED}" in failed["errors"][0]["message"]
    sandbox.inject_errors(500, count=5)
    assert send("getLiveMessages", threadId=ids["thread_id"])["status_code"] == 502
    sandbox.inject_errors(401, count=1)
    assert send("getLiveMessages", threadId=ids["thread_id"], roles=["user"])["status_code"] == 502
    # Requests that fail before anything runs.
    assert send("getAssistant", assistantType="none", assistantId="none")["status_code"] == 404
    assert send("getAssistantList", limit="x")["status_code"] == 400
    responses.append(engine.open_assistant_graphql(query="{ nope }"))

    for text in responses:
        for secret in SECRETS:
            assert secret not in text
    assert_no_secret_in_logs(all_logs)
    # The capture saw what would have leaked: botocore logs the signed headers at DEBUG.
    signed = [r for r in all_logs.records if r.name == "botocore.endpoint"]
    assert signed
    assert any(REDACTED in record.getMessage() for record in signed)


def test_a_secret_is_redacted_from_messages_args_and_tracebacks_of_any_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = f"sk-REDACT-{uuid.uuid4().hex}"
    redact_secrets_in_logs([secret])
    other = logging.getLogger(f"some.library.{uuid.uuid4().hex[:6]}")
    caplog.set_level(logging.DEBUG)
    other.debug("headers=%s", {"Authorization": f"Bearer {secret}"})
    other.info(f"inline {secret}")
    other.warning("%(key)s as a mapping", {"key": secret})
    try:
        raise RuntimeError(f"connection string user:{secret}@host")
    except RuntimeError:
        other.exception("could not connect")

    assert_no_secret_in_logs_of(caplog, secret)
    assert caplog.records[0].getMessage() == "headers={'Authorization': 'Bearer [redacted]'}"
    assert "RuntimeError: connection string user:[redacted]@host" in caplog.text


def test_a_record_without_a_secret_keeps_its_format_and_args(
    caplog: pytest.LogCaptureFixture,
) -> None:
    redact_secrets_in_logs([f"sk-OTHER-{uuid.uuid4().hex}"])
    caplog.set_level(logging.INFO)
    logging.getLogger("oae.tests.plain").info("run %s ended %s", "run_1", "completed")
    (record,) = caplog.records
    assert record.msg == "run %s ended %s"
    assert record.args == ("run_1", "completed")


def assert_no_secret_in_logs_of(caplog: pytest.LogCaptureFixture, secret: str) -> None:
    formatter = logging.Formatter("%(message)s")
    for record in caplog.records:
        assert secret not in formatter.format(record)
    assert secret not in caplog.text


# ================================================================ limits on documents
@pytest.fixture
def engine(dynamo_settings: dict[str, str]) -> OpenaiAssistantEngine:
    return OpenaiAssistantEngine(LOGGER, **dynamo_settings)


def answer(engine: OpenaiAssistantEngine, query: str) -> dict[str, Any]:
    return json.loads(engine.open_assistant_graphql(query=query))


def refused(engine: OpenaiAssistantEngine, query: str) -> str:
    response = answer(engine, query)
    assert response["status_code"] == 400, response
    assert response["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    return response["errors"][0]["message"]


def nested(levels: int) -> str:
    return "{ " + "assistantList { " * levels + "total" + " }" * levels + " }"


def test_a_query_nested_deeper_than_the_limit_is_a_bad_request(
    engine: OpenaiAssistantEngine,
) -> None:
    message = refused(engine, nested(MAX_DEPTH + 1))
    assert message == (
        f"Operation 'anonymous' nests {MAX_DEPTH + 2} levels deep; the limit is {MAX_DEPTH}."
    )


def test_depth_counts_through_fragments(engine: OpenaiAssistantEngine) -> None:
    """Each fragment adds one level: nine of them, then ping, is ten levels."""
    query = (
        "{ ...F1 } "
        + " ".join(
            f"fragment F{i} on Query {{ assistantList {{ ...F{i + 1} }} }}" for i in range(1, 10)
        )
        + " fragment F10 on Query { ping }"
    )
    message = refused(engine, query)
    assert message == f"Operation 'anonymous' nests 10 levels deep; the limit is {MAX_DEPTH}."


def test_a_query_longer_than_the_limit_is_a_bad_request(engine: OpenaiAssistantEngine) -> None:
    query = "{ ping }" + " " * MAX_QUERY_LENGTH
    message = refused(engine, query)
    assert message == f"The query is {len(query)} characters; the limit is {MAX_QUERY_LENGTH}."


def _short_aliases(count: int) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    names = (
        alphabet[i // 676 % 26] + alphabet[i // 26 % 26] + alphabet[i % 26] for i in range(count)
    )
    return "{" + " ".join(f"{name}:ping" for name in names) + "}"


@pytest.mark.parametrize(
    "query",
    [_short_aliases(3_000), "{" + " ping" * 3_000 + " }"],
    ids=["3000-aliases", "3000-repeats"],
)
def test_thousands_of_pings_in_one_operation_are_refused_by_the_field_limit(
    engine: OpenaiAssistantEngine, query: str
) -> None:
    # Under the token limit (9,002 tokens at most), which refuses 10,000 before parsing.
    assert len(query) < MAX_QUERY_LENGTH  # the length limit alone would let them through
    message = refused(engine, query)
    assert message == (
        "Operation 'anonymous' selects 3000 fields (aliases and fragments counted each time "
        f"they are used); the limit is {MAX_FIELDS}."
    )


@pytest.mark.parametrize(
    "query",
    [_short_aliases(10_000), "{" + " ping" * 10_000 + " }"],
    ids=["10000-aliases", "10000-repeats"],
)
def test_ten_thousand_pings_are_refused_by_the_token_limit(
    engine: OpenaiAssistantEngine, query: str
) -> None:
    assert refused(engine, query) == (
        f"The document has more than {MAX_TOKENS} tokens; the limit is {MAX_TOKENS}."
    )


def test_an_operation_at_the_field_limit_runs(engine: OpenaiAssistantEngine) -> None:
    response = answer(engine, _short_aliases(MAX_FIELDS))
    assert response["status_code"] == 200
    assert len(response["data"]) == MAX_FIELDS
    assert "selects 201 fields" in refused(engine, _short_aliases(MAX_FIELDS + 1))


def test_a_fragment_bomb_is_measured_once_per_fragment_and_refused(
    engine: OpenaiAssistantEngine,
) -> None:
    """Ten spreads of the next fragment, fifteen deep: 10**15 fields from 2 KB of text.

    Measured spread by spread this would never finish; measured once per fragment it is
    refused at once.
    """
    levels = MAX_FRAGMENT_NESTING - 1
    spreads = " ".join(["...F{}"] * 10)
    query = (
        f"{{ {spreads.format(*[1] * 10)} }} "
        + " ".join(
            f"fragment F{i} on Query {{ {spreads.format(*[i + 1] * 10)} }}"
            for i in range(1, levels)
        )
        + f" fragment F{levels} on Query {{ ping }}"
    )
    assert len(query) < 3000
    message = refused(engine, query)
    assert f"selects {10**levels} fields" in message


def test_fragments_nested_past_the_limit_are_refused(engine: OpenaiAssistantEngine) -> None:
    length = MAX_FRAGMENT_NESTING + 1
    query = (
        "{ ...F1 } "
        + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(1, length))
        + f" fragment F{length} on Query {{ ping }}"
    )
    message = refused(engine, query)
    assert f"nests fragments more than {MAX_FRAGMENT_NESTING} deep" in message


def test_the_spec_document_is_within_every_limit() -> None:
    schema = build_schema().graphql_schema
    assert validate(schema, parse(SPEC_DOCUMENT), rules=limit_rules()) == []
