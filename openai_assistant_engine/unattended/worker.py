"""The run queue's worker: takes a run off the queue and advances it, as a poll would.

One message, one run. The worker advances it (``Conversation.current_run``: the state
machine, its claims keeping every tool call exactly once whatever else moves the run),
then follows it, polling gently, for up to ``run_queue_follow_seconds``:

==========================  ==============================================================
the run                     the message
==========================  ==============================================================
ended (by this or another)  done (deleted)
still under way             put back on the queue with ``run_queue_delay_seconds``, done;
                            a run older than ``run_queue_max_age_seconds`` is not put
                            back (the sweep ends it)
names no run (unknown id)   done: never retried, a warning logged
unreadable body             failed: SQS delivers it again, then to the dead-letter queue
advancing fails (OpenAI or  failed: SQS delivers it again after its visibility timeout; at
DynamoDB)                   the ``run_queue_max_receives``-th delivery the run is
                            recorded ``failed`` with the reason (the message then goes to
                            the dead-letter queue)
==========================  ==============================================================

The same worker serves the Lambda event source (:func:`handle_sqs_event`, partial batch
failures) and ``oae worker`` (:meth:`QueueWorker.consume`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..conversation.run import RunStatus
from ..errors import BadRequestError, EngineError, NotFoundError
from .queue import Received, RunMessage, RunQueue

__all__ = ["QueueWorker", "handle_sqs_event"]

_logger = logging.getLogger(__name__)
# Who the run records name as having moved the run.
_UPDATED_BY = "run-queue"
# Between two looks at a run being followed: short at first, then gentler.
_FIRST_POLL_SECONDS = 0.25
_LONGEST_POLL_SECONDS = 2.0
# Messages one batch works on at once (an SQS receive gives 10 at most).
_BATCH_WORKERS = 10


class QueueWorker:
    def __init__(
        self,
        engine: Any,
        *,
        queue: RunQueue | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        settings = engine.settings
        self._conversation = engine.conversation
        self._queue = queue or engine.services.run_queue
        if self._queue is None:
            raise BadRequestError("The run queue worker needs the setting run_queue_url.")
        self._max_receives = settings.run_queue_max_receives
        self.follow_seconds = settings.run_queue_follow_seconds
        self._delay_seconds = settings.run_queue_delay_seconds
        self._max_age_seconds = settings.run_queue_max_age_seconds
        # A message is out of sight this long: following it, plus the longest step.
        self.visibility_seconds = int(self.follow_seconds + engine.services.workers.lease_seconds)
        self._clock = clock
        self._sleep = sleep

    def handle(self, received: Received, *, follow_seconds: float | None = None) -> bool:
        """Work on one message. True: done with it (delete it); False: leave it to SQS,
        which delivers it again."""
        try:
            message = RunMessage.from_json(received.body)
        except BadRequestError as exc:
            _logger.error("Run queue message %s is unreadable: %s", received.message_id, exc)
            return False
        follow = self.follow_seconds if follow_seconds is None else follow_seconds
        deadline = self._clock() + max(0.0, follow)
        pause = _FIRST_POLL_SECONDS
        while True:
            try:
                view = self._conversation.current_run(
                    assistant_id=message.assistant_id or "",
                    thread_id=message.thread_id,
                    run_id=message.run_id,
                    updated_by=_UPDATED_BY,
                )
            except NotFoundError as exc:
                _logger.warning("Run queue message names no run (%s): dropped", exc.message)
                return True
            except EngineError as exc:
                return self._failed(message, received, exc)
            status = view.get("status")
            if RunStatus.ended(status):
                return True
            if self._clock() + pause > deadline:
                return self._put_back(message, status)
            self._sleep(pause)
            pause = min(pause * 2, _LONGEST_POLL_SECONDS)

    def handle_batch(
        self, batch: Iterable[Received], *, follow_seconds: float | None = None
    ) -> list[Received]:
        """Work on messages at once; the ones left to SQS (not done)."""
        messages = list(batch)
        if not messages:
            return []
        with ThreadPoolExecutor(min(_BATCH_WORKERS, len(messages))) as pool:
            done = list(pool.map(lambda r: self._safely(r, follow_seconds), messages))
        return [received for received, ok in zip(messages, done, strict=True) if not ok]

    def consume(
        self,
        *,
        stop: threading.Event | None = None,
        wait_seconds: int = 20,
        batches: int | None = None,
        on_batch: Callable[[int, int], None] | None = None,
    ) -> None:
        """Read the queue until ``stop`` is set (or ``batches`` receives were made):
        ``oae worker``. Done messages are deleted; the others reappear after their
        visibility timeout. ``on_batch(received, failed)`` reports each batch."""
        stop = stop or threading.Event()
        made = 0
        while not stop.is_set() and (batches is None or made < batches):
            made += 1
            try:
                batch = self._queue.receive(
                    wait_seconds=wait_seconds, visibility_seconds=self.visibility_seconds
                )
            except EngineError as exc:
                _logger.warning("Reading the run queue failed (trying again): %s", exc.message)
                stop.wait(min(5.0, max(1.0, wait_seconds)))
                continue
            failed = self.handle_batch(batch)
            for received in batch:
                if received in failed:
                    continue
                try:
                    self._queue.delete(received)
                except EngineError as exc:  # it reappears: advancing it again is harmless
                    _logger.warning("Could not delete run queue message: %s", exc.message)
            if on_batch is not None:
                on_batch(len(batch), len(failed))

    # ------------------------------------------------------------------ helpers
    def _safely(self, received: Received, follow_seconds: float | None) -> bool:
        try:
            return self.handle(received, follow_seconds=follow_seconds)
        except Exception:  # one message's bug must not fail the batch's others
            _logger.exception("Run queue message %s failed", received.message_id)
            return False

    def _put_back(self, message: RunMessage, status: str | None) -> bool:
        if self._max_age_seconds and message.age(self._clock()) > self._max_age_seconds:
            _logger.warning(
                "Run %s is still %s after %.0f s: not put back on the queue (the sweep ends it)",
                message.run_id,
                status,
                message.age(self._clock()),
            )
            return True
        try:
            self._queue.enqueue(message, delay_seconds=self._delay_seconds)
        except EngineError as exc:
            # Left to SQS instead: it delivers this message again after its timeout.
            _logger.warning("Run %s not put back on the queue: %s", message.run_id, exc.message)
            return False
        return True

    def _failed(self, message: RunMessage, received: Received, exc: EngineError) -> bool:
        if received.receive_count < self._max_receives:
            _logger.warning(
                "Advancing run %s failed (delivery %d of %d; SQS tries again): %s",
                message.run_id,
                received.receive_count,
                self._max_receives,
                exc.message,
            )
            return False
        reason = f"the run queue gave up after {received.receive_count} attempts: {exc.message}"
        try:
            self._conversation.give_up(message.thread_id, message.run_id, reason)
        except EngineError as again:
            _logger.error("Run %s could not be recorded failed: %s", message.run_id, again)
        return False  # to the dead-letter queue with it


def handle_sqs_event(
    worker: QueueWorker, event: Mapping[str, Any], remaining_seconds: float | None = None
) -> dict[str, Any]:
    """A Lambda SQS event: the partial batch response naming the messages not done."""
    batch = [_received(record) for record in event.get("Records") or ()]
    follow = None
    if remaining_seconds is not None:
        # Leave time for the last step and the answer before Lambda's timeout.
        follow = max(0.0, min(worker.follow_seconds, remaining_seconds / 2))
    failed = worker.handle_batch(batch, follow_seconds=follow)
    return {"batchItemFailures": [{"itemIdentifier": r.message_id} for r in failed]}


def _received(record: Mapping[str, Any]) -> Received:
    attributes = record.get("attributes") or {}
    return Received(
        message_id=str(record.get("messageId") or ""),
        receipt_handle=str(record.get("receiptHandle") or ""),
        body=str(record.get("body") or ""),
        receive_count=int(attributes.get("ApproximateReceiveCount") or 1),
    )
