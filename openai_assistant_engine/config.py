"""Settings: one frozen object built from explicit kwargs, else the environment, else `.env`.

SilvaEngine hands us a flat dict of strings or numbers; the spec's `.env` uses lowercase
names while the environment convention is uppercase, so each setting is looked up under
both spellings. A malformed value fails here, naming the setting, so a bad deployment
fails at construction rather than halfway through a run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

from .backends import BACKEND_NAMES, CONVERSATION_STATES
from .edge.log_redaction import redact_secrets_in_logs
from .errors import ConfigurationError
from .identity.api_keys import ApiKeyEntry, parse_api_keys

__all__ = ["BACKENDS", "RUN_DRIVERS", "Settings"]

# Where the names come from: backends/ owns them.
BACKENDS = BACKEND_NAMES
RUN_DRIVERS = ("auto", "stream", "poll")
_MIN_SECRET_LENGTH = 12
_FLOAT_SETTINGS = frozenset(
    {
        "tool_timeout_seconds",
        "openai_timeout_seconds",
        "http_idle_timeout_seconds",
        "run_queue_follow_seconds",
        "run_queue_max_age_seconds",
    }
)
_INT_SETTINGS = frozenset(
    {
        "max_tool_rounds",
        "tool_instance_cache_size",
        "http_max_connections",
        "context_max_tokens",
        "run_queue_max_receives",
    }
)
_SECRET_SETTINGS = frozenset(
    {
        "openai_api_key",
        "aws_access_key_id",
        "aws_secret_access_key",
        "openai_webhook_secret",
        "run_webhook_secret",
    }
)
# SQS delays a message at most 15 minutes.
_MAX_QUEUE_DELAY_SECONDS = 900


def _parse_str(name: str, value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _parse_positive_number(name: str, value: Any, kind: type) -> Any:
    try:
        exact = Decimal(str(value).strip())
        # NaN and Infinity parse as Decimals; 2.5 rounds are no whole number of rounds.
        if not exact.is_finite() or (kind is int and exact != exact.to_integral_value()):
            raise ValueError(value)
        number = kind(exact)
    except Exception as exc:
        raise ConfigurationError(
            f"Setting {name!r} must be a positive {'whole ' if kind is int else ''}number, "
            f"got {value!r}."
        ) from exc
    if number <= 0:
        raise ConfigurationError(f"Setting {name!r} must be a positive number, got {value!r}.")
    return number


def _parse_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    text = str(value).strip().lower()
    if text not in choices:
        raise ConfigurationError(
            f"Setting {name!r} must be one of {', '.join(choices)}; got {value!r}."
        )
    return text


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _parse_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ConfigurationError(
        f"Setting {name!r} must be true or false (or 1/0, yes/no, on/off); got {value!r}."
    )


def _parse_allowlist(name: str, value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise ConfigurationError(
            f"Setting {name!r} must be a list or a comma-separated string of module prefixes."
        )
    prefixes = []
    for item in items:
        prefix = str(item).strip()
        if not prefix:
            continue
        if prefix.startswith(".") or ".." in prefix or prefix.endswith("."):
            raise ConfigurationError(
                f"Setting {name!r} holds {prefix!r}: module prefixes must be absolute dotted names."
            )
        prefixes.append(prefix)
    return tuple(prefixes)


@dataclass(frozen=True)
class Settings:
    """Everything the engine reads from its deployment. Build with :meth:`load`."""

    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    openai_backend: str = "responses"
    # Where a new thread's conversation lives (backends/__init__.py): auto, openai, engine.
    conversation_state: str = "auto"
    # Engine-held conversations: the most tokens of history one model request carries.
    context_max_tokens: int = 32_000
    # The Responses backend's model for assistant records whose configuration names none.
    openai_model: str | None = None
    openai_timeout_seconds: float = 60.0
    region_name: str | None = None
    aws_access_key_id: str | None = field(default=None, repr=False)
    aws_secret_access_key: str | None = field(default=None, repr=False)
    dynamodb_endpoint: str | None = None
    table_prefix: str = "oae-"
    function_module_allowlist: tuple[str, ...] = ()
    run_driver: str = "auto"
    tool_timeout_seconds: float = 30.0
    max_tool_rounds: int = 10
    tool_instance_cache_size: int = 128
    http_idle_timeout_seconds: float = 30.0
    http_max_connections: int = 64
    # Schema introspection (GraphiQL, codegen, gql): on for development; off in production.
    graphql_introspection: bool = True
    embedding_model: str | None = None
    # Identity (see identity/): bearer API keys (hashed entries) and/or JWTs from a JWKS.
    api_keys: tuple[ApiKeyEntry, ...] = field(default=(), repr=False)
    jwt_jwks_url: str | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    identity_tenant_claim: str = "tenant"
    identity_admin_role: str = "admin"
    # The local server: browser origins allowed to call it, and the largest request body.
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = 1_000_000
    # Runs without polling (unattended/): the SQS queue askOpenAi puts each run on, and
    # how its worker follows a run. The endpoint: this, else boto3's AWS_ENDPOINT_URL_SQS.
    run_queue_url: str | None = None
    sqs_endpoint: str | None = None
    # The queue's redrive maxReceiveCount: the last receive records the run as failed.
    run_queue_max_receives: int = 5
    # How long one worker invocation follows a run before putting it back on the queue,
    # how long it waits on the queue before the next look, and the run's age past which
    # it is no longer put back (the sweep ends it).
    run_queue_follow_seconds: float = 20.0
    run_queue_delay_seconds: int = 5
    run_queue_max_age_seconds: float = 3600.0
    # OpenAI webhooks (POST /webhooks/openai): the signing secret, whsec_...
    openai_webhook_secret: str | None = field(default=None, repr=False)
    # A signed POST to this URL when a run ends (HTTPS; http only for loopback hosts).
    run_webhook_url: str | None = None
    run_webhook_secret: str | None = field(default=None, repr=False)

    @classmethod
    def load(
        cls,
        setting: Mapping[str, Any] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        env_file: str | os.PathLike[str] | None = ".env",
    ) -> Settings:
        """Resolve each setting: ``setting`` kwargs > environment > ``env_file``.

        Unknown keys in ``setting`` are ignored: SilvaEngine's settings groups carry
        keys meant for other modules. The secret values are registered for redaction
        from every log line of the process (``log_redaction``): every entry point (the
        engine, ``create_tables``, the CLI, Lambda) loads its settings here.
        """
        explicit = {str(k).lower(): v for k, v in (setting or {}).items()}
        environment = os.environ if environ is None else environ
        dotenv = _read_env_file(env_file)
        raw: dict[str, Any] = {}
        for spec in fields(cls):
            value = _lookup(spec.name, explicit, environment, dotenv)
            if value is not None and value != "":
                raw[spec.name] = value
        settings = cls.from_raw(raw)
        redact_secrets_in_logs(settings.secret_values())
        return settings

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> Settings:
        values: dict[str, Any] = {}
        for name, value in raw.items():
            if name == "openai_backend":
                values[name] = _parse_choice(name, value, BACKENDS)
            elif name == "conversation_state":
                values[name] = _parse_choice(name, value, CONVERSATION_STATES)
            elif name == "run_driver":
                values[name] = _parse_choice(name, value, RUN_DRIVERS)
            elif name in _FLOAT_SETTINGS:
                values[name] = _parse_positive_number(name, value, float)
            elif name in _INT_SETTINGS:
                values[name] = _parse_positive_number(name, value, int)
            elif name == "graphql_introspection":
                values[name] = _parse_bool(name, value)
            elif name == "function_module_allowlist":
                values[name] = _parse_allowlist(name, value)
            elif name == "table_prefix":
                values[name] = _parse_table_prefix(value)
            elif name == "api_keys":
                values[name] = parse_api_keys(value)
            elif name == "cors_origins":
                values[name] = _parse_origins(value)
            elif name == "max_body_bytes":
                values[name] = _parse_positive_number(name, value, int)
            elif name == "run_queue_delay_seconds":
                values[name] = _parse_delay(name, value)
            else:
                values[name] = _parse_str(name, value)
        return cls(**values)

    @property
    def identity_configured(self) -> bool:
        """Whether callers must say who they are (API keys or JWTs are configured)."""
        return bool(self.api_keys or self.jwt_jwks_url)

    @property
    def effective_run_driver(self) -> str:
        """`auto` polls on Lambda (background threads freeze there) and streams elsewhere."""
        if self.run_driver != "auto":
            return self.run_driver
        return "poll" if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") else "stream"

    def secret_values(self) -> tuple[str, ...]:
        """The values that must never appear in a response or a log line.

        Real keys are long (an AWS key id has 20 characters); a short value such as a
        local DynamoDB's "testing" is no secret, and redacting it would garble records
        that happen to contain the word.
        """
        return tuple(
            value
            for name in _SECRET_SETTINGS
            if (value := getattr(self, name)) and len(value) >= _MIN_SECRET_LENGTH
        )


def _parse_delay(name: str, value: Any) -> int:
    if str(value).strip() == "0":
        return 0
    delay = _parse_positive_number(name, value, int)
    if delay > _MAX_QUEUE_DELAY_SECONDS:
        raise ConfigurationError(
            f"Setting {name!r} is at most {_MAX_QUEUE_DELAY_SECONDS} (SQS's longest delay); "
            f"got {value!r}."
        )
    return int(delay)


def _parse_table_prefix(value: Any) -> str:
    text = str(value).strip()
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")
    if not text or not set(text) <= allowed:
        raise ConfigurationError(
            "Setting 'table_prefix' may hold only letters, digits, '_', '-' and '.'; "
            f"got {value!r}."
        )
    return text


def _parse_origins(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ConfigurationError(
            "Setting 'cors_origins' must be a list or a comma-separated string of origins."
        )
    origins = []
    for item in items:
        origin = str(item).strip().rstrip("/")
        if not origin:
            continue
        if origin == "*" or not origin.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"Setting 'cors_origins' holds {origin!r}: name each origin as "
                "scheme://host[:port] ('*' is not allowed: it would let any page call)."
            )
        origins.append(origin)
    return tuple(origins)


def _lookup(
    name: str,
    explicit: Mapping[str, Any],
    environment: Mapping[str, str],
    dotenv: Mapping[str, str | None],
) -> Any:
    if explicit.get(name) not in (None, ""):
        return explicit[name]
    for source in (environment, dotenv):
        for key in (name, name.upper()):
            value = source.get(key)
            if value not in (None, ""):
                return value
    return None


def _read_env_file(env_file: str | os.PathLike[str] | None) -> Mapping[str, str | None]:
    if env_file is None:
        return {}
    path = Path(env_file)
    if not path.is_file():
        return {}
    from dotenv import dotenv_values  # imported here: only needed when a file exists

    return dotenv_values(path)
