"""A turn: what it takes to move one run of one thread on.

The assistant record is read only when a step needs it (tools to run, options to send),
and not at all when the run record holds the snapshot taken when the run started.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from ..assistant_configuration import response_parameters
from ..backends.base import Backend, HistoryItem, TurnOptions
from .context import ContextWindow

__all__ = ["Turn"]


class Turn:
    """One thread's run being started or advanced. Used by one thread at a time: its
    lazily read parts need no lock (a plain attribute, not a ``cached_property``, whose
    class-wide lock on Python 3.10/3.11 made every request wait on another's read)."""

    def __init__(
        self,
        *,
        assistant_type: str,
        assistant_id: str,
        thread_id: str,
        backend: Backend,
        updated_by: str | None,
        owner: dict[str, str] | None,
        load_assistant: Callable[[], dict[str, Any]],
        describe_tools: Callable[[dict[str, Any]], tuple[dict[str, Any], ...]],
        default_model: str | None,
        assistant: dict[str, Any] | None = None,
        context: ContextWindow | None = None,
        upstream_thread_id: str | None = None,
    ) -> None:
        self.assistant_type = assistant_type
        self.assistant_id = assistant_id
        self.thread_id = thread_id
        self.backend = backend
        # The id the upstream service knows the thread by, when not its own (the backend
        # is wrapped to use it: upstream_ids.py).
        self.upstream_thread_id = upstream_thread_id
        self.updated_by = updated_by
        # {owner, tenant} of the thread (identity on), marked on every record of the turn.
        self.owner = owner or {}
        self._load_assistant = load_assistant
        self._describe_tools = describe_tools
        self._default_model = default_model
        self._assistant = assistant
        # Where an engine-held conversation's earlier turns come from.
        self._context = context
        self._options: TurnOptions | None = None
        self._tools: tuple[dict[str, Any], ...] | None = None

    def use_backend(self, backend: Backend) -> None:
        """Go on with another backend (a new thread's server turned out to have no
        Conversations API): the options are built afresh for it."""
        self.backend = backend
        self._options = None

    @property
    def assistant(self) -> dict[str, Any]:
        """The assistant's ``functions`` and ``configuration`` (at least)."""
        if self._assistant is None:
            self._assistant = self._load_assistant()
        return self._assistant

    @property
    def functions(self) -> list[dict[str, Any]]:
        return list(self.assistant.get("functions") or [])

    @property
    def configuration(self) -> dict[str, Any]:
        return dict(self.assistant.get("configuration") or {})

    def snapshot(self) -> dict[str, Any]:
        """What the run record keeps of the assistant, so later steps need no read."""
        return {"functions": self.functions, "configuration": self.configuration}

    @property
    def options(self) -> TurnOptions:
        if self._options is None:
            configuration = self.configuration
            options = TurnOptions(
                assistant_id=self.assistant_id,
                model=configuration.get("model") or self._default_model,
                instructions=configuration.get("instructions"),
                describe_tools=self._tool_definitions,
                parameters=response_parameters(configuration, self.backend.name),
            )
            if self._context is not None and self.backend.conversation_state == "engine":
                options = replace(options, history=self._earlier_items)
            self._options = options
        return self._options

    def _earlier_items(self, run_id: str, sent: Sequence[HistoryItem]) -> tuple[HistoryItem, ...]:
        assert self._context is not None and self._options is not None
        return self._context.earlier_items(
            self.thread_id,
            run_id,
            sent,
            instructions=self._options.instructions,
            model=self._options.model,
        )

    def _tool_definitions(self) -> tuple[dict[str, Any], ...]:
        if self._tools is None:
            self._tools = self._describe_tools(self.assistant)
        return self._tools
