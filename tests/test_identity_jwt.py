"""JWTs checked with PyJWT against a JWKS served on loopback from a key made here."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from openai_assistant_engine import OpenaiAssistantEngine

from .graphql_calls import call

ISSUER = "https://issuer.test/pool"
AUDIENCE = "oae-tests"
THREAD_LIST = "query { threadList { total threadList { threadId } } }"
PING = "query { ping }"


class _Keys:
    def __init__(self) -> None:
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        self.jwks = {"keys": [{**jwk, "kid": "test-key", "use": "sig", "alg": "RS256"}]}

    def token(
        self, *, key: Any = None, headers: dict[str, Any] | None = None, **claims: Any
    ) -> str:
        now = int(time.time())
        payload = {
            "sub": "user-1",
            "tenant": "acme",
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 300,
            **claims,
        }
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(
            payload,
            key or self.private,
            algorithm="RS256",
            headers={"kid": "test-key", **(headers or {})},
        )


@pytest.fixture(scope="module")
def keys() -> _Keys:
    return _Keys()


@pytest.fixture(scope="module")
def jwks_url(keys: _Keys) -> Iterator[str]:
    body = json.dumps(keys.jwks).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # A short poll: shutdown() waits for serve_forever to notice (0.5 s by default).
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    server.shutdown()
    server.server_close()


@pytest.fixture
def engine(dynamo_settings: dict[str, str], jwks_url: str) -> OpenaiAssistantEngine:
    return OpenaiAssistantEngine(
        logging.getLogger("oae.tests"),
        **dynamo_settings,
        jwt_jwks_url=jwks_url,
        jwt_audience=AUDIENCE,
        jwt_issuer=ISSUER,
    )


def _as(engine: OpenaiAssistantEngine, token: str, query: str = PING) -> dict[str, Any]:
    return call(engine, query, authorization=f"Bearer {token}")


def test_a_token_signed_by_the_jwks_is_accepted(engine: OpenaiAssistantEngine, keys: _Keys) -> None:
    answer = _as(engine, keys.token())
    assert answer["status_code"] == 200, answer
    # The caller is the token's: a thread it records belongs to its tenant and user.
    made = call(
        engine,
        """mutation { insertUpdateThread(assistantId: "a", threadId: "jwt-thread",
             assistantType: "t", updatedBy: "") { thread { threadId updatedBy } } }""",
        authorization=f"Bearer {keys.token()}",
    )
    assert made["data"]["insertUpdateThread"]["thread"]["updatedBy"] == "user-1"
    record = engine.store.get_thread("a", "jwt-thread")
    assert (record["owner"], record["tenant"]) == ("user-1", "acme")
    mine = _as(engine, keys.token(), THREAD_LIST)["data"]["threadList"]
    assert [t["threadId"] for t in mine["threadList"]] == ["jwt-thread"]
    theirs = _as(engine, keys.token(tenant="globex"), THREAD_LIST)["data"]["threadList"]
    assert theirs["total"] == 0


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("expired", "Signature has expired"),
        ("wrong audience", "Audience"),
        ("wrong issuer", "ssuer"),
        ("bad signature", "Signature verification failed"),
        ("alg none", "not valid"),
        ("hmac with the public key", "not valid"),
        ("no subject", "sub"),
        ("garbage", "not valid"),
    ],
)
def test_a_bad_token_is_401(
    engine: OpenaiAssistantEngine, keys: _Keys, case: str, message: str
) -> None:
    public_pem = keys.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(time.time())
    token = {
        "expired": lambda: keys.token(iat=now - 4000, exp=now - 3600),
        "wrong audience": lambda: keys.token(aud="someone-else"),
        "wrong issuer": lambda: keys.token(iss="https://evil.test/"),
        "bad signature": lambda: keys.token(key=keys.other),
        "alg none": lambda: jwt.encode(
            {"sub": "root", "tenant": "acme", "aud": AUDIENCE, "iss": ISSUER, "exp": now + 60},
            None,
            algorithm="none",
            headers={"kid": "test-key"},
        ),
        # The classic confusion: the RSA public key used as an HMAC secret.
        "hmac with the public key": lambda: _hmac_token(public_pem, now),
        "no subject": lambda: keys.token(sub=None),
        "garbage": lambda: "not.a.token",
    }[case]()
    answer = _as(engine, token)
    assert answer["status_code"] == 401, answer
    error = answer["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert message in error["message"]
    assert token not in json.dumps(answer)


def _hmac_token(secret: bytes, now: int) -> str:
    import base64
    import hashlib
    import hmac

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    signing_input = ".".join(
        [
            part({"alg": "HS256", "typ": "JWT", "kid": "test-key"}),
            part(
                {"sub": "root", "tenant": "acme", "aud": AUDIENCE, "iss": ISSUER, "exp": now + 60}
            ),
        ]
    )
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


def test_no_token_is_401(engine: OpenaiAssistantEngine) -> None:
    answer = call(engine, PING)
    assert answer["status_code"] == 401
    assert "Authorization: Bearer" in answer["errors"][0]["message"]


def test_roles_and_cognito_groups_make_an_admin(engine: OpenaiAssistantEngine, keys: _Keys) -> None:
    insert = """mutation { insertUpdateAssistant(assistantType: "t", assistantId: "a",
        assistantName: "n", functions: [], updatedBy: "") { assistant { assistantId } } }"""
    assert _as(engine, keys.token(), insert)["status_code"] == 403
    assert _as(engine, keys.token(roles=["admin"]), insert)["status_code"] == 200
    assert _as(engine, keys.token(**{"cognito:groups": ["admin"]}), insert)["status_code"] == 200


def test_the_tenant_claim_is_a_setting(
    dynamo_settings: dict[str, str], jwks_url: str, keys: _Keys
) -> None:
    engine = OpenaiAssistantEngine(
        logging.getLogger("oae.tests"),
        **dynamo_settings,
        jwt_jwks_url=jwks_url,
        jwt_audience=AUDIENCE,
        identity_tenant_claim="custom:org",
    )
    assert _as(engine, keys.token(**{"custom:org": "acme"}))["status_code"] == 200
    answer = _as(engine, keys.token())
    assert answer["status_code"] == 401 and "custom:org" in answer["errors"][0]["message"]
