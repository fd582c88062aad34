"""Shared fixtures: moto's DynamoDB in server mode over real HTTP, one table set per test."""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

SPEC_DIR = Path(__file__).resolve().parents[2] / "shared" / "spec"
SPEC_DOCUMENT_PATH = SPEC_DIR / "openai_assistant_engine.graphql"

# No test may find real credentials or reach AWS by accident.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
    os.environ.pop(_name, None)
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"

_prefixes = itertools.count()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def dynamo_settings(moto_endpoint: str) -> dict[str, str]:
    """Settings for a fresh, empty table set on the moto server."""
    from openai_assistant_engine import create_tables

    setting = {
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "dynamodb_endpoint": moto_endpoint,
        "table_prefix": f"t{next(_prefixes)}-",
    }
    create_tables(**setting)
    return setting


@pytest.fixture
def spec_document() -> str:
    return SPEC_DOCUMENT_PATH.read_text()


@pytest.fixture
def test_logger() -> logging.Logger:
    return logging.getLogger("oae.tests")
