"""The Assistants API subset, driven through the official SDK over HTTP."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import openai
import pytest
from openai import AssistantEventHandler, OpenAI
from openai.types.beta import Assistant, AssistantStreamEvent, Thread
from openai.types.beta.threads import Message, Run
from openai.types.beta.threads.runs import RunStep
from pydantic import TypeAdapter

from openai_assistant_engine.sandbox import SandboxServer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

STREAM_PROLOGUE = ["thread.run.created", "thread.run.queued", "thread.run.in_progress"]


class Recorder(AssistantEventHandler):
    """Records event names and text deltas; one instance per stream, as the SDK requires."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []
        self.deltas: list[str] = []
        self.tool_call_names: list[str] = []

    def on_event(self, event: AssistantStreamEvent) -> None:
        self.events.append(event.event)

    def on_text_delta(self, delta: Any, snapshot: Any) -> None:
        self.deltas.append(delta.value)

    def on_tool_call_created(self, tool_call: Any) -> None:
        self.tool_call_names.append(tool_call.function.name)


def start(client: OpenAI, text: str, model: str = "gpt-test") -> tuple[str, str]:
    """A new assistant and a thread holding one user message; returns their ids."""
    assistant = client.beta.assistants.create(model=model, name="sandbox test")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": text}])
    return assistant.id, thread.id


def outputs_for(run: Run, **outputs: str) -> list[dict[str, str]]:
    assert run.required_action is not None
    calls = run.required_action.submit_tool_outputs.tool_calls
    return [{"tool_call_id": call.id, "output": outputs[call.function.name]} for call in calls]


def reply_text(client: OpenAI, thread_id: str) -> str:
    newest = client.beta.threads.messages.list(thread_id=thread_id, limit=1).data[0]
    assert newest.role == "assistant"
    return newest.content[0].text.value


def test_create_and_poll_answers_with_an_echo_usage_and_the_assistant_model(client: OpenAI) -> None:
    assistant_id, thread_id = start(client, "Hello there", model="gpt-4o-mini")
    run = client.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    assert run.status == "completed" and run.completed_at and run.model == "gpt-4o-mini"
    assert run.usage is not None
    assert (run.usage.prompt_tokens, run.usage.completion_tokens, run.usage.total_tokens) == (
        2,
        3,
        5,
    )
    messages = client.beta.threads.messages.list(thread_id=thread_id, order="asc").data
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[1].content[0].text.value == "Echo: Hello there"
    assert messages[1].run_id == run.id and messages[1].assistant_id == assistant_id


def test_a_non_streamed_run_is_queued_then_in_progress_then_done_by_retrieves(
    client: OpenAI,
) -> None:
    assistant_id, thread_id = start(client, "steps:3\nslow")
    run = client.beta.threads.runs.create(thread_id=thread_id, assistant_id=assistant_id)
    assert run.status == "queued" and run.usage is None
    statuses = [
        client.beta.threads.runs.retrieve(run.id, thread_id=thread_id).status for _ in range(5)
    ]
    assert statuses == ["in_progress"] * 3 + ["completed", "completed"]


def test_streamed_run_emits_openai_event_sequence_and_final_run(client: OpenAI) -> None:
    assistant_id, thread_id = start(client, "Hello streaming world")
    handler = Recorder()
    with client.beta.threads.runs.stream(
        thread_id=thread_id, assistant_id=assistant_id, event_handler=handler
    ) as stream:
        stream.until_done()
        final = stream.get_final_run()
        messages = stream.get_final_messages()
    assert final.status == "completed" and final.usage is not None
    assert handler.events == [
        *STREAM_PROLOGUE,
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.message.created",
        "thread.message.in_progress",
        *["thread.message.delta"] * len(handler.deltas),
        "thread.message.completed",
        "thread.run.step.completed",
        "thread.run.completed",
    ]
    assert len(handler.deltas) > 1 and "".join(handler.deltas) == "Echo: Hello streaming world"
    assert messages[0].content[0].text.value == "Echo: Hello streaming world"
    assert reply_text(client, thread_id) == "Echo: Hello streaming world"


