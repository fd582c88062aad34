"""Two tenants, two users and an admin each, API keys, every contract operation over HTTP:
each caller sees their own records, others' answer 404, lists hold only what the caller
may see, assistant management needs an admin."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openai_assistant_engine import OpenaiAssistantEngine, create_tables
from openai_assistant_engine.server import GraphQLServer

from .identity_world import (
    ASSISTANT_ID,
    ASSISTANT_TYPE,
    TOOL_CALLS_DOCUMENT,
    Person,
    World,
    make_people,
    populate,
)


@pytest.fixture(scope="module")
def world(moto_endpoint: str, sandbox_server: Any) -> Iterator[World]:
    setting = {
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "dynamodb_endpoint": moto_endpoint,
        "table_prefix": "identity-",
    }
    create_tables(**setting)
    people = make_people()
    engine = OpenaiAssistantEngine(
        logging.getLogger("oae.tests"),
        **setting,
        openai_api_key="sk-sandbox",
        openai_base_url=sandbox_server.base_url,
        openai_backend="responses",
        run_driver="poll",
        function_module_allowlist="tests.toolbox",
        api_keys=json.dumps([p.entry() for p in people]),
    )
    server = GraphQLServer(engine, port=0).start()
    try:
        built = World(server, people)
        populate(built)
        yield built
    finally:
        server.stop()


def _reads(owner: Person) -> list[tuple[str, str, dict[str, Any]]]:
    """Every read of ``owner``'s records: (operation, document or "", variables)."""
    message_id = owner.message_ids[0]
    return [
        ("getThread", "", {"assistantId": ASSISTANT_ID, "threadId": owner.thread_id}),
        ("getThread", "", {"assistantId": ASSISTANT_ID, "threadId": owner.manual_thread_id}),
        (
            "getCurrentRun",
            "",
            {
                "assistantId": ASSISTANT_ID,
                "threadId": owner.thread_id,
                "runId": owner.run_id,
                "updatedBy": "",
            },
        ),
        ("getLastMessage", "", {"threadId": owner.thread_id, "role": "assistant"}),
        (
            "getLastMessage",
            "",
            {"threadId": owner.thread_id, "role": "user", "assistantId": ASSISTANT_ID},
        ),
        ("getLiveMessages", "", {"threadId": owner.thread_id}),
        ("getMessage", "", {"threadId": owner.thread_id, "messageId": message_id}),
        ("getMessageList", "", {"threadId": owner.thread_id}),
        ("getMessageList", "", {"threadId": owner.manual_thread_id}),
        ("toolCalls", TOOL_CALLS_DOCUMENT, {"runId": owner.run_id}),
    ]


def _changes(owner: Person) -> list[tuple[str, dict[str, Any]]]:
    """Every change of ``owner``'s records (refused ones must change nothing)."""
    return [
        (
            "askOpenAi",
            {
                "assistantType": ASSISTANT_TYPE,
                "assistantId": ASSISTANT_ID,
                "userQuery": "let me in",
                "updatedBy": "",
                "threadId": owner.thread_id,
            },
        ),
        (
            "insertUpdateThread",
            {
                "assistantId": ASSISTANT_ID,
                "threadId": owner.thread_id,
                "assistantType": ASSISTANT_TYPE,
                "updatedBy": "",
                "run": {"run_id": "run-intruder", "status": "completed"},
            },
        ),
        # The same thread id under another assistant must not open its messages either.
        (
            "insertUpdateThread",
            {
                "assistantId": "asst_other",
                "threadId": owner.thread_id,
                "assistantType": ASSISTANT_TYPE,
                "updatedBy": "",
            },
        ),
        ("deleteThread", {"assistantId": ASSISTANT_ID, "threadId": owner.manual_thread_id}),
        (
            "insertUpdateMessage",
            {
                "threadId": owner.thread_id,
                "runId": "r",
                "messageId": "intruder",
                "role": "user",
                "message": "planted",
                "createdAt": "2026-01-01T00:00:00+00:00",
            },
        ),
        ("deleteMessage", {"threadId": owner.thread_id, "messageId": owner.message_ids[0]}),
    ]


