"""Settings: kwargs > environment (either case) > .env; malformed values fail naming the setting."""

from __future__ import annotations

from decimal import Decimal

import pytest

from openai_assistant_engine import OpenaiAssistantEngine
from openai_assistant_engine.config import Settings
from openai_assistant_engine.errors import ConfigurationError


@pytest.fixture
def env_file(tmp_path):
    path = tmp_path / ".env"
    path.write_text(
        "region_name=eu-west-1\n"
        "openai_api_key=sk-from-dotenv\n"
        "table_prefix=dotenv-\n"
        "embedding_model=text-embedding-3-small\n"
        "MAX_TOOL_ROUNDS=7\n"
    )
    return path


def test_defaults_apply_when_nothing_is_set(tmp_path):
    settings = Settings.load({}, environ={}, env_file=tmp_path / "absent.env")
    assert settings.openai_api_key is None
    assert settings.openai_backend == "responses"
    assert settings.openai_model is None
    assert settings.graphql_introspection is True
    assert settings.table_prefix == "oae-"
    assert settings.function_module_allowlist == ()
    assert settings.run_driver == "auto"
    assert settings.tool_timeout_seconds == 30.0
    assert settings.max_tool_rounds == 10
    assert settings.tool_instance_cache_size == 128
    assert settings.http_idle_timeout_seconds == 30.0
    assert settings.http_max_connections == 64


def test_env_file_is_read_with_lowercase_and_uppercase_names(env_file):
    settings = Settings.load({}, environ={}, env_file=env_file)
    assert settings.region_name == "eu-west-1"
    assert settings.openai_api_key == "sk-from-dotenv"
    assert settings.table_prefix == "dotenv-"
    assert settings.embedding_model == "text-embedding-3-small"
    assert settings.max_tool_rounds == 7


@pytest.mark.parametrize("name", ["openai_api_key", "OPENAI_API_KEY"])
def test_environment_beats_env_file_under_either_case(env_file, name):
    settings = Settings.load({}, environ={name: "sk-from-environment"}, env_file=env_file)
    assert settings.openai_api_key == "sk-from-environment"
    assert settings.region_name == "eu-west-1"  # still from .env


def test_kwargs_beat_environment_and_env_file(env_file):
    environ = {
        "OPENAI_API_KEY": "sk-from-environment",
        "table_prefix": "env-",
        "RUN_DRIVER": "poll",
    }
    settings = Settings.load(
        {"openai_api_key": "sk-from-kwargs", "table_prefix": "kw-"},
        environ=environ,
        env_file=env_file,
    )
    assert settings.openai_api_key == "sk-from-kwargs"
    assert settings.table_prefix == "kw-"
    assert settings.run_driver == "poll"  # environment, kwargs did not say
    assert settings.region_name == "eu-west-1"  # .env, nobody else did


def test_empty_values_fall_through_to_the_next_source(env_file):
    settings = Settings.load(
        {"openai_api_key": "", "table_prefix": None},
        environ={"table_prefix": ""},
        env_file=env_file,
    )
    assert settings.openai_api_key == "sk-from-dotenv"
    assert settings.table_prefix == "dotenv-"


def test_numbers_arrive_as_strings_or_decimals(tmp_path):
    settings = Settings.load(
        {"tool_timeout_seconds": Decimal("2.5"), "max_tool_rounds": "3"},
        environ={},
        env_file=tmp_path / "none",
    )
    assert settings.tool_timeout_seconds == 2.5
    assert settings.max_tool_rounds == 3
    assert isinstance(settings.max_tool_rounds, int)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("tool_timeout_seconds", "abc"),
        ("tool_timeout_seconds", -1),
        ("tool_timeout_seconds", "0"),
        ("tool_timeout_seconds", "nan"),
        ("tool_timeout_seconds", "Infinity"),
        ("max_tool_rounds", 0),
        ("max_tool_rounds", "2.5"),
        ("max_tool_rounds", "many"),
        ("tool_instance_cache_size", 0),
        ("http_idle_timeout_seconds", "-5"),
        ("http_max_connections", "1.5"),
        ("openai_backend", "foo"),
        ("run_driver", "x"),
        ("table_prefix", "my tables-"),
        ("table_prefix", "oae/"),
        ("function_module_allowlist", ".rel"),
        ("function_module_allowlist", "ok.pkg, bad..name"),
        ("function_module_allowlist", ["pkg.", "ok"]),
        ("function_module_allowlist", 5),
    ],
)
def test_a_malformed_setting_fails_naming_it(tmp_path, name, value):
    with pytest.raises(ConfigurationError) as caught:
        Settings.load({name: value}, environ={}, env_file=tmp_path / "none")
    assert name in caught.value.message


