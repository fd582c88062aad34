"""The commands' own GraphQL operations, run in-process through the engine.

The commands go through the same schema as the page and the tests (never the store
directly), so what they show is what a GraphQL client would see.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, TextIO

from ..engine import OpenaiAssistantEngine
from .console import CommandError

__all__ = ["OPERATIONS", "Echo", "Operation", "fetch"]


@dataclass(frozen=True)
class Operation:
    """A small document and the top-level field whose data the command reads."""

    field_name: str
    document: str


# Small documents for the commands' own calls (the page and tests send the contract's).
OPERATIONS: dict[str, Operation] = {
    "insertUpdateAssistant": Operation(
        "insertUpdateAssistant",
        """\
mutation insertUpdateAssistant($assistantType: String!, $assistantId: String!,
    $assistantName: String!, $functions: [JSON]!, $configuration: JSON, $updatedBy: String!) {
  insertUpdateAssistant(assistantType: $assistantType, assistantId: $assistantId,
      assistantName: $assistantName, functions: $functions, configuration: $configuration,
      updatedBy: $updatedBy) {
    assistant { assistantType assistantId assistantName functions updatedAt }
  }
}""",
    ),
    "getAssistant": Operation(
        "assistant",
        """\
query getAssistant($assistantType: String!, $assistantId: String!) {
  assistant(assistantType: $assistantType, assistantId: $assistantId) {
    assistantType assistantId assistantName
  }
}""",
    ),
    "askOpenAi": Operation(
        "askOpenAi",
        """\
query askOpenAi($assistantType: String!, $assistantId: String!, $userQuery: String!,
    $updatedBy: String!, $threadId: String) {
  askOpenAi(assistantType: $assistantType, assistantId: $assistantId, userQuery: $userQuery,
      updatedBy: $updatedBy, threadId: $threadId) {
    assistantId threadId userQuery currentRunId
  }
}""",
    ),
    "getCurrentRun": Operation(
        "currentRun",
        """\
query getCurrentRun($assistantId: String!, $threadId: String!, $runId: String!,
    $updatedBy: String!) {
  currentRun(assistantId: $assistantId, threadId: $threadId, runId: $runId,
      updatedBy: $updatedBy) {
    threadId runId status usage error
  }
}""",
    ),
    "getLastMessage": Operation(
        "lastMessage",
        """\
query getLastMessage($assistantId: String, $threadId: String!, $role: String!) {
  lastMessage(assistantId: $assistantId, threadId: $threadId, role: $role) {
    threadId runId messageId role message createdAt
  }
}""",
    ),
    "getThread": Operation(
        "thread",
        """\
query getThread($assistantId: String!, $threadId: String!) {
  thread(assistantId: $assistantId, threadId: $threadId) { threadId runs }
}""",
    ),
    # startedAt only orders the calls as they ran; the table's key order is by call id.
    "toolCalls": Operation(
        "toolCalls",
        """\
query toolCalls($runId: String!) {
  toolCalls(runId: $runId) { name arguments output status error durationMs startedAt }
}""",
    ),
}


@dataclass
class Echo:
    """Where :func:`fetch` prints payloads and answers; each document is shown once."""

    stream: TextIO
    shown: set[str] = field(default_factory=set)

    def request(self, operation: str, variables: dict[str, Any]) -> None:
        print(f"\n>>> POST /graphql  operationName={operation}", file=self.stream)
        if operation in self.shown:
            print("    query: (the document above)", file=self.stream)
        else:
            self.shown.add(operation)
            print(_indent(OPERATIONS[operation].document), file=self.stream)
        print(_indent("variables: " + json.dumps(variables, indent=2)), file=self.stream)

    def response(self, response: dict[str, Any]) -> None:
        print(f"<<< {response.get('status_code')}", file=self.stream)
        print(_indent(json.dumps(response, indent=2)), file=self.stream)


def fetch(
    engine: OpenaiAssistantEngine,
    operation: str,
    variables: dict[str, Any],
    echo: Echo | None = None,
    *,
    doing: str | None = None,
) -> Any:
    """Run one of :data:`OPERATIONS` through the engine and return its field's data.

    Errors become a :class:`CommandError` that says what failed (``doing``, by default
    the field). With ``echo``, the payload and the answer are printed.
    """
    spec = OPERATIONS[operation]
    payload = {"query": spec.document, "operationName": operation, "variables": variables}
    if echo is not None:
        echo.request(operation, variables)
    # As text and back, as a client would get it (edge/envelope.py): secrets redacted,
    # dates as text, a value JSON cannot write answered as a 500.
    response = json.loads(engine.open_assistant_graphql(**payload))
    if echo is not None:
        echo.response(response)
    if "errors" in response:
        messages = "; ".join(str(e.get("message")) for e in response["errors"])
        what = doing or spec.field_name
        raise CommandError(f"{what} failed ({response.get('status_code')}): {messages}")
    return response["data"][spec.field_name]


def _indent(text: str) -> str:
    return "    " + text.replace("\n", "\n    ")
