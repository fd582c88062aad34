"""Bearer API keys: random, shown once, kept only as their SHA-256.

A key is 32 random bytes (``oae_`` + URL-safe base64), so a plain SHA-256 is enough to
keep it: there is no dictionary to try against it, unlike a password.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from .caller import Caller

__all__ = ["KEY_PREFIX", "ApiKeyRing", "hash_key", "new_key", "parse_api_keys"]

KEY_PREFIX = "oae_"


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ApiKeyEntry:
    key_hash: str
    user: str
    tenant: str
    admin: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "hash": self.key_hash,
            "user": self.user,
            "tenant": self.tenant,
            "admin": self.admin,
        }


class ApiKeyRing:
    """The configured keys, found by the hash of the key presented."""

    def __init__(self, entries: Iterable[ApiKeyEntry]) -> None:
        self._entries = tuple(entries)

    def __len__(self) -> int:
        return len(self._entries)

    def caller(self, key: str) -> Caller | None:
        presented = hash_key(key)
        found = None
        for entry in self._entries:  # compare every entry: no early exit to time
            if hmac.compare_digest(entry.key_hash, presented):
                found = entry
        if found is None:
            return None
        return Caller(user=found.user, tenant=found.tenant, admin=found.admin, via="api_key")


def parse_api_keys(value: Any) -> tuple[ApiKeyEntry, ...]:
    """The ``api_keys`` setting: a JSON list (text or parsed), or the path of a JSON file
    holding one (what ``oae keys create`` writes)."""
    if value is None or value == "":
        return ()
    if isinstance(value, str) and not value.lstrip().startswith("["):
        path = Path(value.strip())
        if not path.is_file():
            raise ConfigurationError(
                f"Setting 'api_keys' names {value!r}, which is neither a JSON list nor a "
                "file; create keys with `oae keys create`."
            )
        value = path.read_text(encoding="utf-8")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ConfigurationError(f"Setting 'api_keys' is not valid JSON: {exc}.") from None
    if not isinstance(value, list):
        raise ConfigurationError("Setting 'api_keys' must be a JSON list of key entries.")
    return tuple(_entry(position, item) for position, item in enumerate(value))


def _entry(position: int, item: Any) -> ApiKeyEntry:
    where = f"Setting 'api_keys'[{position}]"
    if not isinstance(item, Mapping):
        raise ConfigurationError(f"{where} must be an object with hash, user and tenant.")
    key_hash, user, tenant = (
        str(item.get(name) or "").strip() for name in ("hash", "user", "tenant")
    )
    if not key_hash.startswith("sha256:") or len(key_hash) != len("sha256:") + 64:
        raise ConfigurationError(
            f"{where} has no 'hash' of the form sha256:<64 hex digits> (keys are stored "
            "hashed, never in plain text; `oae keys create` makes them)."
        )
    if not user or not tenant:
        raise ConfigurationError(f"{where} must name a 'user' and a 'tenant'.")
    admin = item.get("admin", False)
    if not isinstance(admin, bool):
        raise ConfigurationError(f"{where}: 'admin' must be true or false.")
    return ApiKeyEntry(key_hash=key_hash, user=user, tenant=tenant, admin=admin)
