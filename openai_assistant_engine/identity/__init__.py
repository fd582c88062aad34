"""Who calls: callers, API keys, JWTs and the ownership rules over the records.

Identity is off unless a deployment configures it (``api_keys`` or ``jwt_jwks_url``) or
a request arrives with a caller (an API Gateway authorizer, an ``identity`` param).
With it off the engine is single-tenant, as before; with it on, every record a caller
makes is theirs and their tenant's, and :class:`Access` says what they may see.
"""

from .access import Access
from .authenticate import Authenticator
from .caller import Caller

__all__ = ["Access", "Authenticator", "Caller"]
