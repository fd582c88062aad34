"""Two tenants with two users and an admin each, their API keys, and the records each
made through the local server (real HTTP, moto's DynamoDB, the sandbox model)."""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass, field
from typing import Any

from openai_assistant_engine.identity.api_keys import hash_key, new_key
from openai_assistant_engine.server import GraphQLServer, contract_document

from .conversation_calls import TERMINAL, functions_entry

__all__ = ["TOOL_CALLS_DOCUMENT", "Person", "World", "make_people", "populate"]

TOOL_CALLS_DOCUMENT = """query toolCalls($runId: String!) {
    toolCalls(runId: $runId) { runId toolCallId threadId name output }
}"""
ASSISTANT_TYPE = "identity-tests"
ASSISTANT_ID = "asst_identity"
SPEC = contract_document()


@dataclass
class Person:
    user: str
    tenant: str
    admin: bool
    key: str = field(default_factory=new_key, repr=False)
    # What this person made (filled by populate).
    thread_id: str = ""
    run_id: str = ""
    manual_thread_id: str = ""
    message_ids: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.tenant}/{self.user}"

    @property
    def secret(self) -> str:
        """A phrase only this person's records hold."""
        return f"secret-of-{self.tenant}-{self.user}"

    def entry(self) -> dict[str, Any]:
        return {
            "hash": hash_key(self.key),
            "user": self.user,
            "tenant": self.tenant,
            "admin": self.admin,
        }


def make_people() -> list[Person]:
    # The same user names in both tenants: a user is known by tenant and name together.
    return [
        Person(user, tenant, admin)
        for tenant in ("acme", "globex")
        for user, admin in (("ann", False), ("bob", False), ("boss", True))
    ]


class World:
    def __init__(self, server: GraphQLServer, people: list[Person]) -> None:
        self.server = server
        self.people = people

    def users(self) -> list[Person]:
        return [p for p in self.people if not p.admin]

    def admin_of(self, tenant: str) -> Person:
        return next(p for p in self.people if p.admin and p.tenant == tenant)

    def send(
        self,
        person: Person | None,
        operation: str,
        document: str = SPEC,
        headers: dict[str, str] | None = None,
        **variables: Any,
    ) -> tuple[int, dict[str, Any], str]:
        """POST one operation as ``person``: (HTTP status, parsed answer, answer text)."""
        body = json.dumps(
            {"query": document, "operationName": operation, "variables": variables}
        ).encode()
        sent = {"Content-Type": "application/json", **(headers or {})}
        if person is not None:
            sent["Authorization"] = f"Bearer {person.key}"
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        try:
            connection.request("POST", "/graphql", body=body, headers=sent)
            response = connection.getresponse()
            text = response.read().decode()
            return response.status, json.loads(text), text
        finally:
            connection.close()

    def data(self, person: Person, operation: str, document: str = SPEC, **variables: Any) -> Any:
        status, answer, _ = self.send(person, operation, document, **variables)
        assert status == 200 and "errors" not in answer, (person.label, operation, answer)
        return answer["data"]


def populate(world: World) -> None:
    """The admin of acme records the assistant; every user holds a conversation (with a
    tool call), a thread of their own and a message in it."""
    admin = world.admin_of("acme")
    world.data(
        admin,
        "insertUpdateAssistant",
        assistantType=ASSISTANT_TYPE,
        assistantId=ASSISTANT_ID,
        assistantName="identity tests",
        functions=[functions_entry("tests.toolbox.conversation_tools", "ConversationTools", "add")],
        updatedBy=admin.user,
        configuration={"model": "gpt-sandbox"},
    )
    for person in world.people:
        asked = world.data(
            person,
            "askOpenAi",
            assistantType=ASSISTANT_TYPE,
            assistantId=ASSISTANT_ID,
            userQuery=f'{person.secret}\ncall:add {{"a": 1, "b": 2}}',
            updatedBy=person.user,
        )["askOpenAi"]
        person.thread_id, person.run_id = asked["threadId"], asked["currentRunId"]
        _wait(world, person)
        person.manual_thread_id = f"manual-{person.tenant}-{person.user}"
        world.data(
            person,
            "insertUpdateThread",
            assistantId=ASSISTANT_ID,
            threadId=person.manual_thread_id,
            assistantType=ASSISTANT_TYPE,
            updatedBy="",  # filled from the caller
        )
        world.data(
            person,
            "insertUpdateMessage",
            threadId=person.manual_thread_id,
            runId="run-manual",
            messageId=f"msg-{person.tenant}-{person.user}",
            role="user",
            message=f"{person.secret} by hand",
            createdAt="2026-01-01T00:00:00+00:00",
        )
        listed = world.data(person, "getMessageList", threadId=person.thread_id, limit=100)
        person.message_ids = [m["messageId"] for m in listed["messageList"]["messageList"]]


def _wait(world: World, person: Person) -> None:
    deadline = time.monotonic() + 30
    while True:
        run = world.data(
            person,
            "getCurrentRun",
            assistantId=ASSISTANT_ID,
            threadId=person.thread_id,
            runId=person.run_id,
            updatedBy=person.user,
        )["currentRun"]
        if run["status"] in TERMINAL:
            assert run["status"] == "completed", run
            return
        assert time.monotonic() < deadline, run
        time.sleep(0.02)
