"""A first conversation with the shipped contract: Responses by default, a model from the
settings or the record, and a clear 400 before anything is created upstream."""

from __future__ import annotations

from openai_assistant_engine.config import Settings

from .conversation_calls import FUNCTIONS


def test_the_default_backend_is_responses(tmp_path) -> None:
    settings = Settings.load({}, environ={}, env_file=tmp_path / "none")
    assert settings.openai_backend == "responses"
    assert settings.openai_model is None


def test_no_model_anywhere_is_a_400_naming_the_settings_before_any_openai_call(
    make_chat, openai_sandbox
) -> None:
    chat = make_chat("responses")
    chat.register(FUNCTIONS, {})  # a record with no configuration.model
    openai_sandbox.clear_request_log()

    response = chat.ask_response("Hello")

    assert response["status_code"] == 400
    [error] = response["errors"]
    assert "openai_model" in error["message"]
    assert "configuration.model" in error["message"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert openai_sandbox.request_log == []  # no conversation was created at OpenAI
    threads = chat.data("getThreadList", assistantId=chat.assistant_id)["threadList"]
    assert threads["total"] == 0


def test_the_openai_model_setting_serves_records_without_a_model(make_chat, openai_sandbox) -> None:
    chat = make_chat("responses", openai_model="gpt-from-settings")
    chat.register(FUNCTIONS, {})
    openai_sandbox.clear_request_log()

    asked, run = chat.converse("Hello")

    assert run["status"] == "completed"
    assert chat.last_message(asked["threadId"])["message"] == "Echo: Hello"
    [recorded] = chat.thread(asked["threadId"])["runs"]
    assert recorded["model"] == "gpt-from-settings"


def test_configuration_model_wins_over_the_setting(make_chat) -> None:
    chat = make_chat("responses", openai_model="gpt-from-settings")  # the record names one
    asked, _run = chat.converse("Hello")
    [recorded] = chat.thread(asked["threadId"])["runs"]
    assert recorded["model"] == "gpt-sandbox"
