"""openai_assistant_engine: a GraphQL proxy for OpenAI assistants on AWS serverless."""

from .engine import OpenaiAssistantEngine, deploy
from .store.tables import create_tables

__all__ = ["OpenaiAssistantEngine", "__version__", "create_tables", "deploy"]
__version__ = "0.1.0"
