"""Fuzzing the GraphQL entry point: whatever arrives, the answer keeps the response contract.

Random variables for every operation of the spec document (wrong types, huge and negative
numbers, non-finite floats and Decimals, nulls, nesting, unicode, lone surrogates) and
random or mutated documents (truncations, stray tokens, deep nesting, many aliases,
unknown fields, fragments, directives) go through ``open_assistant_graphql`` on moto's
DynamoDB. OpenAI is a closed local port, so the operations that need it fail fast.

The properties, for every payload: the call returns (never raises) strict JSON text with
a ``status_code``; ``data`` on 200, otherwise a non-empty list of ``errors`` with a
``message``; a bad payload is never a 500; a 5xx shows no internals; no secret setting
value appears anywhere in the text.

Hypothesis runs derandomized with no example database, so CI sees the same examples on
every run.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import string
import uuid
from decimal import Decimal
from typing import Any

import pytest
from graphql import OperationDefinitionNode, parse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openai_assistant_engine import OpenaiAssistantEngine, contract_document, create_tables
from openai_assistant_engine.schema.limits import MAX_FIELDS

OPENAI_KEY = "sk-FUZZ-MARKER-0123456789"
AWS_SECRET = "AWS-FUZZ-MARKER-SECRET-9876"
AWS_KEY_ID = "AKIAFUZZMARKER42"
SECRETS = (OPENAI_KEY, AWS_SECRET, AWS_KEY_ID)

SEEDED_ASSISTANT = {"assistantType": "fuzz", "assistantId": "asst_fuzz"}
SEEDED_THREAD = "thread_fuzz"
STABLE_ASSISTANT = {"assistantType": "stable", "assistantId": "asst_stable"}  # never fuzzed
STABLE_THREAD = "thread_stable"

SPEC_DOCUMENT = contract_document()
OPERATIONS = {
    node.name.value: node
    for node in parse(SPEC_DOCUMENT).definitions
    if isinstance(node, OperationDefinitionNode)
}
OPENAI_OPERATIONS = ("askOpenAi", "getCurrentRun", "getLastMessage", "getLiveMessages")
DATA_OPERATIONS = tuple(sorted(set(OPERATIONS) - set(OPENAI_OPERATIONS)))
STATUSES = {200, 400, 404, 409, 500, 502}

# What a 5xx message must never show: a traceback, a source file, an exception's repr.
INTERNALS = re.compile(
    r"Traceback|File \"|\.py\b|\bline \d+, in\b|<class '|object at 0x|\b\w+(?:Error|Exception)\("
)

_FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def fuzz(max_examples: int) -> settings:
    return settings(_FUZZ, max_examples=max_examples)


LOGGER = logging.getLogger("oae.tests.fuzz")


# ------------------------------------------------------------------------------ fixtures
def _closed_port_url() -> str:
    """A URL nothing listens on: bound, then closed, so connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.fixture(scope="module")
def engine(moto_endpoint: str) -> OpenaiAssistantEngine:
    """One engine and table set for the module: fuzzed writes only add records."""
    setting = {
        "region_name": "us-east-1",
        "dynamodb_endpoint": moto_endpoint,
        "table_prefix": f"fuzz-{uuid.uuid4().hex[:8]}-",
        "openai_api_key": OPENAI_KEY,
        "aws_secret_access_key": AWS_SECRET,
        "aws_access_key_id": AWS_KEY_ID,
        "openai_base_url": _closed_port_url(),
        "run_driver": "poll",
        "openai_model": "gpt-4o-mini",
        "function_module_allowlist": "tests.toolbox.probe",
    }
    create_tables(**setting)
    engine = OpenaiAssistantEngine(LOGGER, **setting)
    _seed(engine)
    return engine


