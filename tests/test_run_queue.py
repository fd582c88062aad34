"""Runs without polling: askOpenAi puts the run on an SQS queue and a worker finishes it.

SQS is moto's server over HTTP (the same process as the tests' DynamoDB); the messages
the worker handles are read from it as Lambda's event source reads them, and handed to
``aws_lambda.queue_handler`` or to ``oae worker``. Nobody calls currentRun unless the test
says so.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from openai_assistant_engine import aws_lambda
from openai_assistant_engine.unattended.queue import Received, RunMessage
from openai_assistant_engine.unattended.worker import QueueWorker, handle_sqs_event
from tests.toolbox import conversation_tools

from .conversation_calls import TERMINAL

_queue_numbers = itertools.count()


class Queues:
    """A run queue and its dead-letter queue on moto, as template.yaml makes them."""

    def __init__(self, endpoint: str, max_receives: int) -> None:
        self.endpoint = endpoint
        self.client = boto3.client(
            "sqs",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        name = f"runs-{next(_queue_numbers)}-{uuid.uuid4().hex[:6]}"
        self.dlq_url = self.client.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        dlq_arn = self.client.get_queue_attributes(
            QueueUrl=self.dlq_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receives)}
        self.url = self.client.create_queue(
            QueueName=name, Attributes={"RedrivePolicy": json.dumps(redrive)}
        )["QueueUrl"]

    def settings(self, **more: Any) -> dict[str, Any]:
        return {"run_queue_url": self.url, "sqs_endpoint": self.endpoint, **more}

    def receive(self, url: str | None = None, visibility: int = 1) -> list[dict[str, Any]]:
        """The messages Lambda's event source would hand over now, as event records."""
        answer = self.client.receive_message(
            QueueUrl=url or self.url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=visibility,
            AttributeNames=["ApproximateReceiveCount"],
        )
        return [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes") or {},
                "eventSource": "aws:sqs",
            }
            for m in answer.get("Messages") or ()
        ]

    def deliver(self, handle: Callable[[dict[str, Any]], dict[str, Any]]) -> tuple[int, int]:
        """One batch through ``handle`` the way Lambda does it: the ones it does not name
        as failures are deleted. (received, failed)."""
        records = self.receive()
        if not records:
            return 0, 0
        answer = handle({"Records": records})
        failed = {item["itemIdentifier"] for item in answer["batchItemFailures"]}
        for record in records:
            if record["messageId"] not in failed:
                self.client.delete_message(QueueUrl=self.url, ReceiptHandle=record["receiptHandle"])
        return len(records), len(failed)

    def depth(self, url: str | None = None) -> int:
        attributes = self.client.get_queue_attributes(
            QueueUrl=url or self.url,
            AttributeNames=["All"],
        )["Attributes"]
        return sum(
            int(attributes.get(f"ApproximateNumberOfMessages{kind}", 0))
            for kind in ("", "NotVisible", "Delayed")
        )


@pytest.fixture
def queues(moto_endpoint: str) -> Queues:
    return Queues(moto_endpoint, max_receives=2)


class _LambdaContext:
    def __init__(self, seconds: float) -> None:
        self._until = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self._until - time.monotonic()) * 1000)


@pytest.fixture
def lambda_worker_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Any], None]]:
    """``use(chat)``: the Lambda container's environment holds the chat's settings."""

    def use(chat: Any) -> None:
        for name, value in chat.settings.items():
            monkeypatch.setenv(name.upper(), str(value))
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "oae-run-worker")
        aws_lambda._ENGINE.reset()

    yield use
    aws_lambda._ENGINE.reset()


def _labels(prefix: str, count: int) -> list[str]:
    return [f"{prefix}-{uuid.uuid4().hex[:8]}-{n}" for n in range(1, count + 1)]


def _three_rounds(labels: list[str]) -> str:
    calls = [
        f"call{'' if n == 1 else n}:count {json.dumps({'label': label})}"
        for n, label in enumerate(labels, start=1)
    ]
    return "Count three times.\n" + "\n".join(calls)