def _others(world: World, caller: Person) -> list[Person]:
    """The people whose records ``caller`` must not see."""
    return [
        p
        for p in world.people
        if p is not caller and (p.tenant != caller.tenant or not caller.admin)
    ]


def _send(world: World, caller: Person, operation: str, document: str, variables: Any) -> Any:
    if document:
        return world.send(caller, operation, document, **variables)
    return world.send(caller, operation, **variables)


def test_each_caller_sees_their_own_records(world: World) -> None:
    for person in world.people:
        for operation, document, variables in _reads(person):
            status, answer, text = _send(world, person, operation, document, variables)
            assert status == 200 and "errors" not in answer, (person.label, operation, answer)
            assert person.thread_id in text or person.manual_thread_id in text, operation
        calls = world.data(person, "toolCalls", TOOL_CALLS_DOCUMENT, runId=person.run_id)
        assert [c["name"] for c in calls["toolCalls"]] == ["add"]
        thread = world.data(
            person, "getThread", assistantId=ASSISTANT_ID, threadId=person.manual_thread_id
        )["thread"]
        assert thread["updatedBy"] == person.user  # filled from the caller


def test_others_records_answer_404_and_stay_unchanged(world: World) -> None:
    for caller in world.people:
        for owner in _others(world, caller):
            for operation, document, variables in _reads(owner):
                status, answer, text = _send(world, caller, operation, document, variables)
                assert status == 404, (caller.label, owner.label, operation, answer)
                assert answer["errors"][0]["extensions"]["code"] == "NOT_FOUND"
                assert owner.secret not in text
            for operation, variables in _changes(owner):
                status, answer, _ = world.send(caller, operation, **variables)
                assert status == 404, (caller.label, owner.label, operation, answer)
    # Nothing was changed by the refused calls: the owners' records are as they were.
    for owner in world.users():
        listed = world.data(owner, "getMessageList", threadId=owner.thread_id)["messageList"]
        assert sorted(m["messageId"] for m in listed["messageList"]) == sorted(owner.message_ids)
        thread = world.data(owner, "getThread", assistantId=ASSISTANT_ID, threadId=owner.thread_id)[
            "thread"
        ]
        assert "run-intruder" not in {run["run_id"] for run in thread["runs"]}
        world.data(owner, "getThread", assistantId=ASSISTANT_ID, threadId=owner.manual_thread_id)


def test_an_admin_reads_their_tenants_threads(world: World) -> None:
    for tenant in ("acme", "globex"):
        admin = world.admin_of(tenant)
        for person in world.people:
            if person.tenant != tenant:
                continue
            for operation, document, variables in _reads(person):
                status, answer, _ = _send(world, admin, operation, document, variables)
                assert status == 200, (admin.label, person.label, operation, answer)


def test_lists_hold_only_what_the_caller_may_see(world: World) -> None:
    for caller in world.people:
        visible = [
            p for p in world.people if p.tenant == caller.tenant and (caller.admin or p is caller)
        ]
        own_threads = {t for p in visible for t in (p.thread_id, p.manual_thread_id)}
        threads = world.data(caller, "getThreadList", limit=1000)["threadList"]
        assert {t["threadId"] for t in threads["threadList"]} == own_threads, caller.label
        assert threads["total"] == len(own_threads)
        by_assistant = world.data(caller, "getThreadList", assistantId=ASSISTANT_ID)["threadList"]
        assert {t["threadId"] for t in by_assistant["threadList"]} == own_threads
        messages = world.data(caller, "getMessageList", limit=1000)["messageList"]
        assert {m["threadId"] for m in messages["messageList"]} == own_threads, caller.label
        texts = " ".join(m["message"] for m in messages["messageList"])
        for other in world.people:
            assert (other.secret in texts) == (other in visible), (caller.label, other.label)


