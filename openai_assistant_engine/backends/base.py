"""What every conversation backend offers, over plain dataclasses.

The engine speaks to OpenAI only through this Protocol, so the GraphQL contract stays
the same whether the Assistants API or the Responses + Conversations APIs answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

__all__ = [
    "TERMINAL_STATUSES",
    "AskTrace",
    "Backend",
    "HistoryItem",
    "Message",
    "RunState",
    "StreamEvent",
    "ToolCall",
    "ToolOutput",
    "TurnOptions",
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
    # Conversation items carry neither time nor run: None until the records fill them in.
    created_at: datetime | None
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
    user_message: Message | None = None
    # The assistant's messages, when the backend hands them over with the final state.
    replies: tuple[Message, ...] = ()
    progress: dict[str, Any] = field(default_factory=dict)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


@dataclass(frozen=True)
class HistoryItem:
    """One item of a conversation as the engine replays it to a stateless model request.

    ``kind``: ``user`` / ``assistant`` (``text``), ``function_call`` (``call_id``,
    ``name``, ``arguments``: the raw JSON text the model sent) or ``function_output``
    (``call_id``, ``text``: the output sent back). A call is always followed by its output.
    """

    kind: str
    text: str = ""
    call_id: str = ""
    name: str = ""
    arguments: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            key: value
            for key, value in (
                ("kind", self.kind),
                ("text", self.text),
                ("call_id", self.call_id),
                ("name", self.name),
                ("arguments", self.arguments),
            )
            if value or key == "kind"
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HistoryItem:
        return cls(
            kind=str(data["kind"]),
            text=str(data.get("text", "")),
            call_id=str(data.get("call_id", "")),
            name=str(data.get("name", "")),
            arguments=str(data.get("arguments", "")),
        )


def _no_history(_run_id: str, _sent: Sequence[HistoryItem]) -> tuple[HistoryItem, ...]:
    return ()


@dataclass(frozen=True)
class TurnOptions:
    """What a backend may need to start or continue a turn, from the assistant record."""

    assistant_id: str
    model: str | None = None
    instructions: str | None = None
    # The assistant's function tools as JSON Schema, described on demand: only backends
    # that send tools with every request (not those whose assistant holds them) pay.
    describe_tools: Callable[[], tuple[dict[str, Any], ...]] = tuple
    parameters: dict[str, Any] = field(default_factory=dict)
    # Engine-held conversations only: the thread's earlier items (oldest first) that fit
    # the context budget beside ``sent`` (the instructions and this run's own items);
    # the run ``run_id``'s own records are left out (they are in ``sent`` already).
    history: Callable[[str, Sequence[HistoryItem]], tuple[HistoryItem, ...]] = _no_history


@dataclass(frozen=True)
class AskTrace:
    """What an askOpenAi that failed halfway may have left upstream (``trace_ask``)."""

    # The thread's newest run, with the user message it answers (backends that can list
    # a thread's runs).
    run: RunState | None = None
    # The thread's newest item when it is a user message no run has answered yet.
    unanswered: Message | None = None


@dataclass(frozen=True)
class StreamEvent:
    """One thing a streamed run reported, in order.

    ``started``: the run exists (``state``: its first state, id included), once, first;
    ``text``: a piece of the answer as the model writes it (``text``);
    ``stopped``: the stream's last word (``state``: an end, or ``requires_action`` with
    the next round's calls), once, last. A stream that ends without it raises (502).
    """

    kind: str
    state: RunState | None = None
    text: str = ""


class Backend(Protocol):
    """A conversation service: threads of messages and runs that answer them.

    ``progress`` is the backend's own bookkeeping for a run (the Responses backend keeps
    its chain of response ids there); the engine stores it with the run record and hands
    it back on every call, so any process can continue any run.
    """

    name: str
    # Where the conversation lives: ``openai`` (upstream: an Assistants thread, an OpenAI
    # conversation) or ``engine`` (the engine's records; every request carries it).
    conversation_state: str
    # True when OpenAI itself refuses a second submission of one round's outputs (the
    # Assistants API: the run has moved on), so a round claimed by a driver that vanished
    # may be taken over: the worst a late duplicate can do is be refused.
    refuses_repeated_outputs: bool

    def check_options(self, options: TurnOptions) -> None:
        """Raise a 400 when a turn cannot be asked with ``options`` (before anything is
        created upstream)."""
        ...

    def create_thread(self) -> str: ...

    def adopt_thread(self, thread_id: str, items: Sequence[HistoryItem]) -> str:
        """Take on a conversation recorded elsewhere (migrateThread): ``items`` are its
        turns, oldest first; returns the id this backend knows it by from now on."""
        ...

    def start_turn(
        self, thread_id: str, text: str, options: TurnOptions, asked: Message | None = None
    ) -> RunState:
        """Add the user's message and start a run, in one request where the API allows;
        return as soon as the run id exists. ``asked``: the message is in the thread
        already (left by an interrupted askOpenAi): start the run without adding it."""
        ...

    def stream_turn(self, thread_id: str, text: str, options: TurnOptions) -> Iterator[StreamEvent]:
        """Start a run and follow its events until it stops or needs tool outputs."""
        ...

    def trace_ask(self, thread_id: str) -> AskTrace:
        """Look upstream for what an interrupted askOpenAi left on the thread."""
        ...

    def lost_start(self, thread_id: str, run: RunState, *, streamed: bool) -> tuple[bool, str]:
        """What to do about a run that started upstream but could not be recorded:
        (whether it was cancelled here, the hint for the caller). A backend that can
        find the run again (``trace_ask``) leaves it running; one that cannot cancels
        it where it can, so that repeating the ask answers the message afresh."""
        ...

    def submitted_tool_outputs(self, thread_id: str, state: RunState) -> dict[str, str]:
        """The outputs OpenAI holds for the run's tool calls, by call id (to complete the
        records of calls whose outcome could not be written when they ran)."""
        ...

    def get_run(self, thread_id: str, run_id: str, progress: dict[str, Any]) -> RunState:
        """The run's state now. NotFoundError when it is not a run of ``thread_id``."""
        ...

    def submit_tool_outputs(
        self,
        thread_id: str,
        run_id: str,
        outputs: list[ToolOutput],
        options: TurnOptions,
        progress: dict[str, Any],
    ) -> RunState: ...

    def stream_tool_outputs(
        self,
        thread_id: str,
        run_id: str,
        outputs: list[ToolOutput],
        options: TurnOptions,
        progress: dict[str, Any],
    ) -> Iterator[StreamEvent]:
        """Submit one round's outputs and follow the run until it stops again."""
        ...

    def cancel_run(self, thread_id: str, run_id: str, progress: dict[str, Any]) -> RunState: ...

    def run_messages(self, thread_id: str, state: RunState) -> list[Message]:
        """The messages a finished run added: the user's turn and the assistant's replies."""
        ...

    def latest_message(self, thread_id: str, role: str) -> Message | None: ...

    def list_messages(
        self, thread_id: str, roles: list[str] | None, order: str
    ) -> list[Message]: ...