@pytest.mark.parametrize("backend", ["responses", "assistants", "chat"])
def test_a_run_with_tool_rounds_ends_recorded_with_nobody_polling(
    make_chat, queues, lambda_worker_env, backend
):
    chat = make_chat(backend, "poll", **queues.settings(run_queue_follow_seconds=2))
    lambda_worker_env(chat)
    labels = _labels("unattended", 3)

    asked = chat.ask(_three_rounds(labels))
    thread_id, run_id = asked["threadId"], asked["currentRunId"]

    deadline = time.monotonic() + 30
    while queues.depth():
        assert time.monotonic() < deadline, "the queue never emptied"
        queues.deliver(lambda event: aws_lambda.queue_handler(event, _LambdaContext(60)))

    record = chat.run_record(thread_id, run_id)
    assert record["status"] == "completed", record
    assert record["usage"]["total_tokens"] > 0
    assert [conversation_tools.invocations[label] for label in labels] == [1, 1, 1]
    calls = chat.tool_calls(run_id)
    assert sorted(json.loads(c["arguments"])["label"] for c in calls) == sorted(labels)
    assert {c["status"] for c in calls} == {"completed"}
    reply = chat.last_message(thread_id)
    assert reply is not None and reply["message"].startswith("Tool results: count=")
    # The thread is idle again: the next question starts a run.
    assert chat.ask("And again?", thread_id)["currentRunId"] != run_id


@pytest.mark.parametrize("backend", ["responses", "assistants"])
def test_a_worker_and_two_pollers_on_one_run_run_each_tool_once(make_chat, queues, backend):
    chat = make_chat(backend, "poll", **queues.settings(run_queue_follow_seconds=5))
    labels = _labels("raced", 2)
    text = (
        "Count twice.\n"
        f"call:count {json.dumps({'label': labels[0], 'pause': 0.3})}\n"
        f"call2:count {json.dumps({'label': labels[1], 'pause': 0.3})}"
    )
    asked = chat.ask(text)
    thread_id, run_id = asked["threadId"], asked["currentRunId"]
    worker = QueueWorker(chat.engine)
    stop = threading.Event()
    consumer = threading.Thread(target=worker.consume, kwargs={"stop": stop, "wait_seconds": 1})
    consumer.start()
    answers: list[dict[str, Any]] = []

    def poll() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            answer = chat.send(
                "getCurrentRun",
                assistantId=chat.assistant_id,
                threadId=thread_id,
                runId=run_id,
                updatedBy="poller",
            )
            answers.append(answer)
            if answer.get("data") and answer["data"]["currentRun"]["status"] in TERMINAL:
                return
            time.sleep(0.02)

    pollers = [threading.Thread(target=poll) for _ in range(2)]
    for poller in pollers:
        poller.start()
    for poller in pollers:
        poller.join()
    stop.set()
    consumer.join(timeout=10)

    assert answers and all(a["status_code"] == 200 for a in answers), [
        a for a in answers if a["status_code"] != 200
    ][:3]
    assert answers[-1]["data"]["currentRun"]["status"] == "completed"
    assert [conversation_tools.invocations[label] for label in labels] == [1, 1]
    assert chat.run_record(thread_id, run_id)["status"] == "completed"
    assert len(chat.tool_calls(run_id)) == 2


def test_a_run_that_keeps_failing_is_recorded_failed_and_its_message_dead_lettered(
    make_chat, queues, openai_sandbox
):
    chat = make_chat("responses", "poll", **queues.settings(run_queue_max_receives=2))
    asked = chat.ask('Add.\ncall:add {"a": 1, "b": 2}')
    thread_id, run_id = asked["threadId"], asked["currentRunId"]
    worker = QueueWorker(chat.engine)
    # OpenAI answers nothing about the response from now on (every retry included).
    openai_sandbox.inject_errors(500, count=1000, path_contains="/responses/", method="GET")

    def handle(event: dict[str, Any]) -> dict[str, Any]:
        return handle_sqs_event(worker, event)

    deliveries = []
    deadline = time.monotonic() + 60
    while queues.depth() and time.monotonic() < deadline:
        deliveries.append(queues.deliver(handle))
        time.sleep(0.5)

    assert [failed for received, failed in deliveries if received] == [1, 1]
    assert queues.depth() == 0 and queues.depth(queues.dlq_url) == 1
    [dead] = queues.receive(queues.dlq_url)
    assert RunMessage.from_json(dead["body"]).run_id == run_id
    record = chat.run_record(thread_id, run_id)
    assert record["status"] == "failed"
    assert record["error"].startswith("the run queue gave up after 2 attempts: ")
    openai_sandbox.clear_errors()
    # The thread is free again: the next question starts a run.
    assert chat.ask("Still there?", thread_id)["currentRunId"] != run_id


