"""Fixtures: a fresh sandbox per test and an official SDK client pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openai import OpenAI

from openai_assistant_engine.sandbox import SandboxServer


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[OpenAI]:
    # One retry keeps fault tests fast; the sandbox asks for 10 ms between retries.
    with OpenAI(api_key="sk-sandbox", base_url=sandbox.base_url, max_retries=1) as sdk:
        yield sdk
