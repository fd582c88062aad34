"""The smaller first-run stumbles: a local DynamoDB without keys, a busy port, an empty
embedded DynamoDB, the example settings."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

import pytest

from openai_assistant_engine import OpenaiAssistantEngine, contract_document, create_tables
from openai_assistant_engine.config import Settings
from openai_assistant_engine.store.connection import connection_options

ROOT = Path(__file__).resolve().parents[1]


def test_a_loopback_dynamodb_needs_no_aws_keys(moto_endpoint, monkeypatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-metadata wait
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    setting = {
        "dynamodb_endpoint": moto_endpoint,
        "table_prefix": f"nokeys-{uuid.uuid4().hex[:6]}-",
    }
    create_tables(**setting)
    engine = OpenaiAssistantEngine(logging.getLogger("oae.tests"), **setting)
    answer = json.loads(
        engine.open_assistant_graphql(
            query=contract_document(), operation_name="getAssistantList", variables={}
        )
    )
    assert answer["status_code"] == 200, answer
    assert answer["data"]["assistantList"]["total"] == 0


@pytest.mark.parametrize(
    ("endpoint", "dummy"),
    [
        ("http://127.0.0.1:8001", True),
        ("http://localhost:8001", True),
        ("http://[::1]:8001", True),
        ("https://dynamodb.eu-west-1.amazonaws.com", False),
        ("http://10.0.0.5:8000", False),
    ],
)
def test_only_a_loopback_endpoint_gets_dummy_keys(endpoint, dummy) -> None:
    settings = Settings.load({"dynamodb_endpoint": endpoint}, environ={}, env_file=None)
    options = connection_options(settings)
    assert (options.aws_access_key_id is not None) is dummy
    given = Settings.load(
        {
            "dynamodb_endpoint": endpoint,
            "aws_access_key_id": "AKIAEXAMPLEKEY12345",
            "aws_secret_access_key": "secret-value-example",
        },
        environ={},
        env_file=None,
    )
    assert connection_options(given).aws_access_key_id == "AKIAEXAMPLEKEY12345"


def test_the_example_settings_do_not_put_dynamodb_on_the_servers_port() -> None:
    text = (ROOT / ".env.example").read_text()
    assert "127.0.0.1:8000" not in text and "localhost:8000" not in text
