"""The handler class: a GraphQL payload in, the JSON response of the contract out.

SilvaEngine's conventions (``operation_name``, ``Decimal`` numbers, extra keys) are
absorbed by ``edge.payload``; errors get their codes and statuses, and secrets are kept
out of responses, by ``edge.envelope``: the same edge every transport uses.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator, Mapping
from typing import Any

from graphql import GraphQLError, execute

from .config import Settings
from .edge import envelope
from .edge.document_cache import DocumentCache
from .edge.log_text import single_line
from .edge.payload import read_operation
from .errors import EngineError
from .identity import Access, Caller
from .identity.authenticate import Authenticator, authenticator_for
from .schema import build_schema, operation_names
from .schema.limits import limit_rules
from .services import Services, services_for

__all__ = ["OpenaiAssistantEngine", "deploy"]

_SCHEMA = build_schema()
_LIMIT_RULES = limit_rules()
_DOCUMENT_CACHE_SIZE = 256
# Tokens held by all cached documents (a 10,000-token tree is some 5 MB): about 100 MB.
_DOCUMENT_CACHE_TOKENS = 200_000


_DOCUMENTS = DocumentCache(
    _SCHEMA.graphql_schema,
    _LIMIT_RULES,
    size=_DOCUMENT_CACHE_SIZE,
    max_tokens=_DOCUMENT_CACHE_TOKENS,
)
# ``execute``'s caller was not given: read it from the params.
_FROM_PARAMS = object()


@functools.lru_cache(maxsize=16)
def _announce_identity(settings: Settings, logger: logging.Logger) -> None:
    """Once per settings per process (SilvaEngine builds an engine per request)."""
    if not settings.identity_configured:
        logger.info(
            "Identity is off (no api_keys or jwt_jwks_url): single-tenant, every caller "
            "sees every record, unless a request names its caller (an API Gateway authorizer)."
        )


class RequestContext:
    """What resolvers see as ``info.context``: the services of one engine, and who calls."""

    def __init__(self, engine: OpenaiAssistantEngine, caller: Caller | None = None) -> None:
        self._engine = engine
        self.logger = engine.logger
        self.settings = engine.settings
        self.caller = caller
        self._access: Access | None = None

    @property
    def access(self) -> Access:
        # Not a cached_property: on Python 3.10/3.11 that holds one lock for every
        # instance of the class, so requests would wait on each other's first store use.
        # One context serves one request (one thread): building it twice cannot happen.
        if self._access is None:
            self._access = Access(self.caller, self._engine.store)
        return self._access

    @property
    def store(self) -> Any:
        return self._engine.store

    @property
    def conversation(self) -> Any:
        return self._engine.conversation


class OpenaiAssistantEngine:
    """SilvaEngine-style handler: ``OpenaiAssistantEngine(logger, **setting)``.

    ``openai_client`` (an ``openai.OpenAI``) carries all OpenAI traffic and ``store`` (a
    :class:`~openai_assistant_engine.store.Store`) all records, when given; otherwise
    they come from the settings, shared by every engine of the process with the same
    settings (services.py).
    """

    def __init__(
        self,
        logger: logging.Logger | None = None,
        *,
        openai_client: Any = None,
        store: Any = None,
        **setting: Any,
    ) -> None:
        self.logger = logger or logging.getLogger(__name__)
        self.settings = Settings.load(setting)
        if openai_client is None and store is None:
            self.services = services_for(self.settings)
        else:
            self.services = Services(self.settings, openai_client=openai_client, store=store)
        self._conversation: Any = None
        _announce_identity(self.settings, self.logger)

    @property
    def authenticator(self) -> Authenticator:
        return authenticator_for(self.settings)

    @property
    def store(self) -> Any:
        return self.services.store

    @property
    def conversation(self) -> Any:
        # Not a cached_property (a class-wide lock on Python 3.10/3.11); an engine serves
        # one request at a time, or builds an equal Conversation twice at worst.
        if self._conversation is None:
            from .conversation import Conversation

            self._conversation = Conversation(self.services, self.logger)
        return self._conversation

    def subscribe(
        self, thread_id: str, run_id: str, after: int = 0, *, idle_timeout: float | None = None
    ) -> Iterator[dict[str, Any]]:
        """The events of a run this process drives, as dicts (``seq``, ``type`` and the
        event's data; see conversation/events.py): those after ``after`` first, then each
        as it happens, until the run's last event (or ``idle_timeout`` seconds of none)."""
        for event in self.conversation.subscribe(
            thread_id, run_id, after, idle_timeout=idle_timeout
        ):
            yield event.as_dict()

    # ------------------------------------------------------------------ entry points
    def open_assistant_graphql(self, **params: Any) -> str:
        """Execute ``{query, variables, operation_name}``; return the JSON response text.

        The caller comes from ``params``: SilvaEngine's ``context`` (its API Gateway
        request context, whose ``authorizer`` names the caller), an ``identity`` param (a
        :class:`Caller`, or claims: ``sub``, the tenant claim, ``roles``), or an
        ``authorization`` param holding ``Bearer <API key or JWT>``.
        """
        return self.render(self.execute(params))

    def execute(
        self, params: Mapping[str, Any], *, caller: Caller | object | None = _FROM_PARAMS
    ) -> dict[str, Any]:
        """The response as a dict (``data`` or ``errors``, and ``status_code``).

        HTTP transports pass ``caller`` (None: nobody, identity off), having found it in
        the request's headers: then ``params`` (the request body) cannot name one.
        """
        try:
            if caller is _FROM_PARAMS:
                caller = self.authenticator.caller(
                    authorization=params.get("authorization"),
                    request_context=params.get("context"),
                    identity=params.get("identity"),
                )
            return self._execute(params, caller)  # type: ignore[arg-type]
        except EngineError as exc:
            return envelope.engine_failure(exc)
        except Exception:
            return envelope.unexpected_failure(self.logger, "Unexpected engine failure")

    def render(self, response: Mapping[str, Any]) -> str:
        """The response as the JSON text a client gets (see :mod:`.edge.envelope`)."""
        return envelope.render(response, self.settings.secret_values(), self.logger)

    def to_json(self, response: Mapping[str, Any]) -> str:
        """The response as JSON text; raises when a value cannot be written."""
        return envelope.to_json(response, self.settings.secret_values())

    # ------------------------------------------------------------------ internals
    def _execute(self, params: Mapping[str, Any], caller: Caller | None) -> dict[str, Any]:
        operation = read_operation(params)
        document, errors, introspects = _DOCUMENTS.get(operation.query)
        if document is None:
            return envelope.failure([envelope.graphql_error(e, "BAD_REQUEST") for e in errors], 400)
        if introspects and not self.settings.graphql_introspection:
            # graphql-core reports every introspection field; the first names the root one.
            first = errors[0]
            message = f"{first.message.rstrip('.')}: the setting graphql_introspection is off."
            return envelope.failure(
                [envelope.graphql_error(GraphQLError(message, first.nodes), "BAD_REQUEST")], 400
            )

        self.logger.debug("GraphQL operation %s", single_line(operation.operation_name))
        result = execute(
            _SCHEMA.graphql_schema,
            document,
            context_value=RequestContext(self, caller),
            variable_values=operation.variables,
            operation_name=operation.operation_name,
        )
        if not result.errors:
            return {"data": result.data, "status_code": 200}
        return envelope.errors_response(result.errors, self.logger)


def deploy() -> list[dict[str, Any]]:
    """SilvaEngine's registry entry: the class, its method and every operation it allows."""
    names = operation_names(_SCHEMA)
    return [
        {
            "service": "openai_assistant_engine",
            "class": "OpenaiAssistantEngine",
            "functions": {
                "open_assistant_graphql": {
                    "is_static": False,
                    "label": "OpenAI Assistant GraphQL",
                    "query": [{"action": name, "label": _label(name)} for name in names["query"]],
                    "mutation": [
                        {"action": name, "label": _label(name)} for name in names["mutation"]
                    ],
                    "type": "RequestResponse",
                    "support_methods": ["POST"],
                    "is_auth_required": False,
                    "is_graphql": True,
                    "settings": "openai_assistant_engine",
                    "disabled_in_resources": True,
                }
            },
        }
    ]


def _label(name: str) -> str:
    words = []
    current = ""
    for char in name:
        if char.isupper() and current:
            words.append(current)
            current = char
        else:
            current += char
    words.append(current)
    return " ".join(word.capitalize() for word in words)
