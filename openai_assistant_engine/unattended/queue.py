"""The run queue: an SQS queue of runs to advance, one message per run and look.

askOpenAi puts a run on the queue once its start is recorded; the worker (worker.py)
takes it off, advances it, and puts it back with a delay while the run waits on
something outside. A message names a run, nothing more: advancing an ended run does
nothing, so a message seen twice is harmless.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..config import Settings
from ..errors import BadRequestError, UpstreamError

__all__ = ["Received", "RunMessage", "RunQueue", "run_queue_for"]

# A message body is a few ids; anything much larger is not ours.
_MAX_BODY_CHARS = 4096


@dataclass(frozen=True)
class RunMessage:
    thread_id: str
    run_id: str
    assistant_id: str | None = None
    # When the run started (epoch seconds): the worker stops putting back an old run.
    started_at: float = 0.0

    def to_json(self) -> str:
        return json.dumps(
            {
                "thread_id": self.thread_id,
                "run_id": self.run_id,
                "assistant_id": self.assistant_id,
                "started_at": self.started_at,
            }
        )

    @classmethod
    def from_json(cls, body: str) -> RunMessage:
        """The message in ``body``; BadRequestError when it names no run."""
        if len(body) > _MAX_BODY_CHARS:
            raise BadRequestError(f"A run message holds at most {_MAX_BODY_CHARS} characters.")
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise BadRequestError(f"A run message must be JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise BadRequestError("A run message must be a JSON object.")
        thread_id, run_id = data.get("thread_id"), data.get("run_id")
        if not (isinstance(thread_id, str) and thread_id and isinstance(run_id, str) and run_id):
            raise BadRequestError("A run message names its thread_id and run_id as strings.")
        assistant_id = data.get("assistant_id")
        started_at = data.get("started_at")
        return cls(
            thread_id=thread_id,
            run_id=run_id,
            assistant_id=assistant_id if isinstance(assistant_id, str) else None,
            started_at=float(started_at) if isinstance(started_at, (int, float)) else 0.0,
        )

    def age(self, now: float | None = None) -> float:
        return (now or time.time()) - self.started_at if self.started_at else 0.0


@dataclass(frozen=True)
class Received:
    """One message as SQS delivered it."""

    message_id: str
    receipt_handle: str
    body: str
    # SQS's ApproximateReceiveCount: 1 on the first delivery.
    receive_count: int


class RunQueue:
    """The SQS queue at ``url``, through a boto3 SQS ``client``."""

    def __init__(self, client: Any, url: str) -> None:
        self._client = client
        self.url = url

    def enqueue(self, message: RunMessage, *, delay_seconds: int = 0) -> None:
        with _sqs_errors("Putting the run on the queue"):
            self._client.send_message(
                QueueUrl=self.url,
                MessageBody=message.to_json(),
                DelaySeconds=max(0, min(int(delay_seconds), 900)),
            )

    def receive(
        self,
        *,
        max_messages: int = 10,
        wait_seconds: int = 20,
        visibility_seconds: int | None = None,
    ) -> list[Received]:
        """Up to ``max_messages``, waiting up to ``wait_seconds`` for the first (long poll)."""
        extra = {} if visibility_seconds is None else {"VisibilityTimeout": visibility_seconds}
        with _sqs_errors("Reading the run queue"):
            answer = self._client.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=max_messages,
                WaitTimeSeconds=wait_seconds,
                AttributeNames=["ApproximateReceiveCount"],
                **extra,
            )
        return [
            Received(
                message_id=item["MessageId"],
                receipt_handle=item["ReceiptHandle"],
                body=item.get("Body") or "",
                receive_count=int((item.get("Attributes") or {}).get("ApproximateReceiveCount", 1)),
            )
            for item in answer.get("Messages") or ()
        ]

    def delete(self, received: Received) -> None:
        with _sqs_errors("Taking a message off the run queue"):
            self._client.delete_message(QueueUrl=self.url, ReceiptHandle=received.receipt_handle)


@contextmanager
def _sqs_errors(doing: str) -> Iterator[None]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise UpstreamError(f"{doing} failed: SQS answered {code}.") from exc
    except BotoCoreError as exc:
        raise UpstreamError(f"{doing} failed: {type(exc).__name__}.") from exc


def run_queue_for(settings: Settings) -> RunQueue | None:
    """The run queue the settings name (``run_queue_url``), or None."""
    if not settings.run_queue_url:
        return None
    import boto3

    region = settings.region_name or _region_in(settings.run_queue_url) or "us-east-1"
    keys: dict[str, str] = {}
    if settings.aws_access_key_id and settings.aws_secret_access_key:
        keys = {
            "aws_access_key_id": settings.aws_access_key_id,
            "aws_secret_access_key": settings.aws_secret_access_key,
        }
    # No endpoint set: boto3 reads AWS_ENDPOINT_URL_SQS itself, else AWS's own.
    endpoint = {"endpoint_url": settings.sqs_endpoint} if settings.sqs_endpoint else {}
    client = boto3.session.Session(**keys).client("sqs", region_name=region, **endpoint)
    return RunQueue(client, settings.run_queue_url)


def _region_in(url: str) -> str | None:
    """The region of an AWS queue URL (https://sqs.<region>.amazonaws.com/...)."""
    host = url.split("/")[2] if "://" in url else ""
    parts = host.split(".")
    return parts[1] if len(parts) > 3 and parts[0] == "sqs" else None
