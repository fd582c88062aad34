"""The `oae` command: every subcommand, the long-running ones as real subprocesses."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from openai_assistant_engine import __version__
from openai_assistant_engine.cli import main
from openai_assistant_engine.config import Settings
from openai_assistant_engine.errors import ConfigurationError
from openai_assistant_engine.local_dynamodb import EmbeddedDynamoDB, wants_embedded_dynamodb

# Settings that would point a child process at a DynamoDB or OpenAI: removed, so the
# child embeds its own DynamoDB and uses the sandbox.
_SETTING_VARIABLES = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "REGION_NAME",
    "DYNAMODB_ENDPOINT",
    "TABLE_PREFIX",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_BACKEND",
}


def child_environment() -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key.upper() not in _SETTING_VARIABLES and not key.startswith("PYTEST")
    }
    # The checkout's root stays off the path: the demo tools must come from the package.
    env.pop("PYTHONPATH", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_oae(*args: str, stdin: str = "", timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`oae ARGS` in a fresh process, in an empty directory (no stray .env is read)."""
    with tempfile.TemporaryDirectory(prefix="oae-cli-") as workdir:
        return subprocess.run(
            [sys.executable, "-m", "openai_assistant_engine.cli", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=workdir,
            env=child_environment(),
        )


@contextlib.contextmanager
def start_serve(*args: str, timeout: float = 60) -> Iterator[str]:
    """`oae serve --port 0 ARGS` as a subprocess; yields its base URL; SIGTERM after."""
    with tempfile.TemporaryDirectory(prefix="oae-serve-") as workdir:
        stderr_path = Path(workdir) / "stderr.log"
        with stderr_path.open("w") as stderr:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "openai_assistant_engine.cli",
                    "serve",
                    "--port",
                    "0",
                    *args,
                ],
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                cwd=workdir,
                env=child_environment(),
            )
            lines: queue.Queue[str | None] = queue.Queue()

            def pump() -> None:
                assert process.stdout is not None
                for line in process.stdout:
                    lines.put(line)
                lines.put(None)

            threading.Thread(target=pump, daemon=True).start()
            try:
                url = _wait_for_url(lines, timeout, stderr_path)
                yield url
            finally:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            assert process.returncode == 0, stderr_path.read_text()


def _wait_for_url(lines: queue.Queue[str | None], timeout: float, stderr_path: Path) -> str:
    while True:
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("oae serve did not start in time") from None
        if line is None:
            raise AssertionError(f"oae serve exited early:\n{stderr_path.read_text()}")
        if line.startswith("Serving "):
            return line.split()[1]


def post_json(url: str, payload: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


# ------------------------------------------------------------------------------ help
@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["serve", "--help"],
        ["tables", "--help"],
        ["tables", "create", "--help"],
        ["schema", "--help"],
        ["chat", "--help"],
        ["demo", "--help"],
    ],
)
def test_every_command_has_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    assert "usage: oae" in capsys.readouterr().out


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"oae {__version__}"


def test_no_command_prints_usage_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "serve" in capsys.readouterr().err
    assert main(["tables"]) == 2


