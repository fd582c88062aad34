"""openai_assistant_engine: a GraphQL proxy for OpenAI assistants on AWS serverless."""

from .contract import contract_document
from .engine import OpenaiAssistantEngine, deploy
from .store.tables import create_tables

__all__ = [
    "OpenaiAssistantEngine",
    "__version__",
    "contract_document",
    "create_tables",
    "deploy",
]
__version__ = "0.1.0"
