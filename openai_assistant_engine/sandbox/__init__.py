"""An offline, deterministic, scripted OpenAI-compatible HTTP server for tests and demos.

    from openai_assistant_engine.sandbox import SandboxServer

    with SandboxServer() as server:
        client = OpenAI(api_key="sk-sandbox", base_url=server.base_url)

It fakes, for the official ``openai`` SDK unmodified:

- the Assistants API (assistants, threads, messages, runs, run steps): ``assistants_api``;
- the Responses API and the Conversations API: ``responses_api``;
- the Chat Completions API (``POST /v1/chat/completions``): ``chat_api``.

One scripted model (``model``) answers Responses and Chat alike; it only reads directive
lines in the latest user message (see ``script``).
"""

from .assistants_api import ASSISTANTS_SHUTDOWN_ERROR
from .server import SandboxServer

__all__ = ["ASSISTANTS_SHUTDOWN_ERROR", "SandboxServer"]
