"""Conversation backends: the Responses API, Chat Completions and the Assistants API.

The names a setting or an assistant's ``configuration`` may give (``backend``,
``conversation_state``), and the one place that turns them into a backend; nothing
outside this package asks which backend it is talking to.

Where a conversation lives (``conversation_state``):

* ``openai``: upstream, in an OpenAI conversation (``responses``) or an Assistants thread
  (``assistants``): each request sends only what is new.
* ``engine``: in the engine's records; each request carries the conversation
  (engine_held.py). ``chat`` is always so: Chat Completions keeps nothing.
* ``auto`` (the setting's default): ``openai`` on OpenAI's own API; on another server,
  ``openai`` if it serves the Conversations API, else ``engine`` (found out when the
  first thread is created: see :func:`choose_state`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

__all__ = ["BACKEND_NAMES", "CONVERSATION_STATES", "backend_for", "choose_state"]

# ``responses`` first: the default since OpenAI turned the Assistants API off.
BACKEND_NAMES = ("responses", "chat", "assistants")
CONVERSATION_STATES = ("auto", "openai", "engine")
# The states each backend can hold a conversation in.
_STATES = {"responses": ("openai", "engine"), "chat": ("engine",), "assistants": ("openai",)}
_OPENAI_HOSTS = frozenset({"api.openai.com"})


def backend_for(name: str, client: Any, state: str = "openai") -> Any:
    """The backend called ``name`` holding conversations in ``state``, over ``client``
    (an ``openai.OpenAI``)."""
    if name not in _STATES:
        raise ValueError(f"unknown backend {name!r}; known: {', '.join(BACKEND_NAMES)}")
    state = state if state in _STATES[name] else _STATES[name][0]
    if name == "chat":
        from .chat import chat_backend

        return chat_backend(client)
    if name == "responses" and state == "engine":
        from .stateless_responses import stateless_responses_backend

        return stateless_responses_backend(client)
    if name == "responses":
        from .responses import ResponsesBackend

        return ResponsesBackend(client)
    from .assistants import AssistantsBackend

    return AssistantsBackend(client)


def choose_state(name: str, configured: str, base_url: str | None) -> str | None:
    """Where a new conversation of backend ``name`` lives, for the ``configured`` state;
    None: it depends on whether the server has the Conversations API (ask it)."""
    states = _STATES.get(name, ("openai",))
    if configured in states:
        return configured
    if len(states) == 1 or configured != "auto":
        return states[0]  # the one state this backend has
    host = urlsplit(base_url).hostname if base_url else "api.openai.com"
    return "openai" if host in _OPENAI_HOSTS else None
