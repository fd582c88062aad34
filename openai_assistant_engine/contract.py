"""The contract GraphQL document shipped inside the package.

Every operation in it works sent verbatim to ``open_assistant_graphql``, the HTTP server or
the Lambda handler, so clients can send it as it is with an operation name.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

__all__ = ["contract_document"]


@cache
def contract_document() -> str:
    """The text of ``openai_assistant_engine/schema/contract.graphql``."""
    path = resources.files("openai_assistant_engine").joinpath("schema", "contract.graphql")
    return path.read_text(encoding="utf-8")
