"""Helpers for tests that drive the engine the way SilvaEngine does and read its JSON text."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from openai_assistant_engine import OpenaiAssistantEngine

__all__ = ["call", "count_dynamodb_calls", "data_of", "new_engine"]


def new_engine(logger: logging.Logger, settings: dict[str, Any]) -> OpenaiAssistantEngine:
    return OpenaiAssistantEngine(logger, **settings)


def call(
    engine: OpenaiAssistantEngine,
    query: str,
    operation_name: str | None = None,
    variables: Any = None,
    **params: Any,
) -> dict[str, Any]:
    """Run one payload; the engine must answer a JSON *string*, which is parsed here."""
    text = engine.open_assistant_graphql(
        query=query, variables=variables, operation_name=operation_name, **params
    )
    assert isinstance(text, str)
    response = json.loads(text)
    assert "status_code" in response
    return response


def data_of(response: dict[str, Any]) -> dict[str, Any]:
    """The ``data`` of a successful response (fails the test with the errors otherwise)."""
    assert response["status_code"] == 200, response
    assert "errors" not in response, response
    return response["data"]


@contextmanager
def count_dynamodb_calls(store: Any) -> Iterator[Counter[str]]:
    """Count the DynamoDB API calls (Query, Scan, GetItem, ...) the store's models make,
    and the items their Queries returned (``items_read``).

    A botocore ``before-call`` hook on each model's client: it only watches, it changes
    nothing about the request.
    """
    calls: Counter[str] = Counter()

    def watch(event_name: str, **_kwargs: Any) -> None:
        calls[event_name.rsplit(".", 1)[-1]] += 1

    def read(event_name: str, parsed: Any = None, **_kwargs: Any) -> None:
        # Items a Query or Scan returned: "items read" (the bound on reading a thread).
        if isinstance(parsed, dict):
            calls["items_read"] += len(parsed.get("Items") or ())

    # The tables share one client (store/shared_connection.py): watch each client once.
    clients = list(
        {
            id(client): client
            for client in (
                model._get_connection().connection.client for model in store.models.all()
            )
        }.values()
    )
    for client in clients:
        client.meta.events.register("before-call.dynamodb", watch)
        client.meta.events.register("after-call.dynamodb.Query", read)
    try:
        yield calls
    finally:
        for client in clients:
            client.meta.events.unregister("before-call.dynamodb", watch)
            client.meta.events.unregister("after-call.dynamodb.Query", read)