def test_two_parallel_calls_then_submit_tool_outputs_and_poll(client: OpenAI) -> None:
    assistant_id, thread_id = start(client, 'call:weather {"city": "Paris"}\ncall:clock')
    run = client.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    assert run.status == "requires_action" and run.required_action is not None
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert [(c.type, c.function.name, c.function.arguments) for c in calls] == [
        ("function", "weather", '{"city": "Paris"}'),
        ("function", "clock", "{}"),
    ]
    assert all(c.id.startswith("call_") for c in calls)
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=thread_id,
        tool_outputs=outputs_for(run, weather="sunny", clock="noon"),
    )
    assert run.status == "completed" and run.required_action is None
    assert reply_text(client, thread_id) == "Tool results: weather=sunny; clock=noon"
    # prompt: 4 words of the message + 2 of the outputs; completion: 4 words + 2 calls
    assert run.usage is not None
    assert (run.usage.prompt_tokens, run.usage.completion_tokens) == (6, 6)


def test_streamed_requires_action_then_submit_tool_outputs_with_a_new_handler(
    client: OpenAI,
) -> None:
    assistant_id, thread_id = start(client, 'call:a {"x": 1}\ncall:b {"y": 2}')
    first = Recorder()
    with client.beta.threads.runs.stream(
        thread_id=thread_id, assistant_id=assistant_id, event_handler=first
    ) as stream:
        stream.until_done()
        run = stream.current_run
    assert run is not None and run.status == "requires_action"
    assert first.events == [
        *STREAM_PROLOGUE,
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.run.step.delta",
        "thread.run.step.delta",
        "thread.run.requires_action",
    ]
    assert first.tool_call_names == ["a", "b"]
    second = Recorder()
    with client.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=thread_id,
        run_id=run.id,
        tool_outputs=outputs_for(run, a="1", b="2"),
        event_handler=second,
    ) as stream:
        stream.until_done()
        final = stream.get_final_run()
    assert final.status == "completed"
    assert second.events[:3] == [
        "thread.run.step.completed",
        "thread.run.queued",
        "thread.run.in_progress",
    ]
    assert second.events[-1] == "thread.run.completed"
    assert "".join(second.deltas) == "Tool results: a=1; b=2"
    steps = client.beta.threads.runs.steps.list(
        run_id=run.id, thread_id=thread_id, order="asc"
    ).data
    assert [(s.type, s.status) for s in steps] == [
        ("tool_calls", "completed"),
        ("message_creation", "completed"),
    ]
    assert [c.function.output for c in steps[0].step_details.tool_calls] == ["1", "2"]


def test_second_round_of_calls_is_asked_after_the_first_round_outputs(client: OpenAI) -> None:
    assistant_id, thread_id = start(client, 'call:search {"q": 1}\ncall2:fetch {"id": 7}')
    runs = client.beta.threads.runs
    run = runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    run = runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread_id, tool_outputs=outputs_for(run, search="found")
    )
    assert run.status == "requires_action"
    assert run.required_action is not None
    [call] = run.required_action.submit_tool_outputs.tool_calls
    assert (call.function.name, call.function.arguments) == ("fetch", '{"id": 7}')
    run = runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread_id, tool_outputs=outputs_for(run, fetch="page")
    )
    assert run.status == "completed"
    assert reply_text(client, thread_id) == "Tool results: fetch=page"


def test_loop_directive_asks_for_the_same_call_every_round(client: OpenAI) -> None:
    assistant_id, thread_id = start(client, "loop:again {}")
    runs = client.beta.threads.runs
    run = runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    for _ in range(4):
        assert run.status == "requires_action"
        run = runs.submit_tool_outputs_and_poll(
            run_id=run.id, thread_id=thread_id, tool_outputs=outputs_for(run, again="ok")
        )
    assert run.status == "requires_action"
    assert runs.cancel(run.id, thread_id=thread_id).status == "cancelled"


def test_fail_directive_fails_the_run_with_last_error(client: OpenAI) -> None:
    assistant_id, thread_id = start(client, "fail:server_error The model crashed")
    run = client.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    assert run.status == "failed" and run.failed_at
    assert run.last_error is not None
    assert (run.last_error.code, run.last_error.message) == ("server_error", "The model crashed")
    assert [m.role for m in client.beta.threads.messages.list(thread_id=thread_id)] == ["user"]


def test_streamed_failure_ends_with_thread_run_failed(client: OpenAI) -> None:
    assistant_id, thread_id = start(client, "fail:rate_limit_exceeded Slow down")
    handler = Recorder()
    with client.beta.threads.runs.stream(
        thread_id=thread_id, assistant_id=assistant_id, event_handler=handler
    ) as stream:
        stream.until_done()
        final = stream.get_final_run()
    assert handler.events == [*STREAM_PROLOGUE, "thread.run.failed"]
    assert final.last_error is not None and final.last_error.code == "rate_limit_exceeded"