def test_paging_a_tenants_list_walks_its_partition(world: World) -> None:
    admin = world.admin_of("globex")
    seen: list[str] = []
    for page in (1, 2, 3, 4):
        listed = world.data(admin, "getThreadList", pageNumber=page, limit=2)["threadList"]
        seen += [t["threadId"] for t in listed["threadList"]]
        assert listed["total"] == 6
    assert len(seen) == len(set(seen)) == 6
    assert all("globex" in t or not t.startswith("manual-") for t in seen)


def test_assistant_management_needs_an_admin(world: World) -> None:
    variables = {
        "assistantType": ASSISTANT_TYPE,
        "assistantId": "asst_new",
        "assistantName": "not allowed",
        "functions": [],
        "updatedBy": "",
    }
    for person in world.users():
        status, answer, _ = world.send(person, "insertUpdateAssistant", **variables)
        assert status == 403, answer
        error = answer["errors"][0]
        assert error["extensions"]["code"] == "FORBIDDEN"
        assert "insertUpdateAssistant needs an admin" in error["message"]
        status, answer, _ = world.send(
            person, "deleteAssistant", assistantType=ASSISTANT_TYPE, assistantId=ASSISTANT_ID
        )
        assert status == 403 and "deleteAssistant needs an admin" in answer["errors"][0]["message"]
        # Reading assistants is for everyone: a user needs their ids to ask.
        found = world.data(
            person, "getAssistant", assistantType=ASSISTANT_TYPE, assistantId=ASSISTANT_ID
        )
        assert found["assistant"]["assistantId"] == ASSISTANT_ID
        listed = world.data(person, "getAssistantList", assistantType=ASSISTANT_TYPE)
        assert [a["assistantId"] for a in listed["assistantList"]["assistantList"]] == [
            ASSISTANT_ID
        ]
    admin = world.admin_of("globex")
    made = world.data(admin, "insertUpdateAssistant", **variables)["insertUpdateAssistant"]
    assert made["assistant"]["updatedBy"] == admin.user
    assert world.data(
        admin, "deleteAssistant", assistantType=ASSISTANT_TYPE, assistantId="asst_new"
    )["deleteAssistant"]["ok"]


def test_updated_by_must_be_the_caller(world: World) -> None:
    person = world.users()[0]
    status, answer, _ = world.send(
        person,
        "insertUpdateThread",
        assistantId=ASSISTANT_ID,
        threadId=person.manual_thread_id,
        assistantType=ASSISTANT_TYPE,
        updatedBy="somebody-else",
    )
    assert status == 403
    assert "updatedBy must be the caller's user" in answer["errors"][0]["message"]


def test_a_request_without_a_known_key_is_401(world: World) -> None:
    status, answer, _ = world.send(None, "ping")
    assert status == 401 and answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    stranger = Person("eve", "acme", True)  # a well-formed key nobody configured
    status, answer, _ = world.send(stranger, "getThreadList")
    assert status == 401 and "not known" in answer["errors"][0]["message"]
    status, answer, _ = world.send(None, "ping", headers={"Authorization": "Basic abc"})
    assert status == 401
    # The body cannot name a caller: only the Authorization header does.
    status, _, _ = world.send(None, "ping", identity={"sub": "boss", "tenant": "acme"})
    assert status == 401


# ------------------------------------------------------------------------------ fuzz
_FUZZ_READS = [
    ("getThread", ("assistantId", "threadId")),
    ("getCurrentRun", ("assistantId", "threadId", "runId", "updatedBy")),
    ("getLastMessage", ("threadId", "role")),
    ("getLiveMessages", ("threadId",)),
    ("getMessage", ("threadId", "messageId")),
    ("getMessageList", ("threadId",)),
    ("getMessageList", ()),
    ("getThreadList", ()),
    ("getThreadList", ("assistantId",)),
    ("toolCalls", ("runId",)),
    ("insertUpdateThread", ("assistantId", "threadId", "assistantType", "updatedBy")),
    ("insertUpdateMessage", ("threadId", "runId", "messageId", "role", "message", "createdAt")),
]


