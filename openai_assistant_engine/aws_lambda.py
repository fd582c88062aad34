"""AWS Lambda entry point: ``openai_assistant_engine.aws_lambda.handler``.

Takes API Gateway REST (v1) and HTTP API (v2) proxy events, whose body may be base64,
and direct invocations ``{"query", "variables", "operation_name"}``. A proxy event gets a
proxy response (``statusCode`` = the engine's ``status_code``, CORS headers on every
answer) under the rules of ``edge/http.py``, as ``oae serve`` answers: 415 for a POST
that is not JSON, GET for queries (405 for a mutation), ``Accept`` negotiated (406), a
body over ``max_body_bytes`` a 413. A direct invocation gets the response dict itself.

Settings come from the function's environment. The OpenAI key may instead live in AWS
Secrets Manager: set ``OPENAI_API_KEY_SECRET_ID`` to the secret's ARN or name and the key
is read once per container, so it appears neither in the template nor in the function's
configuration. The secret is either the bare key or JSON holding ``openai_api_key``.

Who calls: a proxy event's caller is the one its API Gateway authorizer names (HTTP API
JWT claims, a Lambda authorizer's context, Cognito claims, IAM), else its
``Authorization: Bearer`` header when ``api_keys`` or ``jwt_jwks_url`` are set. The body
cannot name a caller. A direct invocation (allowed by IAM) may pass ``identity``.

``queue_handler`` is the run queue's worker (an SQS event source; runs without polling).
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
from urllib.parse import parse_qs

from .config import Settings
from .edge import envelope
from .edge.http import (
    JSON_TYPE,
    HttpRefusal,
    answer_headers,
    check_body_size,
    check_post_content_type,
    cors_headers,
    get_payload_of_fields,
    method_not_allowed,
    response_media_type,
)
from .edge.payload import parse_body
from .engine import OpenaiAssistantEngine
from .errors import ConfigurationError, EngineError, UpstreamError

__all__ = ["SECRET_ID_VARIABLE", "handler", "queue_handler"]

SECRET_ID_VARIABLE = "OPENAI_API_KEY_SECRET_ID"
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
        return envelope.error_response(400, "BAD_REQUEST", message)
    if _is_proxy_event(event):
        return _handle_proxy(event)
    # Through JSON text and back: plain JSON values only, and secrets redacted.
    return json.loads(_respond(event)[1])


def queue_handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """The run queue's worker: an SQS event of run messages (unattended/worker.py).

    Answers the partial batch response (``batchItemFailures``: the event source mapping
    needs ``ReportBatchItemFailures``), so one failing run does not bring back the others.
    """
    from .unattended.worker import QueueWorker, handle_sqs_event

    remaining = None
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        remaining = context.get_remaining_time_in_millis() / 1000
    worker = QueueWorker(_ENGINE.get())
    return handle_sqs_event(worker, event, remaining)


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
    """The same answers as ``oae serve`` gives (edge/http.py), in a proxy response."""
    method = _method(event)
    if method == "OPTIONS":
        return _proxy_answer(204, "", None)
    media_type: str | None = JSON_TYPE
    try:
        payload = _read_payload(event, method)
        media_type = response_media_type(_header(event, "accept"))
    except HttpRefusal as refusal:
        response = envelope.error_response(refusal.status, refusal.code, refusal.message)
        return _proxy_answer(refusal.status, json.dumps(response), JSON_TYPE, refusal.allow)
    except EngineError as exc:  # a body that is not a JSON object
        return _proxy_answer(exc.status, json.dumps(envelope.engine_failure(exc)), JSON_TYPE)
    status, body = _respond(payload, event)
    return _proxy_answer(status, body, media_type)


def _proxy_answer(
    status: int, body: str, media_type: str | None, allow: str = "POST"
) -> dict[str, Any]:
    headers = {**answer_headers(status, media_type, allow=allow), **cors_headers("*")}
    return {"statusCode": status, "headers": headers, "body": body, "isBase64Encoded": False}


def _read_payload(event: Mapping[str, Any], method: str) -> Mapping[str, Any]:
    if method == "GET":
        return get_payload_of_fields(_query_fields(event))
    if method != "POST":
        raise method_not_allowed(method)
    check_post_content_type(_header(event, "content-type"))
    body = event.get("body")
    if isinstance(body, Mapping):  # some test tools hand the body over already parsed
        return body
    raw: bytes | str = body or ""
    if event.get("isBase64Encoded") and raw:
        try:
            raw = base64.b64decode(str(raw), validate=True)
        except (binascii.Error, ValueError):
            raise HttpRefusal(
                400, "BAD_REQUEST", "The request body is marked base64 but is not."
            ) from None
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass"))
    check_body_size(size, _max_body_bytes())
    return parse_body(raw)


def _query_fields(event: Mapping[str, Any]) -> Mapping[str, list[str]]:
    """The query string's fields: v2's raw string, v1's (multi-value) parameters."""
    raw = event.get("rawQueryString")
    if isinstance(raw, str):
        return parse_qs(raw, keep_blank_values=True)
    multi = event.get("multiValueQueryStringParameters")
    if isinstance(multi, Mapping):
        return {str(k): [str(v) for v in values or ()] for k, values in multi.items()}
    single = event.get("queryStringParameters")
    if isinstance(single, Mapping):
        return {str(k): [str(v)] for k, v in single.items()}
    return {}


def _max_body_bytes() -> int:
    try:
        return _ENGINE.get().settings.max_body_bytes
    except Exception:  # the engine cannot start: _respond reports why
        return Settings.max_body_bytes


# ---------------------------------------------------------------------------- engine calls
def _respond(payload: Mapping[str, Any], event: Mapping[str, Any] | None = None) -> tuple[int, str]:
    """Status and JSON response text for one payload, or an error if the engine cannot start.

    ``event``: the proxy event the payload came in, whose authorizer or header names the
    caller (never the payload itself).
    """
    try:
        engine = _ENGINE.get()
    except EngineError as exc:
        _logger.error("The engine could not be built: %s", exc.message)
        return exc.status, json.dumps(envelope.engine_failure(exc))
    except Exception:
        _logger.exception("The engine could not be built")
        message = "Internal server error: the engine could not start; the function log has details."
        return 500, json.dumps(envelope.error_response(500, "INTERNAL_ERROR", message))
    if event is None:
        response = engine.execute(payload)
    else:
        try:
            caller = engine.authenticator.caller(
                authorization=_header(event, "authorization"),
                request_context=_request_context(event),
            )
        except EngineError as exc:
            response = envelope.engine_failure(exc)
        else:
            response = engine.execute(payload, caller=caller)
    return int(response.get("status_code", 500)), engine.render(response)


def _header(event: Mapping[str, Any], name: str) -> str | None:
    headers = event.get("headers")
    if not isinstance(headers, Mapping):
        return None
    for key, value in headers.items():  # v1 keeps the client's spelling, v2 lowercases
        if str(key).lower() == name:
            return str(value)
    return None
