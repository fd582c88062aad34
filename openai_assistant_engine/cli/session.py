"""One assistant talked to over GraphQL: the steps of a turn that ``chat`` and ``demo`` share.

A turn is askOpenAi, then currentRun until the run ends (each poll drives it on), then
lastMessage; toolCalls tells which functions the run called. Only the printing differs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..engine import OpenaiAssistantEngine
from .console import CommandError
from .graphql import Echo, fetch

__all__ = ["AssistantSession", "describe_tool_call"]

_RUN_TIMEOUT_SECONDS = 120.0
_POLL_SECONDS = 0.25


@dataclass
class AssistantSession:
    """The engine, the assistant's keys and who asks; ``echo`` prints every payload."""

    engine: OpenaiAssistantEngine
    assistant_type: str
    assistant_id: str
    updated_by: str
    echo: Echo | None = None

    def ask(self, text: str, thread_id: str | None = None) -> dict[str, Any]:
        """askOpenAi; returns the run's keys as currentRun takes them."""
        ask = {
            "assistantType": self.assistant_type,
            "assistantId": self.assistant_id,
            "userQuery": text,
            "updatedBy": self.updated_by,
        }
        # Only when continuing one: absent and null both start a thread, and the demo's
        # printed variables read better without a null.
        if thread_id is not None:
            ask["threadId"] = thread_id
        started = fetch(self.engine, "askOpenAi", ask, self.echo)
        return {
            "assistantId": self.assistant_id,
            "threadId": started["threadId"],
            "runId": started["currentRunId"],
            "updatedBy": self.updated_by,
        }

    def wait(
        self,
        run_keys: dict[str, Any],
        *,
        on_poll: Callable[[str], None] | None = None,
        timeout: float = _RUN_TIMEOUT_SECONDS,
    ) -> dict[str, Any]:
        """Poll currentRun until the run ends; returns the last currentRun."""
        from ..backends.base import TERMINAL_STATUSES

        deadline = time.monotonic() + timeout
        while True:
            run = fetch(self.engine, "getCurrentRun", run_keys, self.echo)
            status = str(run.get("status"))
            if status in TERMINAL_STATUSES:
                return run
            if on_poll is not None:
                on_poll(status)
            if time.monotonic() > deadline:
                raise CommandError(f"Run {run_keys['runId']} still {status} after {timeout:.0f} s.")
            time.sleep(_POLL_SECONDS)

    def reply(self, run_keys: dict[str, Any]) -> Any:
        """The thread's last assistant message (lastMessage), or None."""
        last = {
            "assistantId": run_keys["assistantId"],
            "threadId": run_keys["threadId"],
            "role": "assistant",
        }
        return fetch(self.engine, "getLastMessage", last, self.echo)

    def tool_calls(self, run_id: str) -> list[dict[str, Any]]:
        """The run's function calls (toolCalls) in the order they ran; empty if unreadable.

        Never echoed: the demo lists them in a form of its own after the payloads.
        """
        try:
            records = fetch(self.engine, "toolCalls", {"runId": run_id}) or []
        except CommandError:
            return []  # the list only adds to the turn; not worth failing it over
        return sorted(records, key=lambda record: str(record.get("startedAt") or ""))


def describe_tool_call(record: dict[str, Any]) -> str:
    """``name(arguments) -> output or error``, with the status when it did not complete."""
    result = record.get("output") if record.get("status") == "completed" else record.get("error")
    text = f"{record.get('name')}({record.get('arguments') or ''}) -> {result}"
    if record.get("status") != "completed":
        text += f"  [{record.get('status')}]"
    return text if len(text) <= 240 else text[:237] + "..."
