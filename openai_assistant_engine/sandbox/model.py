"""The scripted model over a context of API-neutral items, shared by Responses and Chat.

Each API turns its own wire shapes (Responses items, Chat messages) into the items here,
asks :func:`answer`, and renders the :class:`Answer` back in its own shapes, so the same
conversation gets the same reply, calls and token counts on both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .script import Call, Ending, Script, Turn, count_words, parse_script

__all__ = [
    "INSTRUCTION_ROLES",
    "Answer",
    "FunctionCall",
    "FunctionOutput",
    "Item",
    "Message",
    "answer",
]

# Messages with these roles steer the model but hold no script, and never split a round.
INSTRUCTION_ROLES = frozenset({"system", "developer"})


@dataclass(frozen=True)
class Message:
    role: str  # "user", "assistant", "system" or "developer"
    text: str


@dataclass(frozen=True)
class FunctionCall:
    call_id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class FunctionOutput:
    call_id: str
    output: str


Item = Message | FunctionCall | FunctionOutput


@dataclass(frozen=True)
class Answer:
    """What the model answers next: calls to ask for, or a reply and/or an ending."""

    script: Script
    turn: Turn
    input_tokens: int
    output_tokens: int

    @property
    def calls(self) -> tuple[Call, ...]:
        return self.turn.calls

    @property
    def reply(self) -> str:
        return self.turn.reply

    @property
    def ending(self) -> Ending | None:
        return self.turn.ending

    @property
    def has_reply(self) -> bool:
        """A reply is written unless the turn asks for calls or ends without one."""
        ending = self.turn.ending
        return not self.turn.calls and (ending is None or ending.kind == "incomplete")

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


def answer(context: Sequence[Item]) -> Answer:
    """Run the script of the LAST user message over the items that followed it."""
    users = [
        n for n, item in enumerate(context) if isinstance(item, Message) and item.role == "user"
    ]
    start = users[-1] if users else -1
    last_user = context[start] if users else None
    script = parse_script(last_user.text if isinstance(last_user, Message) else "")
    # A round is a run of consecutive function calls; instructions in between don't count.
    rounds_done, previous_was_call = 0, False
    last_round: list[FunctionCall] = []
    for item in context[start + 1 :]:
        if isinstance(item, Message) and item.role in INSTRUCTION_ROLES:
            continue
        if isinstance(item, FunctionCall):
            if not previous_was_call:
                rounds_done, last_round = rounds_done + 1, []
            last_round.append(item)
        previous_was_call = isinstance(item, FunctionCall)
    outputs = {item.call_id: item.output for item in context if isinstance(item, FunctionOutput)}
    turn = script.next_turn(
        rounds_done, [(call.name, outputs.get(call.call_id, "")) for call in last_round]
    )
    # Tokens are words: everything read (messages and tool outputs) in, reply and calls out.
    input_tokens = count_words(
        *(item.text if isinstance(item, Message) else item.output for item in _read(context))
    )
    return Answer(script, turn, input_tokens, count_words(turn.reply) + len(turn.calls))


def _read(context: Sequence[Item]) -> list[Message | FunctionOutput]:
    return [item for item in context if isinstance(item, (Message, FunctionOutput))]