def test_a_malformed_environment_value_fails_naming_it(tmp_path):
    with pytest.raises(ConfigurationError, match="max_tool_rounds"):
        Settings.load({}, environ={"MAX_TOOL_ROUNDS": "0"}, env_file=tmp_path / "none")


def test_a_malformed_setting_fails_building_the_engine(test_logger):
    with pytest.raises(ConfigurationError, match="run_driver"):
        OpenaiAssistantEngine(test_logger, run_driver="sometimes")


@pytest.mark.parametrize(
    "value",
    [
        ["acme.tools", " acme.crm ", ""],
        "acme.tools, acme.crm,",
        ("acme.tools", "acme.crm"),
    ],
)
def test_allowlist_is_a_list_or_a_comma_separated_string(tmp_path, value):
    settings = Settings.load(
        {"function_module_allowlist": value}, environ={}, env_file=tmp_path / "none"
    )
    assert settings.function_module_allowlist == ("acme.tools", "acme.crm")


def test_choices_are_case_insensitive(tmp_path):
    settings = Settings.load(
        {"openai_backend": " Responses ", "run_driver": "POLL"}, environ={}, env_file=tmp_path / "x"
    )
    assert (settings.openai_backend, settings.run_driver) == ("responses", "poll")


def test_unknown_keys_are_ignored(tmp_path):
    settings = Settings.load(
        {
            "endpoint_id": "api",
            "area": "core",
            "some_other_module_key": {"a": 1},
            "table_prefix": "p-",
        },
        environ={"UNRELATED": "x"},
        env_file=tmp_path / "none",
    )
    assert settings.table_prefix == "p-"
    assert not hasattr(settings, "endpoint_id")


def test_uppercase_kwargs_are_read_too(tmp_path):
    settings = Settings.load({"TABLE_PREFIX": "upper-"}, environ={}, env_file=tmp_path / "none")
    assert settings.table_prefix == "upper-"


def test_secrets_stay_out_of_repr(tmp_path):
    settings = Settings.load(
        {
            "openai_api_key": "sk-MARKER-secret-123",
            "aws_access_key_id": "AKIA-MARKER-ID",
            "aws_secret_access_key": "AWS-MARKER-SECRET",
            "table_prefix": "shown-",
        },
        environ={},
        env_file=tmp_path / "none",
    )
    for text in (repr(settings), str(settings)):
        assert "sk-MARKER-secret-123" not in text
        assert "AWS-MARKER-SECRET" not in text
        assert "AKIA-MARKER-ID" not in text
        assert "shown-" in text
    assert set(settings.secret_values()) == {
        "sk-MARKER-secret-123",
        "AKIA-MARKER-ID",
        "AWS-MARKER-SECRET",
    }


def test_settings_are_frozen(tmp_path):
    settings = Settings.load({}, environ={}, env_file=tmp_path / "none")
    with pytest.raises(AttributeError):
        settings.table_prefix = "changed-"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("run_driver", "lambda_name", "effective"),
    [("auto", "fn", "poll"), ("auto", None, "stream"), ("stream", "fn", "stream")],
)
def test_auto_run_driver_polls_on_lambda_and_streams_elsewhere(
    tmp_path, monkeypatch, run_driver, lambda_name, effective
):
    if lambda_name:
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", lambda_name)
    else:
        monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    settings = Settings.load({"run_driver": run_driver}, environ={}, env_file=tmp_path / "none")
    assert settings.effective_run_driver == effective


@pytest.mark.parametrize(
    ("value", "expected"),
    [("false", False), ("OFF", False), ("0", False), ("yes", True), (True, True)],
)
def test_graphql_introspection_reads_the_usual_spellings(value, expected):
    settings = Settings.load({"graphql_introspection": value}, environ={}, env_file=None)
    assert settings.graphql_introspection is expected


def test_graphql_introspection_refuses_other_words():
    with pytest.raises(ConfigurationError, match="graphql_introspection"):
        Settings.load({"graphql_introspection": "maybe"}, environ={}, env_file=None)


def test_every_setting_is_in_the_example_file_and_the_readme():
    from dataclasses import fields
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    example = (root / ".env.example").read_text()
    readme = (root / "README.md").read_text()
    for spec in fields(Settings):
        assert f"#{spec.name}=" in example, spec.name
        assert f"`{spec.name}`" in readme, spec.name