@pytest.mark.parametrize(
    ("directive", "status"),
    [("expire", "expired"), ("incomplete", "incomplete"), ("cancel", "cancelled")],
)
def test_ending_directives_end_the_run_in_that_status(
    client: OpenAI, directive: str, status: str
) -> None:
    assistant_id, thread_id = start(client, f"some text\n{directive}")
    run = client.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    assert run.status == status and run.usage is not None
    if directive == "incomplete":
        assert run.incomplete_details is not None
        assert run.incomplete_details.reason == "max_completion_tokens"
        message = client.beta.threads.messages.list(thread_id=thread_id, limit=1).data[0]
        assert message.status == "incomplete" and message.content[0].text.value == (
            "Echo: some text"
        )


def test_streamed_incomplete_run_sends_message_incomplete(client: OpenAI) -> None:
    assistant_id, thread_id = start(client, "cut\nincomplete")
    handler = Recorder()
    with client.beta.threads.runs.stream(
        thread_id=thread_id, assistant_id=assistant_id, event_handler=handler
    ) as stream:
        stream.until_done()
    assert handler.events[-3:] == [
        "thread.message.incomplete",
        "thread.run.step.completed",
        "thread.run.incomplete",
    ]


def test_non_json_arguments_are_passed_verbatim(client: OpenAI) -> None:
    assistant_id, thread_id = start(client, "call:add {not json")
    run = client.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    assert run.required_action is not None
    assert run.required_action.submit_tool_outputs.tool_calls[0].function.arguments == ("{not json")


def test_message_list_paginates_with_limit_after_before_and_order(client: OpenAI) -> None:
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": f"m{n}"} for n in range(5)]
    )
    messages = client.beta.threads.messages

    def texts(page: Any) -> list[str]:
        return [m.content[0].text.value for m in page.data]

    first = messages.list(thread_id=thread.id, limit=2, order="asc")
    assert texts(first) == ["m0", "m1"] and first.has_more
    second = messages.list(thread_id=thread.id, limit=2, order="asc", after=first.data[-1].id)
    assert texts(second) == ["m2", "m3"] and second.has_more
    last = messages.list(thread_id=thread.id, limit=2, order="asc", after=second.data[-1].id)
    assert texts(last) == ["m4"] and not last.has_more
    assert texts(messages.list(thread_id=thread.id, limit=2)) == ["m4", "m3"]  # desc default
    previous = messages.list(thread_id=thread.id, limit=2, order="asc", before=second.data[-1].id)
    assert texts(previous) == ["m1", "m2"]
    assert [
        m.content[0].text.value for m in messages.list(thread_id=thread.id, limit=2, order="asc")
    ] == [f"m{n}" for n in range(5)]  # the SDK's auto-pagination follows the cursors
    assert first.model_extra is not None
    assert first.model_extra["first_id"] == first.data[0].id
    assert first.model_extra["last_id"] == first.data[-1].id


def test_adding_a_message_while_a_run_is_active_is_a_400(client: OpenAI) -> None:
    assistant_id, thread_id = start(client, "call:a {}")
    run = client.beta.threads.runs.create(thread_id=thread_id, assistant_id=assistant_id)
    with pytest.raises(openai.BadRequestError) as caught:
        client.beta.threads.messages.create(thread_id=thread_id, role="user", content="more")
    assert caught.value.message.endswith(
        f"Can't add messages to {thread_id} while a run {run.id} is active."
    )
    run = client.beta.threads.runs.poll(run.id, thread_id=thread_id)
    assert run.status == "requires_action"  # still active while waiting for outputs
    with pytest.raises(openai.BadRequestError):
        client.beta.threads.messages.create(thread_id=thread_id, role="user", content="more")