def _seed(
    engine: OpenaiAssistantEngine,
    assistant: dict[str, str] = SEEDED_ASSISTANT,
    thread_id: str = SEEDED_THREAD,
) -> None:
    """An assistant and a thread, so that fuzzed ids sometimes name real records."""
    for operation, variables in (
        (
            "insertUpdateAssistant",
            {**assistant, "assistantName": "n", "functions": [], "updatedBy": "seed"},
        ),
        (
            "insertUpdateThread",
            {
                "assistantId": assistant["assistantId"],
                "threadId": thread_id,
                "assistantType": assistant["assistantType"],
                "updatedBy": "seed",
            },
        ),
    ):
        response = json.loads(
            engine.open_assistant_graphql(
                query=SPEC_DOCUMENT, operation_name=operation, variables=variables
            )
        )
        assert response["status_code"] == 200, response


# ------------------------------------------------------------------------------ the contract
def _reject_constant(name: str) -> Any:
    raise AssertionError(f"the response is not strict JSON: it holds {name}")


def check_contract(text: Any) -> dict[str, Any]:
    """Every property a response must have, whatever the payload; returns it parsed."""
    assert isinstance(text, str), type(text)
    for secret in SECRETS:
        assert secret not in text
    assert "Traceback (most recent call last)" not in text
    text.encode("utf-8")  # a lone surrogate would break every HTTP front end
    response = json.loads(text, parse_constant=_reject_constant)
    assert isinstance(response, dict)
    status = response.get("status_code")
    assert status in STATUSES, response
    if status == 200:
        assert set(response) == {"data", "status_code"}, response
        assert isinstance(response["data"], dict)
        return response
    assert set(response) == {"errors", "status_code"}, response
    errors = response["errors"]
    assert isinstance(errors, list)
    assert errors
    for error in errors:
        assert isinstance(error, dict)
        assert isinstance(error["message"], str)
        assert error["message"]
        assert isinstance(error["extensions"]["code"], str)
        if status >= 500:
            assert not INTERNALS.search(error["message"]), error
    return response


def check_bad_input(text: Any) -> dict[str, Any]:
    """A fuzzed payload is the caller's fault or OpenAI's, never an unexpected 500."""
    response = check_contract(text)
    assert response["status_code"] != 500, response
    return response


# ------------------------------------------------------------------------------ strategies
TRICKY_TEXT = [
    "",
    " ",
    "\x00",
    "\ud800",
    "a\udfffb",
    "\u202e\u2066",
    "Zürich ☀️ 天気 👩‍👩‍👧",
    "' OR '1'='1",
    '") { ping } #',
    "${jndi:ldap://x}",
    "../../etc/passwd",
    "__class__",
    "os.system",
    "x" * 3000,
    "1e400",
    "NaN",
    "null",
    "2024-02-30T25:61:00Z",
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00",
    OPENAI_KEY,
    AWS_SECRET,
    f"prefix {OPENAI_KEY} suffix",
    SEEDED_ASSISTANT["assistantId"],
    SEEDED_THREAD,
]
HUGE_NUMBERS = [
    2**31,
    -(2**31) - 1,
    2**63,
    -(2**64),
    10**400,
    Decimal("1e400"),
    Decimal("-1e-400"),
    Decimal("NaN"),
    Decimal("sNaN"),
    Decimal("Infinity"),
    Decimal("-Infinity"),
    float("nan"),
    float("inf"),
    float("-inf"),
    -0.0,
    5e-324,
]

plain_texts = st.text(
    alphabet=string.ascii_letters + string.digits + "-_. ", min_size=1, max_size=20
)
texts = st.one_of(
    plain_texts,
    plain_texts,
    st.sampled_from([SEEDED_ASSISTANT["assistantId"], SEEDED_THREAD, "fuzz", "user", "assistant"]),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
    st.sampled_from(TRICKY_TEXT),
)

numbers = st.one_of(
    st.integers(min_value=-5, max_value=1005),
    st.integers(min_value=-5, max_value=1005),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.decimals(),
    st.sampled_from(HUGE_NUMBERS),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_like = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(texts, children, max_size=4),
    ),
    max_leaves=12,
)
# Values SilvaEngine would never send, but a Python caller might.
odd_values = st.sampled_from(
    [b"bytes", {1, 2}, (1, 2), object(), {1: "int key"}, {("t",): 1}, Decimal("1.5")]
)


def _deep(levels: int, leaf: Any = 1, as_list: bool = False) -> Any:
    value = leaf
    for _ in range(levels):
        value = [value] if as_list else {"d": value}
    return value


