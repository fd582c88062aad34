"""`oae threads migrate`: Assistants-era threads on the sandbox, moved by the command.

The threads are recorded the way tests/test_thread_migration.py records them (an
Assistants conversation on the sandbox, a tool call included), in tables of a prefix of
this test's own, so `--all` sees exactly the threads the test made. The command runs in
this process (`main([...])`), its settings given by the environment as a user's would be.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openai_assistant_engine import create_tables
from openai_assistant_engine.cli import main
from openai_assistant_engine.cli.console import _QUIET_LOGGERS
from openai_assistant_engine.cli.threads import _ProgressBar

from .test_thread_migration import assistants_thread

# Distinctive values, so the output can be searched for them: none may be printed.
OPENAI_KEY = "sk-sandbox-cli-threads-secret"
AWS_SECRET = "aws-secret-cli-threads-never-shown"


@pytest.fixture(autouse=True)
def _logger_levels() -> Iterator[None]:
    """The command quiets the SDKs' and the engine's loggers: put them back after."""
    names = (*_QUIET_LOGGERS, "openai_assistant_engine")
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def own_tables(conversation_tables: dict[str, str]) -> dict[str, str]:
    """The moto server's settings with a fresh table set: no other test's threads."""
    setting = {**conversation_tables, "table_prefix": f"clithreads-{uuid.uuid4().hex[:10]}-"}
    create_tables(**setting)
    return setting


@pytest.fixture
def oae_env(
    own_tables: dict[str, str],
    openai_sandbox: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> dict[str, str]:
    """The command's settings in the environment (as a user sets them), no .env read."""
    environment = {
        "DYNAMODB_ENDPOINT": own_tables["dynamodb_endpoint"],
        "REGION_NAME": own_tables["region_name"],
        "TABLE_PREFIX": own_tables["table_prefix"],
        "AWS_ACCESS_KEY_ID": "cli-threads",
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
        "OPENAI_API_KEY": OPENAI_KEY,
        "OPENAI_BASE_URL": openai_sandbox.base_url,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    return own_tables


def record_threads(make_chat: Any, tables: dict[str, str], count: int) -> list[tuple[Any, str]]:
    """``count`` Assistants threads (2 turns, 4 messages, 1 tool call each) in ``tables``."""

    def in_tables(*args: Any, **settings: Any) -> Any:
        return make_chat(*args, **settings, table_prefix=tables["table_prefix"])

    return [assistants_thread(in_tables) for _ in range(count)]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["threads", "migrate", *argv])
    out, err = capsys.readouterr()
    for secret in (OPENAI_KEY, AWS_SECRET):
        assert secret not in out and secret not in err
    return status, out, err


def backend_of(chat: Any, thread_id: str) -> tuple[str, str | None]:
    record = chat.engine.store.get_thread(chat.assistant_id, thread_id)
    return record["backend"], record.get("conversation_state")


# ------------------------------------------------------------------------------ usage
def test_threads_migrate_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["threads", "migrate", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "usage: oae threads migrate" in text
    for option in ("--to BACKEND", "--state STATE", "--all", "--thread-id ID", "--dry-run"):
        assert option in text
    assert main(["threads"]) == 2
    assert "migrate" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--to", "chat"], "--all, or --assistant-id and --thread-id"),
        (["--to", "chat", "--thread-id", "thread_1"], "--all, or --assistant-id and"),
        (["--to", "chat", "--all", "--thread-id", "thread_1"], "not both"),
        (["--to", "chat", "--all", "--state", "openai"], "--state applies to --to responses"),
    ],
)
def test_threads_migrate_says_what_is_wrong_with_its_options(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["threads", "migrate", *argv]) == 1
    assert says in capsys.readouterr().err


