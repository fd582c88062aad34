"""A conversation driven through the engine's GraphQL entry point, the way a client does.

Every operation goes through the packaged contract document verbatim (its
insertUpdateAssistant also sets the assistant's ``configuration``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from openai_assistant_engine import OpenaiAssistantEngine

__all__ = ["TERMINAL", "Chat", "functions_entry"]

TERMINAL = frozenset({"completed", "failed", "cancelled", "expired", "incomplete"})
UPDATED_BY = "conversation-tests"


def functions_entry(
    module_name: str, class_name: str, function_name: str, **configuration: Any
) -> dict[str, Any]:
    return {
        "module_name": module_name,
        "class_name": class_name,
        "function_name": function_name,
        "configuration": configuration,
    }


class Chat:
    """One assistant record on one engine, and the spec operations a client sends."""

    def __init__(
        self,
        *,
        document: str,
        logger: logging.Logger,
        settings: Mapping[str, Any],
        assistant_type: str,
        assistant_id: str,
        engine: OpenaiAssistantEngine | None = None,
    ) -> None:
        self.document = document
        self.logger = logger
        self.settings = dict(settings)
        self.engine = engine or OpenaiAssistantEngine(logger, **self.settings)
        self.assistant_type = assistant_type
        self.assistant_id = assistant_id

    # ------------------------------------------------------------------ plumbing
    def send(self, operation: str, document: str | None = None, **variables: Any) -> dict[str, Any]:
        """The engine's parsed JSON answer (errors included) to one operation."""
        text = self.engine.open_assistant_graphql(
            query=document or self.document, variables=variables, operation_name=operation
        )
        assert isinstance(text, str)
        return json.loads(text)

    def data(self, operation: str, document: str | None = None, **variables: Any) -> Any:
        response = self.send(operation, document, **variables)
        assert response["status_code"] == 200 and "errors" not in response, response
        return response["data"]

    def rebuilt(self, **overrides: Any) -> Chat:
        """The same assistant on a new engine built with other settings."""
        return Chat(
            document=self.document,
            logger=self.logger,
            settings={**self.settings, **overrides},
            assistant_type=self.assistant_type,
            assistant_id=self.assistant_id,
        )

    # ------------------------------------------------------------------ records
    def register(
        self, functions: list[dict[str, Any]], configuration: dict[str, Any] | None
    ) -> None:
        variables = {
            "assistantType": self.assistant_type,
            "assistantId": self.assistant_id,
            "assistantName": "conversation tests",
            "functions": functions,
            "updatedBy": UPDATED_BY,
        }
        if configuration is not None:
            variables["configuration"] = configuration
        self.data("insertUpdateAssistant", **variables)

    # ------------------------------------------------------------------ operations
    def ask_response(self, text: str, thread_id: str | None = None) -> dict[str, Any]:
        variables = {
            "assistantType": self.assistant_type,
            "assistantId": self.assistant_id,
            "userQuery": text,
            "updatedBy": UPDATED_BY,
        }
        if thread_id is not None:
            variables["threadId"] = thread_id
        return self.send("askOpenAi", **variables)

    def ask(self, text: str, thread_id: str | None = None) -> dict[str, Any]:
        response = self.ask_response(text, thread_id)
        assert response["status_code"] == 200 and "errors" not in response, response
        asked = response["data"]["askOpenAi"]
        assert asked["currentRunId"] and asked["threadId"], asked
        return asked

    def current_run(self, thread_id: str, run_id: str) -> dict[str, Any]:
        return self.data(
            "getCurrentRun",
            assistantId=self.assistant_id,
            threadId=thread_id,
            runId=run_id,
            updatedBy=UPDATED_BY,
        )["currentRun"]

    def wait_for_run(self, thread_id: str, run_id: str, *, timeout: float = 20.0) -> dict[str, Any]:
        """Poll getCurrentRun until the run ends (each poll also drives it on)."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.current_run(thread_id, run_id)
            if run["status"] in TERMINAL:
                return run
            assert time.monotonic() < deadline, f"run {run_id} still {run['status']}"
            time.sleep(0.01)

    def converse(
        self, text: str, thread_id: str | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Ask, then follow the run to its end: (askOpenAi answer, final currentRun)."""
        asked = self.ask(text, thread_id)
        return asked, self.wait_for_run(asked["threadId"], asked["currentRunId"])

    def last_message(self, thread_id: str, role: str = "assistant") -> dict[str, Any] | None:
        return self.data(
            "getLastMessage", assistantId=self.assistant_id, threadId=thread_id, role=role
        )["lastMessage"]

    def live_messages(
        self, thread_id: str, roles: list[str] | None = None, order: str | None = None
    ) -> list[dict[str, Any]]:
        variables: dict[str, Any] = {"threadId": thread_id}
        if roles is not None:
            variables["roles"] = roles
        if order is not None:
            variables["order"] = order
        return self.data("getLiveMessages", **variables)["liveMessages"]

    def thread(self, thread_id: str) -> dict[str, Any]:
        return self.data("getThread", assistantId=self.assistant_id, threadId=thread_id)["thread"]

    def run_record(self, thread_id: str, run_id: str) -> dict[str, Any]:
        runs = {run["run_id"]: run for run in self.thread(thread_id)["runs"]}
        return runs[run_id]

    def message_list(self, thread_id: str) -> list[dict[str, Any]]:
        return self.data("getMessageList", threadId=thread_id, limit=100)["messageList"][
            "messageList"
        ]

    def tool_calls(self, run_id: str) -> list[dict[str, Any]]:
        return self.engine.store.list_tool_calls(run_id)


# ---------------------------------------------------------------------- the test assistant
TOOLS_MODULE = "tests.toolbox.conversation_tools"
NESTED_MODULE = "tests.toolbox.nested.deep"
# Named by an assistant but outside the allowlist: it must never be imported.
OUTSIDE_MODULE = "tests.toolbox.conversation_outside"
ALLOWLIST = f"{TOOLS_MODULE},tests.toolbox.nested"

FUNCTIONS = [
    *(
        functions_entry(TOOLS_MODULE, "ConversationTools", name)
        for name in ("add", "boom", "sleepy", "count", "ratio", "repeat", "file_name")
    ),
    functions_entry(TOOLS_MODULE, "ConversationTools", "shout", prefix="> "),
    functions_entry(NESTED_MODULE, "DeepTools", "greet", greeting="Bonjour"),
    functions_entry(OUTSIDE_MODULE, "Outside", "escape"),
]

# The Responses backend sends tool schemas with every request: generated from the methods'
# signatures, except for ``escape``, whose module may not be imported to describe it.
RESPONSES_CONFIGURATION = {
    "model": "gpt-sandbox",
    "tools": [
        {
            "type": "function",
            "name": "escape",
            "description": "Outside the allowlist.",
            "parameters": {"type": "object", "properties": {}, "required": []},
        }
    ],
}