deep_values = st.builds(_deep, st.integers(min_value=30, max_value=500), json_like, st.booleans())
function_entries = st.fixed_dictionaries(
    {},
    optional={
        "module_name": st.one_of(texts, st.sampled_from(["tests.toolbox.probe", "os", ".x"])),
        "class_name": st.one_of(texts, st.sampled_from(["Probe", "__class__"])),
        "function_name": st.one_of(texts, st.sampled_from(["add", "__init__"])),
        "configuration": json_like,
    },
)
runs = st.fixed_dictionaries(
    {},
    optional={
        "run_id": st.one_of(texts, numbers),
        "status": scalars,
        "usage": json_like,
        "model": scalars,
        "error": scalars,
        "created_at": st.one_of(texts, numbers),
        "completed_at": st.one_of(texts, numbers),
        "backend_state": json_like,
        "tool_rounds": numbers,
    },
)


def _typed_value(type_text: str) -> st.SearchStrategy[Any]:
    """Values that are right (or nearly) for a variable of this GraphQL type."""
    name = type_text.strip("[]!")
    if name == "String":
        inner: st.SearchStrategy[Any] = texts
    elif name == "Int":
        inner = numbers
    elif name == "Boolean":
        inner = st.booleans()
    elif name == "DateTime":
        inner = st.one_of(texts, st.datetimes().map(lambda moment: moment.isoformat()), numbers)
    else:  # JSON
        inner = st.one_of(json_like, function_entries, runs, deep_values)
    if type_text.startswith("["):
        return st.one_of(st.lists(st.one_of(inner, st.none()), max_size=5), inner)
    return inner


def _variable_types(operation: str) -> dict[str, str]:
    from graphql import print_ast

    return {
        definition.variable.name.value: print_ast(definition.type)
        for definition in OPERATIONS[operation].variable_definitions
    }


@st.composite
def variables_for(draw: st.DrawFn, operation: str) -> Any:
    """Variables for ``operation``: each missing, well typed, wrongly typed or odd."""
    variables: dict[str, Any] = {}
    for name, type_text in _variable_types(operation).items():
        choice = draw(st.sampled_from(["typed"] * 12 + ["missing", "wrong", "odd"]))
        if choice == "typed":
            variables[name] = draw(_typed_value(type_text))
        elif choice == "wrong":
            variables[name] = draw(st.one_of(json_like, deep_values))
        elif choice == "odd":
            variables[name] = draw(odd_values)
    if not draw(st.integers(0, 5)):
        variables[draw(texts)] = draw(json_like)  # a variable the operation does not declare
    form = draw(st.sampled_from(["dict"] * 6 + ["json"] * 2 + ["broken-json", "not-a-dict"]))
    if form in ("json", "broken-json"):
        try:
            text = json.dumps(variables, default=str)
        except (TypeError, ValueError):  # a tuple key: only a Python caller sends that
            return variables
        if form == "json":
            return text
        return text[: draw(st.integers(0, 30))] + draw(texts)
    if form == "not-a-dict":
        return draw(st.one_of(st.lists(scalars, max_size=3), numbers, st.booleans()))
    return variables


@st.composite
def payloads_for(draw: st.DrawFn, operations: tuple[str, ...]) -> dict[str, Any]:
    operation = draw(st.sampled_from(operations))
    params: dict[str, Any] = {
        "query": SPEC_DOCUMENT,
        "variables": draw(variables_for(operation)),
    }
    params[draw(st.sampled_from(["operation_name", "operationName"]))] = operation
    if draw(st.booleans()):  # SilvaEngine's extra keys, with anything in them
        params.update(endpoint_id=draw(texts), context=draw(json_like), area=draw(scalars))
    return params