def test_starting_a_run_while_one_is_active_is_a_400(client: OpenAI) -> None:
    assistant_id, thread_id = start(client, "hello")
    run = client.beta.threads.runs.create(thread_id=thread_id, assistant_id=assistant_id)
    with pytest.raises(openai.BadRequestError) as caught:
        client.beta.threads.runs.create(thread_id=thread_id, assistant_id=assistant_id)
    assert caught.value.body == {
        "message": f"Thread {thread_id} already has an active run {run.id}.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    client.beta.threads.runs.poll(run.id, thread_id=thread_id)
    client.beta.threads.messages.create(thread_id=thread_id, role="user", content="again")
    again = client.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    assert again.status == "completed"
    assert reply_text(client, thread_id) == "Echo: again"


def test_unknown_ids_are_404_with_openai_error_json(client: OpenAI) -> None:
    _, thread_id = start(client, "hi")
    attempts = [
        lambda: client.beta.threads.retrieve("thread_missing"),
        lambda: client.beta.assistants.retrieve("asst_missing"),
        lambda: client.beta.threads.runs.create(thread_id=thread_id, assistant_id="asst_missing"),
        lambda: client.beta.threads.runs.retrieve("run_missing", thread_id=thread_id),
        lambda: client.beta.threads.messages.retrieve("msg_missing", thread_id=thread_id),
        lambda: client.beta.threads.messages.list(thread_id="thread_missing"),
    ]
    for attempt in attempts:
        with pytest.raises(openai.NotFoundError) as caught:
            attempt()
        body = caught.value.body
        assert isinstance(body, dict) and set(body) == {"message", "type", "param", "code"}
        assert body["type"] == "invalid_request_error" and body["code"] is None
        assert "_missing'" in body["message"]


def test_tool_outputs_must_answer_every_call_of_the_round_in_one_submit(client: OpenAI) -> None:
    assistant_id, thread_id = start(client, "call:a\ncall:b")
    run = client.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    partial = outputs_for(run, a="1", b="2")[:1]
    with pytest.raises(openai.BadRequestError):
        client.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread_id, tool_outputs=partial
        )
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread_id, tool_outputs=outputs_for(run, a="1", b="2")
    )
    assert run.status == "completed"
    with pytest.raises(openai.BadRequestError):  # nothing is pending any more
        client.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread_id, tool_outputs=partial
        )


def test_cancel_ends_an_active_run_and_refuses_a_finished_one(client: OpenAI) -> None:
    assistant_id, thread_id = start(client, "hi")
    run = client.beta.threads.runs.create(thread_id=thread_id, assistant_id=assistant_id)
    cancelled = client.beta.threads.runs.cancel(run.id, thread_id=thread_id)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at
    with pytest.raises(openai.BadRequestError):
        client.beta.threads.runs.cancel(run.id, thread_id=thread_id)


def test_run_overrides_model_instructions_and_lists_runs_newest_first(client: OpenAI) -> None:
    assistant = client.beta.assistants.create(
        model="gpt-a",
        instructions="Be brief.",
        tools=[{"type": "function", "function": {"name": "f"}}],
    )
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(thread_id=thread.id, role="user", content="one")
    first = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert (first.model, first.instructions) == ("gpt-a", "Be brief.")
    assert [t.function.name for t in first.tools] == ["f"]
    second = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant.id,
        model="gpt-b",
        additional_messages=[{"role": "user", "content": "two"}],
    )
    assert second.model == "gpt-b"
    assert reply_text(client, thread.id) == "Echo: two"
    assert [r.id for r in client.beta.threads.runs.list(thread_id=thread.id)] == [
        second.id,
        first.id,
    ]


def test_thread_delete_then_404(client: OpenAI) -> None:
    thread = client.beta.threads.create()
    assert client.beta.threads.delete(thread.id).deleted
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.retrieve(thread.id)


def test_raw_objects_and_stream_events_validate_strictly_against_sdk_models(
    client: OpenAI, sandbox: SandboxServer
) -> None:
    assistant_id, thread_id = start(client, "call:f {}")
    raw = client.beta.with_raw_response
    Assistant.model_validate(raw.assistants.retrieve(assistant_id).http_response.json())
    Thread.model_validate(raw.threads.retrieve(thread_id).http_response.json())
    body = json.dumps({"assistant_id": assistant_id, "stream": True}).encode()
    request = urllib.request.Request(
        f"{sandbox.base_url}/threads/{thread_id}/runs",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as answer:
        blocks = answer.read().decode().strip().split("\n\n")
    adapter = TypeAdapter(AssistantStreamEvent)
    for block in blocks[:-1]:
        name_line, data_line = block.split("\n")
        event = adapter.validate_python(
            {
                "event": name_line.removeprefix("event: "),
                "data": json.loads(data_line.removeprefix("data: ")),
            }
        )
        assert event.event.startswith("thread.")
    assert blocks[-1] == "event: done\ndata: [DONE]"
    run = Run.model_validate(
        raw.threads.runs.list(thread_id=thread_id).http_response.json()["data"][0]
    )
    assert run.status == "requires_action"
    client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread_id, tool_outputs=outputs_for(run, f="x")
    )
    for message in raw.threads.messages.list(thread_id=thread_id).http_response.json()["data"]:
        Message.model_validate(message)
    for step in raw.threads.runs.steps.list(
        run_id=run.id, thread_id=thread_id
    ).http_response.json()["data"]:
        RunStep.model_validate(step)
    Run.model_validate(raw.threads.runs.retrieve(run.id, thread_id=thread_id).http_response.json())
