"""What every conversation backend offers, over plain dataclasses.

The engine speaks to OpenAI only through this Protocol, so the GraphQL contract stays
the same whether the Assistants API or the Responses + Conversations APIs answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

__all__ = [
    "TERMINAL_STATUSES",
    "Backend",
    "Message",
    "RunState",
    "ToolCall",
    "ToolOutput",
    "Usage",
]

# Statuses after which a run never changes again.
TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled", "expired", "incomplete"})


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.total_tokens + other.total_tokens,
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


@dataclass(frozen=True)
class ToolCall:
    """One function call the model asks for; ``arguments`` is the raw JSON text it sent."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ToolOutput:
    tool_call_id: str
    output: str


@dataclass(frozen=True)
class Message:
    id: str
    thread_id: str
    role: str
    text: str
    created_at: datetime
    run_id: str | None = None


@dataclass(frozen=True)
class RunState:
    id: str
    thread_id: str
    status: str
    required_tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage | None = None
    model: str | None = None
    error: str | None = None
    created_at: datetime | None = None
    completed_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class Backend(Protocol):
    """A conversation service: threads of messages and runs that answer them."""

    name: str

    def create_thread(self) -> str: ...

    def add_user_message(self, thread_id: str, text: str) -> Message: ...

    def start_run(self, thread_id: str, assistant_id: str) -> RunState: ...

    def get_run(self, thread_id: str, run_id: str) -> RunState: ...

    def submit_tool_outputs(
        self, thread_id: str, run_id: str, outputs: list[ToolOutput]
    ) -> RunState: ...

    def cancel_run(self, thread_id: str, run_id: str) -> RunState: ...

    def latest_message(self, thread_id: str, role: str) -> Message | None: ...

    def list_messages(
        self, thread_id: str, roles: list[str] | None, order: str
    ) -> list[Message]: ...
