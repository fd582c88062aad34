"""Conversation backends: the Assistants API and the Responses + Conversations APIs."""

from __future__ import annotations

from typing import Any

from ..config import Settings

__all__ = ["backend_for"]


def backend_for(name: str, settings: Settings) -> Any:
    """The backend called ``name`` on the OpenAI client these settings describe."""
    from .client import openai_client

    client = openai_client(settings)
    if name == "responses":
        from .responses import ResponsesBackend

        return ResponsesBackend(client)
    from .assistants import AssistantsBackend

    return AssistantsBackend(client)
