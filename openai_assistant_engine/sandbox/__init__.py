"""An offline, deterministic, scripted OpenAI-compatible HTTP server for tests and demos.

    from openai_assistant_engine.sandbox import SandboxServer

    with SandboxServer() as server:
        client = OpenAI(api_key="sk-sandbox", base_url=server.base_url)

The model only reads directive lines in the latest user message (see ``script``).
"""

from .assistants_api import ASSISTANTS_SHUTDOWN_ERROR
from .server import SandboxServer

__all__ = ["ASSISTANTS_SHUTDOWN_ERROR", "SandboxServer"]
