"""The Chat Completions API, driven through the official SDK over HTTP."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import openai
import pytest
from openai import OpenAI
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from openai_assistant_engine.sandbox import SandboxServer

TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "weather",
            "description": "Weather in a city",
            "parameters": {"type": "object", "properties": {}},
        },
    }
]


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def answered(completion: Any, **outputs: str) -> list[Any]:
    """The assistant message that asked for calls, then one tool message per call."""
    message = completion.choices[0].message
    return [
        message.model_dump(exclude_none=True),
        *(
            {"role": "tool", "tool_call_id": call.id, "content": outputs[call.function.name]}
            for call in message.tool_calls
        ),
    ]


def test_plain_completion_echoes_the_last_user_message_with_usage(client: OpenAI) -> None:
    completion = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": "Be nice."}, user("Hello there")],
    )
    assert completion.id.startswith("chatcmpl-") and completion.object == "chat.completion"
    assert completion.model == "gpt-4o-mini" and isinstance(completion.created, int)
    [choice] = completion.choices
    assert (choice.index, choice.finish_reason, choice.logprobs) == (0, "stop", None)
    assert choice.message.role == "assistant" and choice.message.refusal is None
    assert choice.message.content == "Echo: Hello there" and choice.message.tool_calls is None
    assert completion.usage is not None
    # prompt: "Be nice." and "Hello there"; completion: "Echo: Hello there"
    assert (
        completion.usage.prompt_tokens,
        completion.usage.completion_tokens,
        completion.usage.total_tokens,
    ) == (4, 3, 7)


def test_raw_answer_has_openai_shape_and_validates_strictly(
    client: OpenAI, sandbox: SandboxServer
) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="m", messages=[user("call:weather {}")], tools=TOOLS
    ).http_response.json()
    ChatCompletion.model_validate(raw, strict=True)
    [choice] = raw["choices"]
    assert choice["message"]["content"] is None and choice["finish_reason"] == "tool_calls"
    [call] = choice["message"]["tool_calls"]
    assert set(call) == {"id", "type", "function"} and call["type"] == "function"
    plain = client.chat.completions.with_raw_response.create(model="m", messages=[user("hi")])
    assert "tool_calls" not in plain.http_response.json()["choices"][0]["message"]


def test_a_tool_call_round_then_the_tool_results(client: OpenAI) -> None:
    messages: list[Any] = [
        user('Weather?\ncall:weather {"city": "Paris"}\ncall:weather {"city": "Rome"}')
    ]
    first = client.chat.completions.create(model="m", messages=messages, tools=TOOLS)
    message = first.choices[0].message
    assert first.choices[0].finish_reason == "tool_calls" and message.content is None
    assert message.tool_calls is not None
    calls = [(c.type, c.function.name, c.function.arguments) for c in message.tool_calls]
    assert calls == [
        ("function", "weather", '{"city": "Paris"}'),
        ("function", "weather", '{"city": "Rome"}'),
    ]
    assert all(c.id.startswith("call_") for c in message.tool_calls)
    assert len({c.id for c in message.tool_calls}) == 2
    assert first.usage is not None and first.usage.completion_tokens == 2  # one per call
    messages += [
        message.model_dump(exclude_none=True),
        *(
            {"role": "tool", "tool_call_id": c.id, "content": out}
            for c, out in zip(message.tool_calls, ["sun", "rain"], strict=True)
        ),
    ]
    final = client.chat.completions.create(model="m", messages=messages, tools=TOOLS)
    assert final.choices[0].finish_reason == "stop"
    assert final.choices[0].message.content == "Tool results: weather=sun; weather=rain"


def test_a_two_round_script_asks_call_then_call2(client: OpenAI) -> None:
    messages: list[Any] = [user('call:search {"q": "x"}\ncall2:fetch {not json')]
    first = client.chat.completions.create(model="m", messages=messages)
    messages += answered(first, search="hit")
    second = client.chat.completions.create(model="m", messages=messages)
    [call] = second.choices[0].message.tool_calls or []
    assert (call.function.name, call.function.arguments) == ("fetch", "{not json")
    messages += answered(second, fetch="body")
    third = client.chat.completions.create(model="m", messages=messages)
    assert third.choices[0].message.content == "Tool results: fetch=body"


def test_tool_message_content_parts_and_assistant_text_with_calls(client: OpenAI) -> None:
    completion = client.chat.completions.create(
        model="m",
        messages=[
            user("call:lookup"),
            {
                "role": "assistant",
                "content": "Let me look.",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "text", "text": "42"}]},
        ],
    )
    assert completion.choices[0].message.content == "Tool results: lookup=42"


def _bad_request(client: OpenAI, **params: Any) -> dict[str, Any]:
    """The error body of a chat request the sandbox must refuse with a 400."""
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(**params)
    body = caught.value.body
    assert isinstance(body, dict) and body["type"] == "invalid_request_error"
    return body


def test_model_and_messages_are_required(client: OpenAI) -> None:
    error = _bad_request(client, model="", messages=[user("hi")])
    assert "model" in error["message"]
    error = _bad_request(client, model="m", messages=[])
    assert (error["code"], error["param"]) == ("empty_array", "messages")
    with pytest.raises(openai.BadRequestError) as caught:
        client.post("/chat/completions", body={"model": "m"}, cast_to=object)
    assert caught.value.body == {
        "message": "Missing required parameter: 'messages'.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "missing_required_parameter",
    }
    error = _bad_request(client, model="m", messages=[{"role": "robot", "content": "x"}])
    assert error["param"] == "messages.[0].role"


def test_a_tool_message_must_answer_a_preceding_tool_call(client: OpenAI) -> None:
    stray = {"role": "tool", "tool_call_id": "call_x", "content": "out"}
    expected = (
        "Invalid parameter: messages with role 'tool' must be a response to a preceeding "
        "message with 'tool_calls'."
    )
    error = _bad_request(client, model="m", messages=[user("hi"), stray])
    assert error["message"] == expected and error["param"] == "messages.[1].role"
    first = client.chat.completions.create(model="m", messages=[user("call:a")])
    asking, reply = answered(first, a="1")
    wrong_id = {"role": "tool", "tool_call_id": "call_other", "content": "1"}
    error = _bad_request(client, model="m", messages=[user("call:a"), asking, wrong_id])
    assert error["message"] == expected
    # An id answered once, then again after a new user message: no longer a response.
    late = [user("call:a"), asking, reply, user("more"), reply]
    error = _bad_request(client, model="m", messages=late)
    assert error["message"] == expected and error["param"] == "messages.[4].role"


def test_every_tool_call_must_be_answered_before_the_next_message(client: OpenAI) -> None:
    first = client.chat.completions.create(model="m", messages=[user("call:a\ncall:b")])
    asking, answer_a, answer_b = answered(first, a="1", b="2")
    ids = [call["id"] for call in asking["tool_calls"]]
    prefix = (
        "An assistant message with 'tool_calls' must be followed by tool messages responding "
        "to each 'tool_call_id'. The following tool_call_ids did not have response messages: "
    )
    error = _bad_request(
        client, model="m", messages=[user("call:a\ncall:b"), asking, answer_a, user("next")]
    )
    assert error["message"] == prefix + ids[1]
    error = _bad_request(client, model="m", messages=[user("call:a\ncall:b"), asking])
    assert error["message"] == prefix + ", ".join(ids)
    # Answered in any order, the conversation goes on.
    ok = client.chat.completions.create(
        model="m", messages=[user("call:a\ncall:b"), asking, answer_b, answer_a]
    )
    assert ok.choices[0].message.content == "Tool results: a=1; b=2"


def test_stream_options_without_stream_is_a_400(client: OpenAI) -> None:
    error = _bad_request(
        client, model="m", messages=[user("hi")], stream_options={"include_usage": True}
    )
    assert error["param"] == "stream_options"


@pytest.mark.parametrize(
    ("directive", "code", "message"),
    [
        ("fail:invalid_prompt Bad prompt", "invalid_prompt", "Bad prompt"),
        ("expire", "expired", None),
        ("cancel", "cancelled", None),
    ],
)
def test_fail_expire_and_cancel_are_400s_the_sdk_does_not_retry(
    sandbox: SandboxServer, client: OpenAI, directive: str, code: str, message: str | None
) -> None:
    for stream in (False, True):
        error = _bad_request(
            client, model="m", messages=[user(f"text\n{directive}")], stream=stream
        )
        assert error["code"] == code
        if message is not None:
            assert error["message"] == message
    assert len(sandbox.request_log) == 2  # max_retries=1, yet no retry


def test_incomplete_answers_the_reply_with_finish_reason_length(client: OpenAI) -> None:
    completion = client.chat.completions.create(model="m", messages=[user("text\nincomplete")])
    assert completion.choices[0].finish_reason == "length"
    assert completion.choices[0].message.content == "Echo: text"
    chunks = list(
        client.chat.completions.create(model="m", messages=[user("text\nincomplete")], stream=True)
    )
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"


def test_a_call_before_a_failure_is_answered_first(client: OpenAI) -> None:
    messages: list[Any] = [user("call:a\nfail:server_error Broke")]
    first = client.chat.completions.create(model="m", messages=messages)
    assert first.choices[0].finish_reason == "tool_calls"
    error = _bad_request(client, model="m", messages=messages + answered(first, a="1"))
    assert (error["code"], error["message"]) == ("server_error", "Broke")


def test_streamed_text_assembles_to_the_json_answer_with_a_usage_chunk(client: OpenAI) -> None:
    messages = [{"role": "developer", "content": "Rules"}, user("Stream me please now")]
    whole = client.chat.completions.create(model="m", messages=messages)
    chunks = list(
        client.chat.completions.create(
            model="m", messages=messages, stream=True, stream_options={"include_usage": True}
        )
    )
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-")
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) > 1
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}
    *body, last = chunks
    assert last.choices == [] and last.usage == whole.usage
    assert all(c.usage is None for c in body)


def test_streamed_tool_call_deltas_assemble_into_the_same_calls(client: OpenAI) -> None:
    messages = [user('call:weather {"city": "Paris", "unit": "C"}\ncall:weather {}')]
    whole = client.chat.completions.create(model="m", messages=messages, tools=TOOLS)
    chunks = list(
        client.chat.completions.create(model="m", messages=messages, tools=TOOLS, stream=True)
    )
    assert all(c.usage is None for c in chunks)  # no include_usage: no usage chunk
    assembled: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for delta in chunk.choices[0].delta.tool_calls or []:
            call = assembled.setdefault(delta.index, {"arguments": ""})
            if delta.id is not None:  # the opening delta of a call
                assert delta.type == "function" and delta.function is not None
                assert delta.function.arguments == "" and "id" not in call
                call.update(id=delta.id, name=delta.function.name or "")
            elif delta.function is not None:
                call["arguments"] += delta.function.arguments or ""
    expected = whole.choices[0].message.tool_calls or []
    assert [(c["name"], c["arguments"]) for c in assembled.values()] == [
        (c.function.name, c.function.arguments) for c in expected
    ]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    assert sum(1 for c in chunks if c.choices[0].delta.tool_calls) > 4  # arguments in pieces


def test_raw_stream_is_data_only_lines_ending_with_done(sandbox: SandboxServer) -> None:
    body = json.dumps(
        {
            "model": "m",
            "messages": [user("call:f {}")],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    ).encode()
    request = urllib.request.Request(
        f"{sandbox.base_url}/chat/completions",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as answer:
        assert answer.headers["Content-Type"].startswith("text/event-stream")
        blocks = answer.read().decode().strip().split("\n\n")
    assert all(block.startswith("data: ") and "\n" not in block for block in blocks)
    assert blocks[-1] == "data: [DONE]"
    for block in blocks[:-1]:
        ChatCompletionChunk.model_validate(json.loads(block.removeprefix("data: ")), strict=True)


def test_stream_helper_gives_the_final_completion(client: OpenAI) -> None:
    with client.chat.completions.stream(model="m", messages=[user("Helper text here")]) as stream:
        deltas = [event.delta for event in stream if event.type == "content.delta"]
        final = stream.get_final_completion()
    assert "".join(deltas) == "Echo: Helper text here" and len(deltas) > 1
    assert final.choices[0].message.content == "Echo: Helper text here"
    with client.chat.completions.stream(
        model="m", messages=[user('call:weather {"city": "Oslo"}')], tools=TOOLS
    ) as stream:
        final = stream.get_final_completion()
    [call] = final.choices[0].message.tool_calls or []
    assert (call.function.name, call.function.arguments) == ("weather", '{"city": "Oslo"}')
    assert final.choices[0].finish_reason == "tool_calls"


def test_the_same_text_answers_the_same_on_chat_and_stateless_responses(client: OpenAI) -> None:
    for text in ("Hello world", 'call:a {}\ncall:b {"x": 1}', "text\nincomplete"):
        chat = client.chat.completions.create(
            model="m", messages=[{"role": "system", "content": "Sys words"}, user(text)]
        )
        response = client.responses.create(
            model="m",
            store=False,
            input=[{"role": "system", "content": "Sys words"}, user(text)],
        )
        message = chat.choices[0].message
        assert (message.content or "") == response.output_text
        assert [(c.function.name, c.function.arguments) for c in message.tool_calls or []] == [
            (item.name, item.arguments) for item in response.output if item.type == "function_call"
        ]
        assert chat.usage is not None and response.usage is not None
        assert (chat.usage.prompt_tokens, chat.usage.completion_tokens) == (
            response.usage.input_tokens,
            response.usage.output_tokens,
        )


def test_tool_results_read_the_same_on_chat_and_stateless_responses(client: OpenAI) -> None:
    text = 'call:a {}\ncall2:b {"n": 2}'
    messages: list[Any] = [user(text)]
    items: list[Any] = [user(text)]
    for output in ("one", "two"):
        chat = client.chat.completions.create(model="m", messages=messages)
        response = client.responses.create(model="m", store=False, input=items)
        [chat_call] = chat.choices[0].message.tool_calls or []
        [item] = response.output
        assert item.type == "function_call"
        assert (chat_call.function.name, chat_call.function.arguments) == (
            item.name,
            item.arguments,
        )
        messages += answered(chat, **{chat_call.function.name: output})
        items += [
            item.model_dump(exclude_none=True),
            {"type": "function_call_output", "call_id": item.call_id, "output": output},
        ]
    chat = client.chat.completions.create(model="m", messages=messages)
    response = client.responses.create(model="m", store=False, input=items)
    assert chat.choices[0].message.content == response.output_text == "Tool results: b=two"
    assert chat.usage is not None and response.usage is not None
    assert chat.usage.prompt_tokens == response.usage.input_tokens


def test_faults_latency_and_request_log_apply_to_chat(
    sandbox: SandboxServer, client: OpenAI
) -> None:
    sandbox.inject_errors(status=429, count=1, path_contains="/chat/completions")
    completion = client.chat.completions.create(model="m", messages=[user("hi")])
    assert completion.choices[0].message.content == "Echo: hi"
    assert sandbox.request_log == [("POST", "/v1/chat/completions")] * 2
    sandbox.inject_errors(status=500, count=5, path_contains="/chat/completions")
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="m", messages=[user("hi")], stream=True)
    sandbox.clear_errors()
    sandbox.set_latency(0.2)
    started = time.monotonic()
    client.chat.completions.create(model="m", messages=[user("hi")])
    assert time.monotonic() - started >= 0.2


def test_the_third_turn_request_carries_turns_one_and_two(
    sandbox: SandboxServer, client: OpenAI
) -> None:
    messages: list[Any] = []
    for text in ("turn one", "turn two", "turn three"):
        messages.append(user(text))
        completion = client.chat.completions.create(model="m", messages=messages)
        messages.append({"role": "assistant", "content": completion.choices[0].message.content})
    bodies = [
        body for _method, path, body in sandbox.request_bodies if path == "/v1/chat/completions"
    ]
    assert len(bodies) == 3
    assert [m["content"] for m in bodies[2]["messages"]] == [
        "turn one",
        "Echo: turn one",
        "turn two",
        "Echo: turn two",
        "turn three",
    ]