def test_threads_migrate_refuses_a_backend_it_cannot_move_to(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["threads", "migrate", "--all", "--to", "assistants"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'assistants'" in capsys.readouterr().err


def test_threads_migrate_reports_missing_tables(
    oae_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    status, _out, err = run(capsys, "--all", "--to", "chat", "--table-prefix", "nothing-here-")
    assert status == 1
    assert "is missing (table_prefix 'nothing-here-')" in err and "oae tables create" in err
    assert "Traceback" not in err


# ------------------------------------------------------------------------------ --all
def test_a_dry_run_of_all_counts_and_writes_nothing(
    make_chat: Any, oae_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    threads = record_threads(make_chat, oae_env, 2)

    status, out, err = run(capsys, "--all", "--to", "chat", "--dry-run")

    assert status == 0, out + err
    lines = out.splitlines()
    for chat, thread_id in threads:
        line = f"would move  {chat.assistant_id}/{thread_id}: assistants/openai -> chat/engine"
        assert f"{line} (4 messages, 1 tool call)" in lines
        assert backend_of(chat, thread_id) == ("assistants", "openai")
        assert "migrated_from" not in chat.engine.store.get_thread(chat.assistant_id, thread_id)
    assert lines[-1] == (
        "Dry run, nothing written. 2 threads: moved 0, already there 0, would move 2 "
        "(dry run), failed 0; would carry 8 messages and 2 tool calls."
    )
    assert "progress: 100% (2/2 threads)" in err.splitlines()  # stderr is no terminal here


def test_all_to_chat_moves_every_thread_and_a_second_run_finds_them_there(
    make_chat: Any, oae_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    threads = record_threads(make_chat, oae_env, 3)

    status, out, err = run(capsys, "--all", "--to", "chat")

    assert status == 0, out + err
    assert out.count("moved       ") == 3
    assert out.splitlines()[-1] == (
        "3 threads: moved 3, already there 0, would move 0 (dry run), failed 0; "
        "carried 12 messages and 3 tool calls."
    )
    for chat, thread_id in threads:
        assert backend_of(chat, thread_id) == ("chat", "engine")
    # Not a terminal: one line per 10 % reached (33, 66, 100 here), the last at 100 %.
    progress = [line for line in err.splitlines() if line.startswith("progress: ")]
    assert progress == [
        "progress: 33% (1/3 threads)",
        "progress: 66% (2/3 threads)",
        "progress: 100% (3/3 threads)",
    ]

    status, out, _err = run(capsys, "--all", "--to", "chat")
    assert status == 0
    assert out.splitlines() == [
        "3 threads: moved 0, already there 3, would move 0 (dry run), failed 0; "
        "carried 0 messages and 0 tool calls."
    ]
    chat, thread_id = threads[0]
    _, run_record = chat.converse("after the command", thread_id)  # goes on, on chat
    assert run_record["status"] == "completed"
    assert chat.last_message(thread_id)["message"] == "Echo: after the command"


def test_a_busy_thread_fails_on_its_own_line_while_the_others_move(
    make_chat: Any, oae_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    threads = record_threads(make_chat, oae_env, 3)
    busy_chat, busy_id = threads[1]
    busy_chat.ask("steps:50\nslow one", busy_id)

    status, out, err = run(capsys, "--all", "--to", "chat")

    assert status == 1, out + err
    (failure,) = [line for line in out.splitlines() if line.startswith("failed")]
    assert failure.startswith(f"failed      {busy_chat.assistant_id}/{busy_id}: ")
    assert "(status in_progress)" in failure and "(409 CONFLICT)" in failure
    assert out.splitlines()[-1].startswith("3 threads: moved 2, already there 0")
    assert "failed 1;" in out.splitlines()[-1]
    assert "1 failed" in err  # the progress lines count the failures too
    for chat, thread_id in threads:
        expected = ("assistants", "openai") if thread_id == busy_id else ("chat", "engine")
        assert backend_of(chat, thread_id) == expected


# ------------------------------------------------------------------------------ one thread
def test_one_thread_moves_into_an_openai_conversation(
    make_chat: Any, oae_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    (chat, thread_id), (other, other_id) = record_threads(make_chat, oae_env, 2)
    named = ["--assistant-id", chat.assistant_id, "--thread-id", thread_id]

    status, out, err = run(capsys, *named, "--to", "responses")

    assert status == 0, out + err
    (line, summary) = out.splitlines()
    assert line.startswith(f"moved       {chat.assistant_id}/{thread_id}: assistants/openai")
    assert "-> responses/openai (4 messages, 1 tool call), upstream conv_" in line
    assert summary.startswith("1 thread: moved 1,")
    assert "progress" not in err  # one thread: no bar
    assert backend_of(chat, thread_id) == ("responses", "openai")
    assert backend_of(other, other_id) == ("assistants", "openai")  # only the one named


def test_an_unknown_thread_is_reported_and_fails_the_command(
    oae_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    named = ["--assistant-id", "asst_nobody", "--thread-id", "thread_nobody"]
    status, out, _err = run(capsys, *named, "--to", "responses", "--state", "engine")
    assert status == 1
    assert out.splitlines()[0].startswith("failed      asst_nobody/thread_nobody: ")
    assert "(404 NOT_FOUND)" in out
    assert "failed 1;" in out.splitlines()[-1]


# ------------------------------------------------------------------------------ the bar
class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_bar_is_redrawn_in_place_on_a_terminal() -> None:
    stream = _Terminal()
    bar = _ProgressBar(stream, 4)
    bar.update(1)
    bar.update(2, failed=1)
    bar.clear()
    bar.update(4, failed=1)
    bar.finish()
    text = stream.getvalue()
    assert "\r[#######-----------------------]  25%  1/4 threads" in text
    assert "\r[###############---------------]  50%  2/4 threads, 1 failed" in text
    assert text.endswith("\r[##############################] 100%  4/4 threads, 1 failed\n")
    assert text.count("\n") == 1


def test_elsewhere_the_bar_is_one_line_per_tenth() -> None:
    stream = io.StringIO()
    bar = _ProgressBar(stream, 40)
    for done in range(1, 41):
        bar.update(done)
    bar.finish()
    lines = stream.getvalue().splitlines()
    assert lines == [f"progress: {p}% ({p * 40 // 100}/40 threads)" for p in range(10, 101, 10)]
