"""Where page k of a list starts, found without reading the items before it.

The contract pages by ``pageNumber`` and ``limit``, while DynamoDB pages by a key to start
after. Reading (k-1) x limit items only to skip them makes page k cost O(k x limit);
instead the skip is done with ``Select=COUNT`` requests, which return counts and the key
to go on from, never items. Each count request evaluates at most as many items as are
left to skip, so however a filter thins them out it never skips past the page's start.
Then the page itself is read from that key: O(limit) items whatever k is.

PynamoDB has no public count-with-start-key call, so the counts go straight to the
botocore client of the store's connection (the one every table uses), with PynamoDB's own
condition serialisation.
"""

from __future__ import annotations

from typing import Any

from pynamodb.connection import Connection
from pynamodb.models import Model

__all__ = ["END", "PageSeeker"]

# The list holds no more than the items to skip: the page is empty.
END = object()


class PageSeeker:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def count(
        self,
        model: type[Model],
        *,
        hash_key: str | None = None,
        filter_condition: Any = None,
        index_name: str | None = None,
    ) -> int:
        """How many items match, counted by DynamoDB (no item is sent)."""
        operation, request = self._count_request(model, hash_key, filter_condition, index_name)
        total = 0
        while True:
            answer = operation(**request)
            total += answer["Count"]
            if "LastEvaluatedKey" not in answer:
                return total
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def start_after(
        self,
        model: type[Model],
        skip: int,
        *,
        hash_key: str | None = None,
        filter_condition: Any = None,
        index_name: str | None = None,
    ) -> dict[str, Any] | object | None:
        """The key to read page items after: None to start at the top, END past the end."""
        if skip <= 0:
            return None
        operation, request = self._count_request(model, hash_key, filter_condition, index_name)
        remaining = skip
        while remaining > 0:
            # Evaluating no more items than are left to skip: a filter can only make the
            # count smaller, so the page's first item is never passed.
            answer = operation(**request, Limit=remaining)
            remaining -= answer["Count"]
            if "LastEvaluatedKey" not in answer:
                return END
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        return request["ExclusiveStartKey"]

    def _count_request(
        self,
        model: type[Model],
        hash_key: str | None,
        filter_condition: Any,
        index_name: str | None,
    ) -> tuple[Any, dict[str, Any]]:
        names: dict[str, str] = {}  # placeholder -> attribute name, as DynamoDB wants it
        values: dict[str, Any] = {}
        request: dict[str, Any] = {"TableName": model.Meta.table_name, "Select": "COUNT"}
        if index_name:
            request["IndexName"] = index_name
        if hash_key is not None:
            names["#oae_hash"] = _partition_key(model, index_name)
            values[":oae_hash"] = {"S": hash_key}
            request["KeyConditionExpression"] = "#oae_hash = :oae_hash"
        if filter_condition is not None:
            placeholders: dict[str, str] = {}  # PynamoDB's: attribute name -> placeholder
            request["FilterExpression"] = filter_condition.serialize(placeholders, values)
            names.update({placeholder: name for name, placeholder in placeholders.items()})
        if names:
            request["ExpressionAttributeNames"] = names
        if values:
            request["ExpressionAttributeValues"] = values
        client = self._connection.client
        operation = client.query if hash_key is not None else client.scan
        return operation, request


def _partition_key(model: type[Model], index_name: str | None) -> str:
    """The partition key's attribute name: the table's, or the named index's."""
    if index_name:
        for index in model._indexes.values():
            if index.Meta.index_name == index_name:
                return index._hash_key_attribute().attr_name
    return next(name for name, attr in model.get_attributes().items() if attr.is_hash_key)
