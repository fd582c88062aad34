"""Conversation backends: the Responses + Conversations APIs and the Assistants API.

The names a setting or an assistant's ``configuration.backend`` may give, and the one
place that turns a name into a backend; nothing outside this package asks which backend
it is talking to.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BACKEND_NAMES", "backend_for"]

# ``responses`` first: the default since OpenAI turned the Assistants API off.
BACKEND_NAMES = ("responses", "assistants")


def backend_for(name: str, client: Any) -> Any:
    """The backend called ``name`` over ``client`` (an ``openai.OpenAI``)."""
    if name == "responses":
        from .responses import ResponsesBackend

        return ResponsesBackend(client)
    if name == "assistants":
        from .assistants import AssistantsBackend

        return AssistantsBackend(client)
    raise ValueError(f"unknown backend {name!r}; known: {', '.join(BACKEND_NAMES)}")
