"""Identity settings fail at construction, naming the setting; `oae keys create`."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from openai_assistant_engine import OpenaiAssistantEngine
from openai_assistant_engine.cli import main
from openai_assistant_engine.config import Settings
from openai_assistant_engine.errors import ConfigurationError
from openai_assistant_engine.identity.api_keys import hash_key

from .graphql_calls import call


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"api_keys": "[{]"}, "'api_keys' is not valid JSON"),
        ({"api_keys": '[{"hash": "oae_plain", "user": "u", "tenant": "t"}]'}, "sha256:"),
        ({"api_keys": json.dumps([{"hash": hash_key("k"), "user": "u"}])}, "'tenant'"),
        ({"api_keys": "/nowhere/keys.json"}, "neither a JSON list nor a file"),
        ({"cors_origins": "*"}, "'*' is not allowed"),
        ({"cors_origins": "evil.example"}, "scheme://host"),
        ({"max_body_bytes": "0"}, "'max_body_bytes' must be a positive number"),
    ],
)
def test_malformed_identity_settings_name_themselves(raw: dict, expected: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.load(raw, environ={}, env_file=None)
    assert expected in caught.value.message


def test_identity_settings_parse() -> None:
    settings = Settings.load(
        {"cors_origins": "http://localhost:3000/, https://a.example", "max_body_bytes": 2048},
        environ={},
        env_file=None,
    )
    assert settings.cors_origins == ("http://localhost:3000", "https://a.example")
    assert settings.max_body_bytes == 2048
    assert not settings.identity_configured
    defaults = Settings.load({}, environ={}, env_file=None)
    assert (defaults.cors_origins, defaults.max_body_bytes) == ((), 1_000_000)
    assert (defaults.identity_tenant_claim, defaults.identity_admin_role) == ("tenant", "admin")


def test_keys_create_prints_the_key_once_and_keeps_its_hash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dynamo_settings: dict[str, str]
) -> None:
    keys_file = tmp_path / "keys.json"
    arguments = ["keys", "create", "--user", "ann", "--tenant", "acme", "--file", str(keys_file)]
    assert main(arguments) == 0
    key = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("oae_"))
    assert (
        main([*arguments[:3], "boss", "--tenant", "acme", "--admin", "--file", str(keys_file)]) == 0
    )
    stored = keys_file.read_text()
    assert key not in stored  # only its hash
    entries = json.loads(stored)
    assert [(e["user"], e["admin"]) for e in entries] == [("ann", False), ("boss", True)]
    assert entries[0]["hash"] == hash_key(key)
    assert keys_file.stat().st_mode & 0o077 == 0
    engine = OpenaiAssistantEngine(
        logging.getLogger("oae.tests"), **dynamo_settings, api_keys=str(keys_file)
    )
    assert call(engine, "{ ping }", authorization=f"Bearer {key}")["status_code"] == 200
    assert call(engine, "{ ping }", authorization="Bearer oae_wrong")["status_code"] == 401


def test_the_identity_param_and_silvaengine_context(dynamo_settings: dict[str, str]) -> None:
    from openai_assistant_engine.identity import Caller

    insert = """mutation { insertUpdateThread(assistantId: "a", threadId: "param-thread",
        assistantType: "t", updatedBy: "") { thread { updatedBy } } }"""
    get = """query { thread(assistantId: "a", threadId: "param-thread") { updatedBy } }"""
    engine = OpenaiAssistantEngine(logging.getLogger("oae.tests"), **dynamo_settings)
    made = call(engine, insert, identity=Caller(user="ann", tenant="acme"))
    assert made["data"]["insertUpdateThread"]["thread"]["updatedBy"] == "ann"
    assert call(engine, get, identity={"sub": "ann", "tenant": "acme"})["status_code"] == 200
    assert call(engine, get, identity={"sub": "bob", "tenant": "acme"})["status_code"] == 404
    # SilvaEngine's context: the API Gateway request context with its authorizer's output.
    context = {"authorizer": {"claims": {"sub": "ann", "tenant": "acme"}}, "headers": {}}
    assert call(engine, get, context=context, endpoint_id="e")["status_code"] == 200
    context["authorizer"]["claims"]["tenant"] = "globex"
    assert call(engine, get, context=context)["status_code"] == 404
    # A context without an authorizer names nobody: identity stays off for that call.
    assert call(engine, get, context={"headers": {}})["status_code"] == 200
    # With keys configured, claims in the params (which a body may carry) name nobody.
    keyed = OpenaiAssistantEngine(
        logging.getLogger("oae.tests"),
        **dynamo_settings,
        api_keys=json.dumps([{"hash": hash_key("oae_x"), "user": "ann", "tenant": "acme"}]),
    )
    assert call(keyed, get, identity={"sub": "ann", "tenant": "acme"})["status_code"] == 401
    assert call(keyed, get, authorization="Bearer oae_x")["status_code"] == 200
