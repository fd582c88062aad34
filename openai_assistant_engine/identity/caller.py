"""The caller of one request, and how claims (JWT, authorizer context) name one."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import UnauthorizedError

__all__ = ["Caller", "caller_from_claims"]


@dataclass(frozen=True)
class Caller:
    """A user of a tenant; an admin may read the tenant's threads and manage assistants."""

    user: str
    tenant: str
    admin: bool = False
    via: str = "identity"  # how the caller was known: api_key, jwt, authorizer, iam, ...


def caller_from_claims(
    claims: Mapping[str, Any],
    *,
    tenant_claim: str,
    admin_role: str,
    via: str,
) -> Caller:
    """``sub`` is the user, ``claims[tenant_claim]`` the tenant, ``roles`` or
    ``cognito:groups`` holding ``admin_role`` makes an admin."""
    user = _text(claims.get("sub"))
    if not user:
        raise UnauthorizedError("The caller's claims name no user ('sub').")
    tenant = _text(claims.get(tenant_claim))
    if not tenant:
        raise UnauthorizedError(
            f"The caller's claims name no tenant (claim {tenant_claim!r}, set by the "
            "identity_tenant_claim setting)."
        )
    roles = _roles(claims.get("roles")) | _roles(claims.get("cognito:groups"))
    return Caller(user=user, tenant=tenant, admin=admin_role in roles, via=via)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _roles(value: Any) -> set[str]:
    """Roles as a list, or as API Gateway flattens a list claim: "[a b]" or "a,b"."""
    if isinstance(value, (list, tuple, set)):
        return {str(item) for item in value}
    if not isinstance(value, str) or not value.strip():
        return set()
    text = value.strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return {str(item) for item in parsed}
        text = text.strip("[]")
    return {part for part in text.replace(",", " ").split() if part}