# Documents: grammar-built from the schema's own names, then mutated at random.
ROOT_FIELDS = {
    "query": ["ping", "assistant", "assistantList", "thread", "threadList", "message"],
    "mutation": ["insertUpdateAssistant", "deleteAssistant", "deleteThread", "deleteMessage"],
}
SUB_FIELDS = [
    "assistantId",
    "assistantType",
    "assistantName",
    "functions",
    "configuration",
    "threadId",
    "runs",
    "isVoice",
    "messageList",
    "assistantList",
    "threadList",
    "total",
    "ok",
    "assistant",
    "thread",
    "__typename",
    "nope",
]
ARGUMENTS = ["assistantType", "assistantId", "threadId", "messageId", "limit", "pageNumber"]
TYPES = ["Query", "Mutation", "AssistantType", "ThreadType", "Nope", "String"]
TOKENS = [
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ":",
    "$v",
    "...",
    "... on Query",
    "fragment F on Query { ping }",
    "query",
    "mutation",
    "subscription",
    "@include(if: true)",
    "@skip(if: $v)",
    "@deprecated",
    '"',
    '"""',
    "#",
    "\\u0000",
    "\x00",
    "\ud800",
    "ping",
    "__schema { types { name } }",
    '__type(name: "Query") { name }',
    "a:",
    "1e999",
    "-0",
    "null",
    "true",
    "$",
    "!",
    "=",
    "|",
    "&",
]

names = st.text(alphabet=string.ascii_letters + "_", min_size=1, max_size=8)
literals = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["1e999", "-1e999", "1" + "0" * 5000, "null", "true", "ENUM", "$v"]),
    texts.map(json.dumps),
    st.just('{a: [1, {b: "c"}]}'),
)

argument_lists = st.lists(
    st.tuples(st.sampled_from(ARGUMENTS), literals), max_size=3, unique_by=lambda pair: pair[0]
).map(lambda pairs: "(" + ", ".join(f"{k}: {v}" for k, v in pairs) + ")" if pairs else "")


@st.composite
def selections(draw: st.DrawFn, depth: int) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["field", "field", "field", "inline", "spread"]))
        if kind == "spread":
            parts.append(f"...{draw(st.sampled_from(['F', 'G', 'Missing']))}")
            continue
        if kind == "inline":
            inner = draw(selections(depth - 1)) if depth > 0 else "__typename"
            parts.append(f"... on {draw(st.sampled_from(TYPES))} {{ {inner} }}")
            continue
        alias = f"{draw(names)}: " if draw(st.booleans()) else ""
        field = draw(st.sampled_from(SUB_FIELDS))
        arguments = draw(argument_lists)
        inner = ""
        if depth > 0 and draw(st.booleans()):
            inner = f" {{ {draw(selections(depth - 1))} }}"
        parts.append(f"{alias}{field}{arguments}{inner}")
    return " ".join(parts)


@st.composite
def documents(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["query", "mutation"]))
    roots = []
    for _ in range(draw(st.integers(1, 3))):
        alias = f"{draw(names)}: " if draw(st.booleans()) else ""
        field = draw(st.sampled_from(ROOT_FIELDS[kind] + ["nope", "__typename"]))
        arguments = draw(argument_lists)
        inner = f" {{ {draw(selections(3))} }}" if draw(st.booleans()) else ""
        roots.append(f"{alias}{field}{arguments}{inner}")
    document = f"{kind} {draw(names)}($v: Boolean) {{ {' '.join(roots)} }}"
    for fragment in draw(st.lists(st.sampled_from(["F", "G"]), max_size=2, unique=True)):
        on = draw(st.sampled_from(TYPES))
        document += f" fragment {fragment} on {on} {{ {draw(selections(2))} }}"
    return document


def _many_aliases(count: int) -> str:
    return "{ " + " ".join(f"a{index}: ping" for index in range(count)) + " }"


def _nested(levels: int) -> str:
    return "{ " + "assistantList { " * levels + "total" + " }" * levels + " }"


def _fragment_chain(length: int, fan_out: int) -> str:
    spreads = " ".join(["...F1"] * fan_out)
    chain = [
        f"fragment F{i} on Query {{ {spreads.replace('F1', f'F{i + 1}')} }}"
        for i in range(1, length)
    ]
    return f"{{ {spreads} }} {' '.join(chain)} fragment F{length} on Query {{ ping }}"


