"""The Responses and Conversations API subset, driven through the official SDK over HTTP."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import openai
import pytest
from openai import OpenAI
from openai.types.conversations import Conversation, ConversationItem
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from openai_assistant_engine.sandbox import SandboxServer

TOOLS: list[Any] = [
    {
        "type": "function",
        "name": "weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {}},
    }
]


def call_outputs(response: Any, **outputs: str) -> list[Any]:
    return [
        {"type": "function_call_output", "call_id": item.call_id, "output": outputs[item.name]}
        for item in response.output
        if item.type == "function_call"
    ]


def test_plain_response_echoes_the_input_with_usage_and_model(client: OpenAI) -> None:
    response = client.responses.create(
        model="gpt-5-mini", input="Hello there", instructions="Be nice.", temperature=0.2
    )
    assert response.status == "completed" and response.model == "gpt-5-mini"
    assert response.output_text == "Echo: Hello there"
    [message] = response.output
    assert message.type == "message" and message.role == "assistant"
    assert message.id.startswith("msg_") and response.id.startswith("resp_")
    assert response.usage is not None
    assert (
        response.usage.input_tokens,
        response.usage.output_tokens,
        response.usage.total_tokens,
    ) == (2, 3, 5)
    assert response.usage.input_tokens_details.cached_tokens == 0
    assert response.usage.output_tokens_details.reasoning_tokens == 0
    assert client.responses.retrieve(response.id).output_text == "Echo: Hello there"


def test_input_items_with_text_parts_use_the_latest_user_message(client: OpenAI) -> None:
    response = client.responses.create(
        model="m",
        input=[
            {"role": "developer", "content": "Rules here"},
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "an answer"},
            {"role": "user", "content": [{"type": "input_text", "text": "second question"}]},
        ],
    )
    assert response.output_text == "Echo: second question"
    assert response.usage is not None and response.usage.input_tokens == 8
    items = client.responses.input_items.list(response.id, order="asc").data
    assert [item.role for item in items] == ["developer", "user", "assistant", "user"]


def test_conversation_collects_input_and_output_items(client: OpenAI) -> None:
    conversation = client.conversations.create(metadata={"topic": "t"})
    assert conversation.id.startswith("conv_")
    first = client.responses.create(model="m", input="one", conversation=conversation.id)
    second = client.responses.create(
        model="m", input="two two", conversation={"id": conversation.id}
    )
    assert second.conversation is not None and second.conversation.id == conversation.id
    assert (first.output_text, second.output_text) == ("Echo: one", "Echo: two two")
    # input counts every message so far: one, Echo: one, two two
    assert second.usage is not None and second.usage.input_tokens == 5
    items = client.conversations.items.list(conversation.id, order="asc").data
    assert [(item.type, item.role) for item in items] == [
        ("message", "user"),
        ("message", "assistant"),
        ("message", "user"),
        ("message", "assistant"),
    ]
    assert items[3].id == second.output[0].id


def test_conversation_items_list_newest_first_and_paginates(client: OpenAI) -> None:
    conversation = client.conversations.create(
        items=[{"type": "message", "role": "user", "content": f"m{n}"} for n in range(3)]
    )
    client.conversations.items.create(
        conversation.id, items=[{"type": "message", "role": "user", "content": "m3"}]
    )
    page = client.conversations.items.list(conversation.id, limit=2)
    assert [item.content[0].text for item in page.data] == ["m3", "m2"]
    assert page.has_more and page.last_id == page.data[-1].id
    rest = client.conversations.items.list(conversation.id, limit=2, after=page.last_id)
    assert [item.content[0].text for item in rest.data] == ["m1", "m0"] and not rest.has_more
    assert [
        item.content[0].text
        for item in client.conversations.items.list(conversation.id, limit=1, order="asc")
    ] == ["m0", "m1", "m2", "m3"]


def test_function_calls_then_outputs_via_previous_response_id(client: OpenAI) -> None:
    response = client.responses.create(
        model="m",
        tools=TOOLS,
        input='call:weather {"city": "Paris"}\ncall:weather {"city": "Rome"}',
    )
    assert response.status == "completed" and response.output_text == ""
    calls = response.output
    assert [(c.type, c.name, c.arguments, c.status) for c in calls] == [
        ("function_call", "weather", '{"city": "Paris"}', "completed"),
        ("function_call", "weather", '{"city": "Rome"}', "completed"),
    ]
    assert all(c.id.startswith("fc_") and c.call_id.startswith("call_") for c in calls)
    assert response.usage is not None and response.usage.output_tokens == 2
    follow = client.responses.create(
        model="m",
        tools=TOOLS,
        previous_response_id=response.id,
        input=[
            {"type": "function_call_output", "call_id": c.call_id, "output": out}
            for c, out in zip(calls, ["sun", "rain"], strict=True)
        ],
    )
    assert follow.output_text == "Tool results: weather=sun; weather=rain"
    assert follow.previous_response_id == response.id


def test_function_calls_in_a_conversation_run_several_rounds(client: OpenAI) -> None:
    conversation = client.conversations.create()
    text = 'call:search {"q": "x"}\ncall2:fetch {not json'
    response = client.responses.create(model="m", input=text, conversation=conversation.id)
    response = client.responses.create(
        model="m", conversation=conversation.id, input=call_outputs(response, search="hit")
    )
    [call] = response.output
    assert call.type == "function_call" and (call.name, call.arguments) == ("fetch", "{not json")
    response = client.responses.create(
        model="m", conversation=conversation.id, input=call_outputs(response, fetch="body")
    )
    assert response.output_text == "Tool results: fetch=body"
    kinds = [item.type for item in client.conversations.items.list(conversation.id, order="asc")]
    assert kinds == [
        "message",
        "function_call",
        "function_call_output",
        "function_call",
        "function_call_output",
        "message",
    ]
    assert all(
        item.id.startswith(("msg_", "fc_", "fco_"))
        for item in client.conversations.items.list(conversation.id)
    )


def test_loop_directive_asks_again_after_every_round(client: OpenAI) -> None:
    response = client.responses.create(model="m", input="loop:poll {}")
    for _ in range(3):
        [call] = response.output
        assert call.type == "function_call" and call.name == "poll"
        response = client.responses.create(
            model="m", previous_response_id=response.id, input=call_outputs(response, poll="again")
        )


def test_a_new_user_message_before_answering_every_call_is_a_400(client: OpenAI) -> None:
    conversation = client.conversations.create()
    response = client.responses.create(
        model="m", input="call:a\ncall:b", conversation=conversation.id
    )
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="m", input="never mind", conversation=conversation.id)
    assert "No tool output found for function call" in caught.value.message
    with pytest.raises(openai.BadRequestError):  # answering only one call is not enough
        client.responses.create(
            model="m", conversation=conversation.id, input=call_outputs(response, a="1", b="2")[:1]
        )
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model="m", previous_response_id=response.id, input="hi")
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model="m",
            previous_response_id=response.id,
            input=[{"type": "function_call_output", "call_id": "call_unknown", "output": "x"}],
        )
    assert "call_unknown" in caught.value.message


def test_conversation_and_previous_response_id_together_are_a_400(client: OpenAI) -> None:
    conversation = client.conversations.create()
    first = client.responses.create(model="m", input="hi")
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model="m", input="x", conversation=conversation.id, previous_response_id=first.id
        )
    assert "previous_response_id" in caught.value.message


def test_background_response_is_queued_then_in_progress_then_completed(client: OpenAI) -> None:
    response = client.responses.create(model="m", input="Later please", background=True)
    assert response.status == "queued" and response.output == [] and response.usage is None
    assert response.background is True
    polled = [client.responses.retrieve(response.id) for _ in range(3)]
    assert [r.status for r in polled] == ["in_progress", "completed", "completed"]
    assert polled[0].output == [] and polled[0].usage is None
    assert polled[1].output_text == "Echo: Later please" and polled[1].usage is not None


def test_background_honours_steps_and_needs_store(client: OpenAI) -> None:
    response = client.responses.create(model="m", input="steps:3\nslow", background=True)
    statuses = [client.responses.retrieve(response.id).status for _ in range(5)]
    assert statuses == ["in_progress"] * 3 + ["completed"] * 2
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model="m", input="x", background=True, store=False)


def test_cancel_answers_cancelled_for_a_background_response_only(client: OpenAI) -> None:
    response = client.responses.create(model="m", input="hi", background=True)
    cancelled = client.responses.cancel(response.id)
    assert cancelled.status == "cancelled" and cancelled.output == []
    assert client.responses.retrieve(response.id).status == "cancelled"
    plain = client.responses.create(model="m", input="hi")
    with pytest.raises(openai.BadRequestError):
        client.responses.cancel(plain.id)


def test_conversation_is_locked_while_a_background_response_runs(client: OpenAI) -> None:
    conversation = client.conversations.create()
    response = client.responses.create(
        model="m", input="first", conversation=conversation.id, background=True
    )
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="m", input="second", conversation=conversation.id)
    assert caught.value.code == "conversation_locked"
    with pytest.raises(openai.BadRequestError):
        client.conversations.items.create(
            conversation.id, items=[{"type": "message", "role": "user", "content": "x"}]
        )
    while client.responses.retrieve(response.id).status != "completed":
        pass
    after = client.responses.create(model="m", input="second", conversation=conversation.id)
    assert after.output_text == "Echo: second"


def test_stream_helper_gives_the_final_response(client: OpenAI) -> None:
    conversation = client.conversations.create()
    with client.responses.stream(
        model="m", input="Stream me please", conversation=conversation.id
    ) as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert len(deltas) > 1 and "".join(deltas) == "Echo: Stream me please"
    assert final.output_text == "Echo: Stream me please" and final.status == "completed"
    assert client.responses.retrieve(final.id).output_text == final.output_text
    items = client.conversations.items.list(conversation.id).data
    assert items[0].id == final.output[0].id  # output appended once the stream ended


def test_create_with_stream_true_emits_openai_event_sequence(client: OpenAI) -> None:
    events = list(client.responses.create(model="m", input="Hi you", stream=True))
    types = [event.type for event in events]
    deltas = types.count("response.output_text.delta")
    assert types == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * deltas,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    assert events[0].response.status == "in_progress"
    assert events[-1].response.output_text == "Echo: Hi you"


def test_streamed_function_calls_emit_argument_deltas(client: OpenAI) -> None:
    with client.responses.stream(
        model="m", tools=TOOLS, input='call:weather {"city": "Paris", "unit": "C"}\ncall:weather {}'
    ) as stream:
        types = [event.type for event in stream]
        final = stream.get_final_response()
    assert types[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert "response.function_call_arguments.delta" in types
    assert types.count("response.function_call_arguments.done") == 2
    assert types.count("response.output_item.done") == 2 and types[-1] == "response.completed"
    assert [item.arguments for item in final.output] == ['{"city": "Paris", "unit": "C"}', "{}"]


def test_streamed_failure_ends_with_response_failed(client: OpenAI) -> None:
    events = list(client.responses.create(model="m", input="fail:server_error Boom", stream=True))
    assert [e.type for e in events] == [
        "response.created",
        "response.in_progress",
        "response.failed",
    ]
    assert events[-1].response.error is not None
    assert events[-1].response.error.message == "Boom"
    with (
        client.responses.stream(model="m", input="fail:server_error Boom") as stream,
        pytest.raises(RuntimeError),
    ):
        stream.get_final_response()


@pytest.mark.parametrize(
    ("directive", "status"),
    [
        ("fail:invalid_prompt Bad prompt", "failed"),
        ("expire", "failed"),
        ("incomplete", "incomplete"),
        ("cancel", "cancelled"),
    ],
)
def test_ending_directives_set_the_response_status(
    client: OpenAI, directive: str, status: str
) -> None:
    response = client.responses.create(model="m", input=f"text\n{directive}")
    assert response.status == status
    if directive.startswith("fail"):
        assert response.error is not None
        assert (response.error.code, response.error.message) == ("invalid_prompt", "Bad prompt")
    if directive == "incomplete":
        assert response.incomplete_details is not None
        assert response.incomplete_details.reason == "max_output_tokens"
        assert response.output_text == "Echo: text"


def test_unknown_ids_are_404(client: OpenAI) -> None:
    for attempt in (
        lambda: client.responses.retrieve("resp_missing"),
        lambda: client.conversations.retrieve("conv_missing"),
        lambda: client.conversations.items.list("conv_missing"),
        lambda: client.responses.create(model="m", input="x", previous_response_id="resp_missing"),
        lambda: client.responses.create(model="m", input="x", conversation="conv_missing"),
    ):
        with pytest.raises(openai.NotFoundError) as caught:
            attempt()
        assert caught.value.body["type"] == "invalid_request_error"  # type: ignore[index]


def test_raw_objects_and_stream_events_validate_strictly_against_sdk_models(
    client: OpenAI, sandbox: SandboxServer
) -> None:
    conversation = client.conversations.create()
    Conversation.model_validate(
        client.conversations.with_raw_response.retrieve(conversation.id).http_response.json()
    )
    body = json.dumps(
        {"model": "m", "input": "call:f {}", "stream": True, "conversation": conversation.id}
    ).encode()
    request = urllib.request.Request(
        f"{sandbox.base_url}/responses", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request) as answer:
        blocks = answer.read().decode().strip().split("\n\n")
    adapter = TypeAdapter(ResponseStreamEvent)
    for block in blocks:
        name_line, data_line = block.split("\n")
        event = adapter.validate_python(json.loads(data_line.removeprefix("data: ")))
        assert event.type == name_line.removeprefix("event: ")
    final = Response.model_validate(json.loads(blocks[-1].split("data: ")[1])["response"])
    follow = client.responses.with_raw_response.create(
        model="m", conversation=conversation.id, tools=TOOLS, input=call_outputs(final, f="out")
    )
    Response.model_validate(follow.http_response.json())
    items = client.conversations.items.with_raw_response.list(conversation.id)
    item_adapter = TypeAdapter(ConversationItem)
    for item in items.http_response.json()["data"]:
        item_adapter.validate_python(item)
