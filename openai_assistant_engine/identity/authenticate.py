"""From what a transport received to a :class:`Caller` (or None: identity is off).

The sources, strongest first:

* an API Gateway authorizer's output in the request context: HTTP API JWT claims
  (``authorizer.jwt.claims``), a Lambda authorizer's context (``authorizer.lambda``, or
  the v1 ``authorizer`` keys), Cognito user pool claims (v1 ``authorizer.claims``), IAM
  (``authorizer.iam``). API Gateway checked these already; they always name a caller.
* an ``identity`` param: a :class:`Caller` made by the program, or claims (only while no
  keys or JWTs are configured);
* a bearer credential (``Authorization: Bearer ...``): an API key of ``api_keys``, or a
  JWT verified against ``jwt_jwks_url``.

With neither configured nor presented, there is no caller and the engine is
single-tenant. Configured and absent is a 401.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import UnauthorizedError
from .api_keys import KEY_PREFIX, ApiKeyRing
from .caller import Caller, caller_from_claims

if TYPE_CHECKING:
    from ..config import Settings
    from .jwt_tokens import JwtVerifier

__all__ = ["Authenticator", "authenticator_for"]

_BEARER = re.compile(r"^\s*Bearer\s+(\S+)\s*$", re.IGNORECASE)


class Authenticator:
    def __init__(self, settings: Settings) -> None:
        self._tenant_claim = settings.identity_tenant_claim
        self._admin_role = settings.identity_admin_role
        self._keys = ApiKeyRing(settings.api_keys)
        self._jwt: JwtVerifier | None = None
        if settings.jwt_jwks_url:
            from .jwt_tokens import JwtVerifier  # PyJWT loads only where JWTs are used

            self._jwt = JwtVerifier(
                settings.jwt_jwks_url, audience=settings.jwt_audience, issuer=settings.jwt_issuer
            )
        self.required = bool(len(self._keys) or self._jwt)

    def caller(
        self, *, authorization: Any = None, request_context: Any = None, identity: Any = None
    ) -> Caller | None:
        """The caller of a request; None when identity is off and none was presented."""
        if isinstance(identity, Caller):
            return identity
        found = self.from_request_context(request_context)
        if found is None and isinstance(identity, Mapping) and not self.required:
            # Claims handed over by the host program. Not when keys or JWTs are configured:
            # a host that merges body keys into the params would let a body name anyone.
            found = self.from_request_context(identity) or self.from_claims(identity, "identity")
        if found is not None:
            return found
        if authorization:
            return self.from_bearer(authorization)
        if self.required:
            raise UnauthorizedError(
                "This engine needs a caller: send 'Authorization: Bearer <API key or JWT>'."
            )
        return None

    def from_claims(self, claims: Mapping[str, Any], via: str) -> Caller:
        return caller_from_claims(
            claims, tenant_claim=self._tenant_claim, admin_role=self._admin_role, via=via
        )

    def from_bearer(self, header: Any) -> Caller:
        match = _BEARER.match(header) if isinstance(header, str) else None
        if match is None:
            raise UnauthorizedError("The Authorization header must be 'Bearer <credential>'.")
        credential = match.group(1)
        if credential.startswith(KEY_PREFIX) and len(self._keys):
            caller = self._keys.caller(credential)
            if caller is None:
                raise UnauthorizedError("The API key is not known.")
            return caller
        if self._jwt is not None:
            return self.from_claims(self._jwt.claims(credential), "jwt")
        raise UnauthorizedError("The bearer credential is not a known API key.")

    def from_request_context(self, context: Any) -> Caller | None:
        """The caller an API Gateway authorizer named, if the context holds one."""
        if not isinstance(context, Mapping):
            return None
        authorizer = context.get("authorizer")
        if not isinstance(authorizer, Mapping) or not authorizer:
            return None
        jwt_part = authorizer.get("jwt")
        if isinstance(jwt_part, Mapping) and isinstance(jwt_part.get("claims"), Mapping):
            return self.from_claims(jwt_part["claims"], "authorizer")
        if isinstance(authorizer.get("claims"), Mapping):  # REST API + Cognito user pool
            return self.from_claims(authorizer["claims"], "authorizer")
        if isinstance(authorizer.get("lambda"), Mapping):  # HTTP API Lambda authorizer
            return self._from_lambda_context(authorizer["lambda"])
        if isinstance(authorizer.get("iam"), Mapping):
            return self._from_iam(authorizer["iam"])
        return self._from_lambda_context(authorizer)  # REST API Lambda authorizer

    def _from_lambda_context(self, context: Mapping[str, Any]) -> Caller:
        """A Lambda authorizer's context: ``sub`` (or ``principalId``, ``user``), the
        tenant claim, roles; REST APIs pass every value as a string."""
        claims = dict(context)
        claims.setdefault("sub", context.get("user") or context.get("principalId"))
        return self.from_claims(claims, "authorizer")

    def _from_iam(self, iam: Mapping[str, Any]) -> Caller:
        """An IAM principal: its ARN is the user, its account the tenant; a role named
        ``identity_admin_role`` is an admin."""
        arn = str(iam.get("userArn") or "")
        account = str(iam.get("accountId") or "")
        if not arn or not account:
            raise UnauthorizedError("The IAM authorizer context names no principal.")
        return Caller(
            user=arn, tenant=account, admin=_role_name(arn) == self._admin_role, via="iam"
        )


def _role_name(arn: str) -> str | None:
    """NAME of arn:aws:sts::1:assumed-role/NAME/session or arn:aws:iam::1:role/path/NAME."""
    if ":assumed-role/" in arn:
        return arn.split(":assumed-role/", 1)[1].split("/", 1)[0]
    if ":role/" in arn:
        return arn.rsplit("/", 1)[1]
    return None


@functools.lru_cache(maxsize=16)
def authenticator_for(settings: Settings) -> Authenticator:
    """One per settings per process: the JWKS cache lives as long as the process."""
    return Authenticator(settings)