# Every value the fuzz has sent, by the tenant of its caller.
_SENT_BY_TENANT: dict[str, set[str]] = {}


def _id_pool(world: World) -> list[str]:
    return [
        value
        for p in world.people
        for value in (p.thread_id, p.manual_thread_id, p.run_id, *p.message_ids)
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_no_answer_holds_another_tenants_record(world: World, data: st.DataObject) -> None:
    caller = data.draw(st.sampled_from(world.people), label="caller")
    operation, names = data.draw(st.sampled_from(_FUZZ_READS), label="operation")
    ids = st.one_of(
        st.sampled_from(_id_pool(world)),
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz_-0123456789", min_size=1, max_size=12),
    )
    fixed = {
        "assistantId": st.sampled_from([ASSISTANT_ID, "asst_other"]),
        "assistantType": st.just(ASSISTANT_TYPE),
        "updatedBy": st.sampled_from(["", caller.user]),
        "role": st.sampled_from(["user", "assistant"]),
        "message": st.just("fuzzed"),
        "createdAt": st.just("2026-01-02T00:00:00+00:00"),
    }
    variables = {name: data.draw(fixed.get(name, ids), label=name) for name in names}
    document = TOOL_CALLS_DOCUMENT if operation == "toolCalls" else ""
    status, answer, text = _send(world, caller, operation, document, variables)
    assert status in (200, 404), answer
    foreign = [p for p in world.people if p.tenant != caller.tenant]
    for other in foreign:
        assert other.secret not in text, (caller.label, operation, variables)
    # Ids the caller's tenant sent may come back (in this or an earlier example: a thread
    # a member recorded under another tenant's run id is the member's own); no other id of
    # another tenant may.
    sent = _SENT_BY_TENANT.setdefault(caller.tenant, set())
    sent.update(variables.values())
    if status == 200:
        for other in foreign:
            for value in (other.thread_id, other.run_id, *other.message_ids):
                assert value in sent or value not in text, (caller.label, operation, variables)


def test_every_record_holds_its_owner_and_tenant(world: World) -> None:
    store = world.server.engine.store
    for person in world.people:
        mark = (person.user, person.tenant)
        thread = store.get_thread(ASSISTANT_ID, person.thread_id)
        run = store.get_run(person.thread_id, person.run_id)
        messages = store.messages_of_thread(person.thread_id).values()
        calls = store.list_tool_calls(person.run_id)
        assert messages and calls
        for record in (thread, run, *messages, *calls):
            assert (record.get("owner"), record.get("tenant")) == mark, record


def test_a_run_cannot_be_given_another_owner(world: World) -> None:
    person = world.users()[0]
    for name, value in (("tenant", "globex"), ("owner", "boss")):
        status, answer, _ = world.send(
            person,
            "insertUpdateThread",
            assistantId=ASSISTANT_ID,
            threadId=person.manual_thread_id,
            assistantType=ASSISTANT_TYPE,
            updatedBy="",
            run={"run_id": "run-planted", name: value},
        )
        assert status == 400, answer
        assert f"run.{name} is kept by the engine" in answer["errors"][0]["message"]


def test_another_run_cannot_be_followed_through_ones_own_thread(world: World) -> None:
    # Run ids are global upstream: naming another's run under one's own thread must not
    # fetch, advance or record it there.
    caller, other = world.users()[0], world.users()[-1]
    before = world.data(caller, "getMessageList", threadId=caller.thread_id)["messageList"]
    status, answer, _ = world.send(
        caller,
        "getCurrentRun",
        assistantId=ASSISTANT_ID,
        threadId=caller.thread_id,
        runId=other.run_id,
        updatedBy="",
    )
    assert status == 404, answer
    assert world.server.engine.store.get_run(caller.thread_id, other.run_id) is None
    after = world.data(caller, "getMessageList", threadId=caller.thread_id)["messageList"]
    assert after == before
