"""``oae keys create``: make an API key, print it once, keep only its hash."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from ..errors import ConfigurationError
from ..identity.api_keys import ApiKeyEntry, hash_key, new_key, parse_api_keys
from .console import CommandError

__all__ = ["DEFAULT_KEYS_FILE", "cmd_keys_create"]

DEFAULT_KEYS_FILE = "oae-keys.json"


def cmd_keys_create(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        entries = list(parse_api_keys(str(path))) if path.exists() else []
    except ConfigurationError as exc:
        raise CommandError(f"{path} cannot be added to: {exc.message}") from None
    user, tenant = args.user.strip(), args.tenant.strip()
    if not user or not tenant:
        raise CommandError("--user and --tenant must not be empty.")
    key = new_key()
    entries.append(ApiKeyEntry(key_hash=hash_key(key), user=user, tenant=tenant, admin=args.admin))
    text = json.dumps([entry.as_json() for entry in entries], indent=2) + "\n"
    # Written whole, then renamed: a failure halfway leaves the old file as it was.
    partial = path.with_name(path.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(partial, path)
    role = "admin" if args.admin else "user"
    print(f"API key for {user!r} ({role}) of tenant {tenant!r}; shown once, keep it now:")
    print(key)
    print(f"Its hash is in {path}: set the setting api_keys={path} for the engine to accept it.")
    return 0