# ------------------------------------------------------------------------------ schema, tables
def test_schema_prints_the_sdl(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    sdl = capsys.readouterr().out
    assert "askOpenAi(" in sdl
    assert "type Query" in sdl


def test_tables_create_makes_every_table_once(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DYNAMODB_ENDPOINT", moto_endpoint)
    monkeypatch.setenv("REGION_NAME", "us-east-1")
    monkeypatch.setenv("TABLE_PREFIX", "cli-env-")
    assert main(["tables", "create"]) == 0
    first = capsys.readouterr().out
    for table in ("assistants", "threads", "runs", "messages", "tool_calls", "value_parts"):
        assert f"created  cli-env-{table}" in first
    assert "6 table(s) created." in first

    assert main(["tables", "create"]) == 0
    second = capsys.readouterr().out
    assert "exists   cli-env-assistants" in second
    assert "0 table(s) created." in second


def test_tables_create_options_win_over_the_environment(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TABLE_PREFIX", "never-used-")
    argv = ["tables", "create", "--dynamodb-endpoint", moto_endpoint, "--region", "us-east-1"]
    assert main([*argv, "--table-prefix", "cli-opt-"]) == 0
    out = capsys.readouterr().out
    assert "created  cli-opt-threads" in out
    assert "never-used-" not in out


def test_tables_create_reports_a_malformed_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RUN_DRIVER", "sometimes")
    assert main(["tables", "create"]) == 1
    assert "run_driver" in capsys.readouterr().err


def test_tables_create_without_any_dynamodb_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "REGION_NAME", "DYNAMODB_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.chdir(tmp_path)  # no .env here
    assert main(["tables", "create"]) == 1
    assert "--region or --dynamodb-endpoint" in capsys.readouterr().err


# ------------------------------------------------------------------------------ embedded DynamoDB
def test_embedded_dynamodb_is_wanted_only_when_no_dynamodb_setting_is_given() -> None:
    assert wants_embedded_dynamodb(Settings.from_raw({}))
    assert not wants_embedded_dynamodb(Settings.from_raw({"region_name": "eu-west-1"}))
    assert not wants_embedded_dynamodb(Settings.from_raw({"dynamodb_endpoint": "http://x:1"}))
    assert not wants_embedded_dynamodb(Settings.from_raw({"aws_access_key_id": "AKIA"}))


def test_embedded_dynamodb_without_moto_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "moto.server", None)  # makes the import fail
    with pytest.raises(ConfigurationError, match=r"openai-assistant-engine\[local\]"):
        EmbeddedDynamoDB().start()


# ------------------------------------------------------------------------------ serve
def test_serve_answers_graphql_the_page_and_health_then_stops_on_sigterm() -> None:
    with start_serve() as url:
        status, body = post_json(url + "/graphql", {"query": "query ping { ping }"})
        assert status == 200
        assert body["data"]["ping"].startswith("pong")

        status, body = post_json(url + "/graphql", {"query": "query { nothing }"})
        assert status == 400
        assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"

        with urllib.request.urlopen(url + "/", timeout=10) as response:
            assert "<textarea" in response.read().decode()
        with urllib.request.urlopen(url + "/healthz", timeout=10) as response:
            assert json.loads(response.read()) == {"status": "ok"}


# ------------------------------------------------------------------------------ demo, chat
def test_demo_runs_a_function_call_conversation_and_exits_zero() -> None:
    result = run_oae("demo")
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    assert "DynamoDB: embedded (moto)" in out
    for operation in ("insertUpdateAssistant", "askOpenAi", "getCurrentRun", "getLastMessage"):
        assert f"operationName={operation}" in out
    assert '"status": "completed"' in out
    assert 'get_weather({"city": "Paris", "unit": "celsius"}) -> {"city": "Paris"' in out
    assert "Demo finished" in out


def test_chat_shows_tool_calls_and_replies_until_quit() -> None:
    lines = [
        "hello",
        'call:get_weather {"city": "Tokyo"}',
        "/quit",
        "never sent",
    ]
    result = run_oae("chat", "--sandbox", stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    assert "assistant> Echo: hello" in out
    assert 'tool: get_weather({"city": "Tokyo"}) -> {"city": "Tokyo"' in out
    assert "assistant> Tool results: get_weather=" in out
    assert "never sent" not in out


def test_chat_ends_at_end_of_input() -> None:
    result = run_oae("chat", "--sandbox", stdin="hi\n")
    assert result.returncode == 0, result.stderr
    assert "assistant> Echo: hi" in result.stdout


def test_chat_without_an_assistant_says_what_is_missing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["chat"]) == 1
    assert "--assistant-type and --assistant-id" in capsys.readouterr().err


def test_chat_on_the_empty_embedded_dynamodb_says_why_and_what_to_set() -> None:
    result = run_oae("chat", "--assistant-type", "nobody", "--assistant-id", "asst_none")
    assert result.returncode == 1
    assert "embedded one starts empty" in result.stderr
    assert "nobody/asst_none" in result.stderr
    assert "dynamodb_endpoint" in result.stderr and "--sandbox" in result.stderr
    assert "Traceback" not in result.stderr


def test_chat_with_an_unknown_assistant_fails_clearly(
    dynamo_settings: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    for name, value in dynamo_settings.items():
        monkeypatch.setenv(name.upper(), value)
    assert main(["chat", "--assistant-type", "nobody", "--assistant-id", "asst_none"]) == 1
    assert "Finding the assistant failed (404)" in capsys.readouterr().err


def test_serve_on_a_busy_port_says_which_option_to_change() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_oae("serve", "--port", str(port), timeout=30)
    assert result.returncode == 1
    assert f"127.0.0.1:{port}" in result.stderr and "--port" in result.stderr
    assert "Traceback" not in result.stderr
    assert "DynamoDB:" not in result.stdout  # refused before anything was started