shaped_documents = st.one_of(
    st.integers(0, 2 * MAX_FIELDS).map(_many_aliases),
    st.integers(0, 300).map(_nested),
    st.builds(_fragment_chain, st.integers(1, 40), st.integers(1, 3)),
    st.integers(1, 2000).map(lambda levels: "{" * levels + "ping" + "}" * levels),
    st.integers(1, 2000).map(lambda levels: "{ ping(a: " + "[" * levels + "]" * levels + ") }"),
)


@st.composite
def mutated(draw: st.DrawFn, document: str) -> str:
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(document)))
        action = draw(st.sampled_from(["truncate", "insert", "delete", "duplicate"]))
        if action == "truncate":
            document = document[:position]
        elif action == "insert":
            document = (
                document[:position] + f" {draw(st.sampled_from(TOKENS))} " + document[position:]
            )
        elif action == "delete":
            document = document[:position] + document[position + draw(st.integers(1, 40)) :]
        else:
            document = (
                document[:position] + document[position : position + 60] + document[position:]
            )
    return document


any_document = st.one_of(
    documents(),
    shaped_documents,
    documents().flatmap(mutated),
    mutated(SPEC_DOCUMENT),
    st.text(max_size=200),
)


# ------------------------------------------------------------------------------ the tests
@fuzz(400)
@given(payload=payloads_for(DATA_OPERATIONS))
def test_data_operations_keep_the_contract_for_any_variables(
    engine: OpenaiAssistantEngine, payload: dict[str, Any]
) -> None:
    check_bad_input(engine.open_assistant_graphql(**payload))


@fuzz(10)
@given(payload=payloads_for(OPENAI_OPERATIONS))
def test_openai_operations_fail_cleanly_when_openai_is_unreachable(
    engine: OpenaiAssistantEngine, payload: dict[str, Any]
) -> None:
    check_bad_input(engine.open_assistant_graphql(**payload))


@fuzz(400)
@given(
    document=any_document,
    operation_name=st.one_of(st.none(), names, texts, st.sampled_from(DATA_OPERATIONS)),
)
def test_any_document_keeps_the_contract(
    engine: OpenaiAssistantEngine, document: str, operation_name: str | None
) -> None:
    check_bad_input(
        engine.open_assistant_graphql(
            query=document, operation_name=operation_name, variables={"v": True}
        )
    )


@fuzz(60)
@given(
    query=st.one_of(st.none(), scalars, json_like, odd_values, st.just(SPEC_DOCUMENT)),
    variables=st.one_of(json_like, odd_values, deep_values, texts),
    operation_name=st.one_of(scalars, json_like),
)
def test_malformed_payloads_keep_the_contract(
    engine: OpenaiAssistantEngine, query: Any, variables: Any, operation_name: Any
) -> None:
    check_bad_input(
        engine.open_assistant_graphql(
            query=query, variables=variables, operation_name=operation_name
        )
    )


@pytest.mark.parametrize(
    "variables",
    [
        {"limit": Decimal("sNaN")},
        {"limit": Decimal("Infinity")},
        {"limit": 10**5000},
        {"assistantName": "\ud800"},
        '{"limit": 1' + "0" * 5000 + "}",
        '{"assistantType": ' + "[" * 5000 + "]" * 5000 + "}",
        {"assistantType": _deep(5000)},
        {"assistantType": {"k": b"bytes"}},
    ],
    ids=[
        "snan",
        "infinity",
        "5000-digits",
        "surrogate",
        "digits-text",
        "deep-text",
        "deep",
        "bytes",
    ],
)
def test_variables_no_json_could_carry_are_a_bad_request_naming_them(
    engine: OpenaiAssistantEngine, variables: Any
) -> None:
    response = check_contract(
        engine.open_assistant_graphql(
            query=SPEC_DOCUMENT, operation_name="getAssistantList", variables=variables
        )
    )
    assert response["status_code"] == 400, response
    assert (
        "variables" in response["errors"][0]["message"].lower()
        or "$" in (response["errors"][0]["message"])
    )


def _put_assistant(configuration: str) -> str:
    return (
        'mutation { insertUpdateAssistant(assistantType: "fuzz", assistantId: "literal", '
        f'assistantName: "n", functions: [], updatedBy: "u", configuration: {configuration}) '
        "{ assistant { configuration } } }"
    )


