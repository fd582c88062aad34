"""JWTs verified with PyJWT against the signing keys a JWKS URL publishes."""

from __future__ import annotations

from typing import Any

import jwt

from ..errors import UnauthorizedError

__all__ = ["JwtVerifier"]

# Asymmetric algorithms only: a JWKS publishes public keys, and "none" or an HMAC secret
# taken from a public key must never verify.
_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]


class JwtVerifier:
    def __init__(self, jwks_url: str, *, audience: str | None, issuer: str | None) -> None:
        # PyJWKClient caches the key set and fetches it again for an unknown key id.
        self._keys = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300, timeout=10)
        self._audience = audience
        self._issuer = issuer

    def claims(self, token: str) -> dict[str, Any]:
        """The token's claims once its signature, expiry, audience and issuer hold."""
        try:
            key = self._keys.get_signing_key_from_jwt(token)
            required = ["exp", "sub"] + (["aud"] if self._audience else [])
            return jwt.decode(
                token,
                key.key,
                algorithms=_ALGORITHMS,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": required + (["iss"] if self._issuer else [])},
                leeway=30,
            )
        except jwt.PyJWKClientConnectionError as exc:
            raise UnauthorizedError(
                "The token cannot be checked now: the JWKS URL did not answer."
            ) from exc
        except jwt.PyJWTError as exc:
            # PyJWT's messages name the failed check ("Signature has expired", "Invalid
            # audience"), never the token.
            raise UnauthorizedError(f"The bearer token is not valid: {exc}.") from None
