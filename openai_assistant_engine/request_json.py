"""The JSON object of a request body, read the same way by ``oae serve`` and Lambda.

``json.loads`` raises more than ``JSONDecodeError``: a document nested a hundred thousand
levels deep ends in ``RecursionError`` and a 5,000-digit integer in ``ValueError`` (Python
refuses to convert integers over 4,300 digits). Uncaught, the first dropped the server's
connection and the second made API Gateway answer 502; both are bad requests.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["UnreadableJson", "parse_json_object"]


class UnreadableJson(ValueError):
    """The body is not a JSON object this engine can read; the message says why."""


def parse_json_object(raw: bytes | str, what: str = "The request body") -> Mapping[str, Any]:
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UnreadableJson(f"{what} is not valid JSON.") from None
    except RecursionError:
        raise UnreadableJson(f"{what} nests JSON too deep to be read.") from None
    except ValueError:  # int() refuses integers with more digits than its limit
        raise UnreadableJson(f"{what} holds a number with too many digits.") from None
    if not isinstance(value, Mapping):
        raise UnreadableJson(
            f"{what} must be a JSON object with query, variables and operationName."
        )
    return value