@pytest.mark.parametrize(
    "payload",
    [
        {
            "query": SPEC_DOCUMENT,
            "operation_name": "insertUpdateAssistant",
            "variables": {
                **SEEDED_ASSISTANT,
                "assistantName": "n",
                "updatedBy": "u",
                "functions": [{"configuration": {"x": float("nan")}}],
            },
        },
        {"query": _put_assistant("{x: 1e999}")},
        {"query": _put_assistant("{x: [-1e999]}")},
        {"query": _put_assistant("{x: 1" + "0" * 5000 + "}")},
    ],
    ids=["nan-variable", "infinite-literal", "negative-infinite-literal", "5000-digit-literal"],
)
def test_numbers_json_cannot_write_are_refused_not_stored(
    engine: OpenaiAssistantEngine, payload: dict[str, Any]
) -> None:
    """Stored, 1e999 came back as a bare Infinity (and 10**5000 as NaN): not JSON at all."""
    response = check_contract(engine.open_assistant_graphql(**payload))
    assert response["status_code"] == 400, response
    assert "finite" in response["errors"][0]["message"]


def test_an_operation_name_with_a_lone_surrogate_is_answered_in_utf8_encodable_json(
    engine: OpenaiAssistantEngine,
) -> None:
    text = engine.open_assistant_graphql(query=SPEC_DOCUMENT, operation_name="ping\ud800")
    response = check_contract(text)  # encodes the text as UTF-8
    assert response["status_code"] == 400
    assert response["errors"][0]["message"] == "Unknown operation named 'ping\ud800'."


@pytest.mark.parametrize(
    ("operation", "variables"),
    [
        (
            "askOpenAi",
            {**STABLE_ASSISTANT, "userQuery": "hello", "updatedBy": "u"},
        ),
        (
            "getCurrentRun",
            {
                "assistantId": STABLE_ASSISTANT["assistantId"],
                "threadId": STABLE_THREAD,
                "runId": "run_fuzz",
                "updatedBy": "u",
            },
        ),
        ("getLastMessage", {"threadId": STABLE_THREAD, "role": "assistant"}),
        ("getLiveMessages", {"threadId": STABLE_THREAD, "roles": ["user"], "order": "desc"}),
    ],
)
def test_operations_that_need_openai_answer_502_when_it_cannot_be_reached(
    engine: OpenaiAssistantEngine, operation: str, variables: dict[str, Any]
) -> None:
    _seed(engine, STABLE_ASSISTANT, STABLE_THREAD)  # the fuzzers may have deleted others
    response = check_contract(
        engine.open_assistant_graphql(
            query=SPEC_DOCUMENT, operation_name=operation, variables=variables
        )
    )
    assert response["status_code"] == 502, response
    assert "could not reach OpenAI" in response["errors"][0]["message"]


# ------------------------------------------------------------------------------ refused values
# A key or item DynamoDB refuses is the caller's mistake: a 400, not an upstream failure.
@pytest.mark.parametrize(
    ("operation", "variables"),
    [
        ("getLastMessage", {"threadId": "", "role": "assistant"}),
        (
            "insertUpdateMessage",
            {
                "threadId": "t" * 2100,
                "messageId": "m",
                "runId": "r",
                "role": "user",
                "message": "x",
                "createdAt": "2024-01-01T00:00:00Z",
            },
        ),
        (
            "insertUpdateAssistant",
            {
                **SEEDED_ASSISTANT,
                "assistantName": "n",
                "updatedBy": "u",
                "functions": [{"configuration": {"x": "y" * 500_000}}],
            },
        ),
    ],
    ids=["empty-thread-id", "2100-byte-key", "500-kb-item"],
)
def test_keys_and_items_dynamodb_refuses_are_a_bad_request(
    engine: OpenaiAssistantEngine, operation: str, variables: dict[str, Any]
) -> None:
    response = check_contract(
        engine.open_assistant_graphql(
            query=SPEC_DOCUMENT, operation_name=operation, variables=variables
        )
    )
    assert response["status_code"] == 400, response
