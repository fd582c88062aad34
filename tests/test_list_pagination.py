"""assistantList, threadList and messageList: pages, totals, every filter; Query when keyed."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from openai_assistant_engine import contract_document, create_tables

from .graphql_calls import call, count_dynamodb_calls, data_of, new_engine

START = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)


ASSISTANTS = [("support", f"s{n}", "alpha bot" if n in (1, 3) else f"bot {n}") for n in range(5)]
ASSISTANTS += [("sales", "x1", "alpha seller"), ("sales", "x2", "seller")]
THREADS = [("a1", f"t{n}", "support" if n % 2 == 0 else "sales") for n in range(5)]
THREADS += [("a2", "u1", "support"), ("a2", "u2", "voice")]
MESSAGES = [
    ("th-1", f"m{n}", "user" if n % 2 == 0 else "assistant", f"hello number {n}") for n in range(5)
]
MESSAGES += [("th-2", "m0", "user", "hello there"), ("th-2", "m1", "system", "be brief")]


@pytest.fixture(scope="module")
def seeded_settings(moto_endpoint):
    """One table set for the module, seeded once through the spec's mutations; tests only read.

    Assistants: five 'support' (s1 and s3 named '...alpha...'), two 'sales'.
    Threads: five of assistant 'a1' (types alternate support/sales), two of 'a2'.
    Messages: five in thread 'th-1' (user/assistant alternate), two in 'th-2'.
    """
    setting = {
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "dynamodb_endpoint": moto_endpoint,
        "table_prefix": f"lists-{uuid.uuid4().hex[:8]}-",
    }
    create_tables(**setting)
    engine = new_engine(logging.getLogger("oae.tests"), setting)
    document = contract_document()
    writes = [
        (
            "insertUpdateAssistant",
            {
                "assistantType": assistant_type,
                "assistantId": assistant_id,
                "assistantName": name,
                "functions": [],
                "updatedBy": "seed",
            },
        )
        for assistant_type, assistant_id, name in ASSISTANTS
    ]
    writes += [
        (
            "insertUpdateThread",
            {
                "assistantId": assistant_id,
                "threadId": thread_id,
                "assistantType": assistant_type,
                "updatedBy": "seed",
            },
        )
        for assistant_id, thread_id, assistant_type in THREADS
    ]
    writes += [
        (
            "insertUpdateMessage",
            {
                "threadId": thread_id,
                "messageId": message_id,
                "runId": "run-1",
                "role": role,
                "message": text,
                "createdAt": (START + timedelta(minutes=position)).isoformat(),
            },
        )
        for position, (thread_id, message_id, role, text) in enumerate(MESSAGES)
    ]
    for operation, variables in writes:
        data_of(call(engine, document, operation, variables))
    return setting


@pytest.fixture
def engine(test_logger, seeded_settings):
    return new_engine(test_logger, seeded_settings)


def _assistant_page(engine, spec_document, **variables):
    page = data_of(call(engine, spec_document, "getAssistantList", variables))["assistantList"]
    return [a["assistantId"] for a in page["assistantList"]], page


def _thread_page(engine, spec_document, **variables):
    page = data_of(call(engine, spec_document, "getThreadList", variables))["threadList"]
    return [t["threadId"] for t in page["threadList"]], page


def _message_page(engine, spec_document, **variables):
    page = data_of(call(engine, spec_document, "getMessageList", variables))["messageList"]
    return [(m["threadId"], m["messageId"]) for m in page["messageList"]], page


@pytest.mark.parametrize(
    ("page_number", "expected"),
    [(1, ["s0", "s1"]), (2, ["s2", "s3"]), (3, ["s4"]), (4, [])],
)
def test_assistant_list_pages_through_one_type(engine, spec_document, page_number, expected):
    ids, page = _assistant_page(
        engine, spec_document, assistantType="support", pageNumber=page_number, limit=2
    )
    assert ids == expected
    assert (page["pageNumber"], page["pageSize"], page["total"]) == (page_number, 2, 5)


def test_assistant_list_filters_by_name_contains_with_and_without_type(engine, spec_document):
    ids, page = _assistant_page(engine, spec_document, assistantName="alpha")
    assert sorted(ids) == ["s1", "s3", "x1"]
    assert page["total"] == 3

    ids, page = _assistant_page(
        engine, spec_document, assistantType="support", assistantName="alpha"
    )
    assert ids == ["s1", "s3"]
    assert page["total"] == 2

    ids, page = _assistant_page(
        engine, spec_document, assistantType="support", assistantName="alpha", pageNumber=2, limit=1
    )
    assert ids == ["s3"]
    assert page["total"] == 2


def test_assistant_list_without_filters_pages_the_whole_table(engine, spec_document):
    seen = []
    for page_number in (1, 2, 3, 4):
        ids, page = _assistant_page(engine, spec_document, pageNumber=page_number, limit=2)
        assert page["total"] == 7
        seen += ids
    assert len(seen) == 7
    assert sorted(seen) == ["s0", "s1", "s2", "s3", "s4", "x1", "x2"]

    ids, page = _assistant_page(engine, spec_document)
    assert (len(ids), page["pageNumber"], page["total"]) == (7, 1, 7)


@pytest.mark.parametrize(
    ("page_number", "expected"),
    [(1, ["t0", "t1"]), (2, ["t2", "t3"]), (3, ["t4"]), (9, [])],
)
def test_thread_list_pages_through_one_assistant(engine, spec_document, page_number, expected):
    ids, page = _thread_page(
        engine, spec_document, assistantId="a1", pageNumber=page_number, limit=2
    )
    assert ids == expected
    assert (page["pageNumber"], page["pageSize"], page["total"]) == (page_number, 2, 5)


def test_thread_list_filters_by_assistant_types(engine, spec_document):
    ids, page = _thread_page(engine, spec_document, assistantId="a1", assistantTypes=["sales"])
    assert (ids, page["total"]) == (["t1", "t3"], 2)

    ids, page = _thread_page(engine, spec_document, assistantTypes=["support", "voice"])
    assert sorted(ids) == ["t0", "t2", "t4", "u1", "u2"]
    assert page["total"] == 5

    ids, page = _thread_page(engine, spec_document, assistantTypes=["nobody"])
    assert (ids, page["total"]) == ([], 0)

    ids, page = _thread_page(engine, spec_document)
    assert page["total"] == 7


@pytest.mark.parametrize(
    ("page_number", "expected"),
    [(1, ["m0", "m1"]), (2, ["m2", "m3"]), (3, ["m4"]), (4, [])],
)
def test_message_list_pages_through_a_thread_in_time_order(
    engine, spec_document, page_number, expected
):
    ids, page = _message_page(
        engine, spec_document, threadId="th-1", pageNumber=page_number, limit=2
    )
    assert [message_id for _, message_id in ids] == expected
    assert (page["pageNumber"], page["pageSize"], page["total"]) == (page_number, 2, 5)


def test_message_list_filters_by_roles_and_text(engine, spec_document):
    ids, page = _message_page(engine, spec_document, threadId="th-1", roles=["assistant"])
    assert (ids, page["total"]) == ([("th-1", "m1"), ("th-1", "m3")], 2)

    ids, page = _message_page(
        engine, spec_document, threadId="th-1", roles=["user"], message="number 4"
    )
    assert (ids, page["total"]) == ([("th-1", "m4")], 1)

    ids, page = _message_page(engine, spec_document, message="hello")
    assert page["total"] == 6
    assert ("th-2", "m0") in ids

    ids, page = _message_page(engine, spec_document, roles=["system", "assistant"])
    assert sorted(ids) == [("th-1", "m1"), ("th-1", "m3"), ("th-2", "m1")]

    ids, page = _message_page(engine, spec_document)
    assert page["total"] == 7


@pytest.mark.parametrize(
    ("operation", "variables"),
    [
        ("getAssistantList", {"assistantType": "support", "assistantName": "alpha"}),
        ("getThreadList", {"assistantId": "a1", "assistantTypes": ["sales"]}),
        ("getMessageList", {"threadId": "th-1", "roles": ["user"], "message": "hello"}),
    ],
)
def test_a_keyed_list_page_is_read_by_query_never_by_scan(
    engine, spec_document, operation, variables
):
    with count_dynamodb_calls(engine.store) as calls:
        data_of(call(engine, spec_document, operation, {**variables, "pageNumber": 2, "limit": 1}))
    assert calls["Query"] >= 1
    assert calls["Scan"] == 0, dict(calls)


def test_an_unkeyed_list_page_is_counted_as_a_scan(engine, spec_document):
    """The spy itself works: without the hash key the store has to Scan."""
    with count_dynamodb_calls(engine.store) as calls:
        data_of(call(engine, spec_document, "getAssistantList", {"limit": 1}))
    assert calls["Scan"] >= 1
