"""AWS Lambda entry point: ``openai_assistant_engine.aws_lambda.handler``.

Takes API Gateway REST (v1) and HTTP API (v2) proxy events, whose body may be base64,
and direct invocations ``{"query", "variables", "operation_name"}``. A proxy event gets a
proxy response (``statusCode`` = the engine's ``status_code``, CORS headers on every
answer); a direct invocation gets the response dict itself.

Settings come from the function's environment. The OpenAI key may instead live in AWS
Secrets Manager: set ``OPENAI_API_KEY_SECRET_ID`` to the secret's ARN or name and the key
is read once per container, so it appears neither in the template nor in the function's
configuration. The secret is either the bare key or JSON holding ``openai_api_key``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

from .config import Settings
from .engine import OpenaiAssistantEngine
from .errors import ConfigurationError, EngineError, UpstreamError
from .request_json import UnreadableJson, parse_json_object

__all__ = ["SECRET_ID_VARIABLE", "handler"]

SECRET_ID_VARIABLE = "OPENAI_API_KEY_SECRET_ID"
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization, X-Api-Key",
    "Access-Control-Max-Age": "600",
}
# Every answer is the state of a conversation at that moment: no cache may replay it.
NO_STORE = {"Cache-Control": "no-store"}
_logger = logging.getLogger(__name__)


class _EngineHolder:
    """The container's one engine, built on the first event and reused by every later one.

    This is the module's only mutable state, on purpose: Lambda keeps a container warm
    between events, and rebuilding the engine per event would rebuild its DynamoDB and
    OpenAI clients (and re-read the secret) every time. A failed build is not cached, so
    the next event tries again.
    """

    def __init__(self, factory: Callable[[], OpenaiAssistantEngine]) -> None:
        self._factory = factory
        self._engine: OpenaiAssistantEngine | None = None
        self._lock = threading.Lock()

    def get(self) -> OpenaiAssistantEngine:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = self._factory()
        return self._engine

    def reset(self) -> None:
        """Forget the engine (tests change the environment between cases)."""
        with self._lock:
            self._engine = None


def _build_engine() -> OpenaiAssistantEngine:
    setting: dict[str, Any] = {}
    secret_id = os.environ.get(SECRET_ID_VARIABLE, "").strip()
    # An explicit key (environment or .env) wins over the secret.
    if secret_id and not Settings.load({}).openai_api_key:
        setting["openai_api_key"] = _read_secret(secret_id)
    # run_driver stays as configured: its `auto` already polls when AWS_LAMBDA_FUNCTION_NAME
    # is set, because background threads freeze between Lambda events.
    return OpenaiAssistantEngine(logging.getLogger("openai_assistant_engine"), **setting)


def _read_secret(secret_id: str) -> str:
    import boto3  # imported here: only deployments that keep the key in a secret need it

    try:
        value = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)
    except Exception as exc:
        raise UpstreamError(
            f"Could not read the OpenAI key from the secret named by {SECRET_ID_VARIABLE} "
            f"({type(exc).__name__}); check the secret exists and the function may read it."
        ) from exc
    text = (value.get("SecretString") or "").strip()
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            document = {}
        text = str(document.get("openai_api_key") or document.get("OPENAI_API_KEY") or "")
    if not text:
        raise ConfigurationError(
            f"The secret named by {SECRET_ID_VARIABLE} is empty: store the OpenAI key as "
            'the secret string, or as JSON {"openai_api_key": "..."}.'
        )
    return text


_ENGINE = _EngineHolder(_build_engine)


def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """Lambda handler for API Gateway v1/v2 proxy events and direct invocations."""
    if not isinstance(event, Mapping):
        message = "The event must be a JSON object with query, variables, operation_name."
        return json.loads(_error(400, "BAD_REQUEST", message)[1])
    if _is_proxy_event(event):
        return _handle_proxy(event)
    # Through JSON text and back: plain JSON values only, and secrets redacted.
    return json.loads(_respond(event)[1])


# ---------------------------------------------------------------------------- proxy events
def _is_proxy_event(event: Mapping[str, Any]) -> bool:
    return "httpMethod" in event or "routeKey" in event or "http" in _request_context(event)


def _request_context(event: Mapping[str, Any]) -> Mapping[str, Any]:
    context = event.get("requestContext")
    return context if isinstance(context, Mapping) else {}


def _method(event: Mapping[str, Any]) -> str:
    http = _request_context(event).get("http")
    if isinstance(http, Mapping) and http.get("method"):
        return str(http["method"]).upper()
    return str(event.get("httpMethod") or "POST").upper()


def _handle_proxy(event: Mapping[str, Any]) -> dict[str, Any]:
    if _method(event) == "OPTIONS":
        return {"statusCode": 204, "headers": {**CORS_HEADERS, **NO_STORE}, "body": ""}
    try:
        payload = _read_body(event)
    except _UnreadableBody as exc:
        status, body = _error(400, "BAD_REQUEST", str(exc))
    else:
        status, body = _respond(payload)
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **CORS_HEADERS, **NO_STORE},
        "body": body,
        "isBase64Encoded": False,
    }


class _UnreadableBody(Exception):
    pass


def _read_body(event: Mapping[str, Any]) -> Mapping[str, Any]:
    body = event.get("body")
    if body is None or body == "":
        return {}
    if isinstance(body, Mapping):  # some test tools hand the body over already parsed
        return body
    raw: bytes | str = body
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(str(body), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _UnreadableBody("The request body is marked base64 but is not.") from exc
    try:
        return parse_json_object(raw)
    except UnreadableJson as exc:
        raise _UnreadableBody(str(exc)) from None


# ---------------------------------------------------------------------------- engine calls
def _respond(payload: Mapping[str, Any]) -> tuple[int, str]:
    """Status and JSON response text for one payload, or an error if the engine cannot start."""
    try:
        engine = _ENGINE.get()
    except EngineError as exc:
        _logger.error("The engine could not be built: %s", exc.message)
        return _error(exc.status, exc.code, exc.message)
    except Exception:
        _logger.exception("The engine could not be built")
        message = "Internal server error: the engine could not start; the function log has details."
        return _error(500, "INTERNAL_ERROR", message)
    response = engine.execute(payload)
    return int(response.get("status_code", 500)), engine.to_json(response)


def _error(status: int, code: str, message: str) -> tuple[int, str]:
    """The contract's error shape, made here when there is no engine to make it."""
    errors = [{"message": message, "extensions": {"code": code}}]
    return status, json.dumps({"errors": errors, "status_code": status})
