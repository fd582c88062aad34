"""The scripted model: what the sandbox "answers", decided only by the user's text.

A user message may contain directive lines (whole lines, leading/trailing spaces ignored):

    call:NAME ARGS      round 1 function call (several lines = parallel calls)
    call2:NAME ARGS     round 2 call, asked once round 1's outputs arrive (call3:, ... alike)
    loop:NAME ARGS      asked again in every round, forever
    fail:CODE MESSAGE   the run/response fails with that error
    expire | incomplete | cancel
    steps:N             a polled run/background response stays in_progress for N polls

ARGS is kept verbatim (it need not be JSON); a missing ARGS is ``{}``. Every other line is
plain text. The Assistants, Responses and Chat Completions fakes all share this module so
the APIs answer identically (Responses and Chat through ``model``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "DEFAULT_STEPS",
    "Call",
    "Ending",
    "Script",
    "Turn",
    "count_words",
    "parse_script",
    "text_chunks",
]

DEFAULT_STEPS = 1

_CALL_LINE = re.compile(r"^(call|loop)(\d*):(\S+)(?:\s+(.*))?$", re.DOTALL)
_FAIL_LINE = re.compile(r"^fail:(\S*)(?:\s+(.*))?$", re.DOTALL)
_STEPS_LINE = re.compile(r"^steps:(\d+)$")
_BARE_ENDINGS = ("expire", "incomplete", "cancel")


@dataclass(frozen=True)
class Call:
    name: str
    arguments: str


@dataclass(frozen=True)
class Ending:
    """How a turn ends instead of a plain reply: fail, expire, incomplete or cancel."""

    kind: str
    code: str = ""
    message: str = ""


@dataclass(frozen=True)
class Turn:
    """One model turn: either function calls to ask for, or an end (reply and/or ``ending``)."""

    calls: tuple[Call, ...] = ()
    reply: str = ""
    ending: Ending | None = None

    @property
    def asks_for_calls(self) -> bool:
        return bool(self.calls)


@dataclass(frozen=True)
class Script:
    text: str
    rounds: tuple[tuple[Call, ...], ...] = ()
    loop: tuple[Call, ...] = ()
    ending: Ending | None = None
    steps: int = DEFAULT_STEPS

    def calls_for_round(self, number: int) -> tuple[Call, ...]:
        """Calls asked in round ``number`` (1-based); empty means the model answers instead."""
        explicit = self.rounds[number - 1] if 0 < number <= len(self.rounds) else ()
        return explicit + self.loop

    def next_turn(self, rounds_done: int, last_outputs: Sequence[tuple[str, str]] = ()) -> Turn:
        """The turn after ``rounds_done`` rounds of calls; ``last_outputs`` = (name, output)."""
        calls = self.calls_for_round(rounds_done + 1)
        if calls:
            return Turn(calls=calls)
        # Endings apply where the reply would be, so a script can call first, then fail.
        if self.ending is not None and self.ending.kind != "incomplete":
            return Turn(ending=self.ending)
        return Turn(reply=reply_text(self.text, last_outputs), ending=self.ending)


def reply_text(user_text: str, last_outputs: Sequence[tuple[str, str]] = ()) -> str:
    if last_outputs:
        return "Tool results: " + "; ".join(f"{name}={output}" for name, output in last_outputs)
    return f"Echo: {user_text}"


def parse_script(text: str) -> Script:
    rounds: dict[int, list[Call]] = {}
    loop: list[Call] = []
    ending: Ending | None = None
    steps = DEFAULT_STEPS
    plain: list[str] = []
    for raw_line in text.splitlines():
        line = raw_line.strip()
        call = _CALL_LINE.match(line)
        fail = _FAIL_LINE.match(line)
        step = _STEPS_LINE.match(line)
        if call:
            kind, number, name, args = call.groups()
            arguments = args.strip() if args and args.strip() else "{}"
            if kind == "loop":
                if number:  # "loop2:" is no directive; keep it as text
                    plain.append(raw_line)
                    continue
                loop.append(Call(name, arguments))
            else:
                rounds.setdefault(int(number or 1), []).append(Call(name, arguments))
        elif fail:
            if ending is None:
                code, message = fail.groups()
                ending = Ending(
                    "fail",
                    code or "server_error",
                    (message or "").strip() or "The model failed to respond.",
                )
        elif line in _BARE_ENDINGS:
            if ending is None:
                ending = Ending(line)
        elif step:
            steps = int(step.group(1))
        else:
            plain.append(raw_line)
    last_round = max(rounds, default=0)
    return Script(
        text="\n".join(plain).strip(),
        rounds=tuple(tuple(rounds.get(n, ())) for n in range(1, last_round + 1)),
        loop=tuple(loop),
        ending=ending,
        steps=steps,
    )


def count_words(*texts: str) -> int:
    """The sandbox's token count: whitespace-separated words (deterministic, no tokenizer)."""
    return sum(len(text.split()) for text in texts)


def text_chunks(text: str) -> list[str]:
    """Split ``text`` into word-sized stream deltas whose concatenation is exactly ``text``."""
    return re.findall(r"\s*\S+\s*", text) or ([text] if text else [])