def test_messages_naming_no_run_are_dropped_and_unreadable_ones_left_to_sqs(make_chat, queues):
    chat = make_chat("responses", "poll", **queues.settings())
    worker = QueueWorker(chat.engine)
    unknown = RunMessage("thread_nowhere", "resp_nowhere", chat.assistant_id, time.time())

    def received(body: str) -> Received:
        return Received(message_id=uuid.uuid4().hex, receipt_handle="-", body=body, receive_count=1)

    assert worker.handle(received(unknown.to_json())) is True
    for body in ("not json", "[1, 2]", '{"thread_id": 7}', "x" * 5000):
        assert worker.handle(received(body)) is False
    event = {"Records": [{"messageId": "m-1", "receiptHandle": "-", "body": "{", "attributes": {}}]}
    assert handle_sqs_event(worker, event) == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}


def test_a_run_still_under_way_is_put_back_on_the_queue_with_a_delay(make_chat, queues):
    chat = make_chat(
        "responses",
        "poll",
        **queues.settings(run_queue_follow_seconds=0.01, run_queue_delay_seconds=0),
    )
    labels = _labels("slow", 1)
    asked = chat.ask(f"Count slowly.\ncall:count {json.dumps({'label': labels[0], 'pause': 1.5})}")
    worker = QueueWorker(chat.engine)
    ended = False
    looks = 0
    deadline = time.monotonic() + 30
    while not ended:
        assert time.monotonic() < deadline
        records = queues.receive()
        if not records:  # put back with a delay, or in flight
            time.sleep(0.1)
            continue
        [record] = records
        looks += 1
        assert handle_sqs_event(worker, {"Records": [record]}) == {"batchItemFailures": []}
        queues.client.delete_message(QueueUrl=queues.url, ReceiptHandle=record["receiptHandle"])
        ended = chat.run_record(asked["threadId"], asked["currentRunId"])["status"] in TERMINAL
    assert looks >= 2  # put back at least once while the tool ran
    assert queues.depth() == 0  # an ended run is not put back
    assert conversation_tools.invocations[labels[0]] == 1


def test_oae_worker_finishes_a_run_from_the_queue(make_chat, queues, monkeypatch):
    from openai_assistant_engine.cli import main

    chat = make_chat("responses", "poll", **queues.settings(run_queue_follow_seconds=5))
    for name, value in chat.settings.items():
        monkeypatch.setenv(name.upper(), str(value))
    labels = _labels("cli", 1)
    asked = chat.ask(f"Count.\ncall:count {json.dumps({'label': labels[0]})}")

    assert main(["worker", "--wait-seconds", "1", "--batches", "2"]) == 0

    assert chat.run_record(asked["threadId"], asked["currentRunId"])["status"] == "completed"
    assert conversation_tools.invocations[labels[0]] == 1
    assert queues.depth() == 0


def test_a_queue_that_fails_leaves_the_run_to_polls(make_chat, moto_endpoint):
    chat = make_chat(
        "responses",
        "poll",
        run_queue_url=f"{moto_endpoint}/123456789012/no-such-queue",
        sqs_endpoint=moto_endpoint,
    )
    asked, run = chat.converse('Add.\ncall:add {"a": 2, "b": 2}')
    assert run["status"] == "completed"
    assert chat.last_message(asked["threadId"])["message"] == "Tool results: add=4"
