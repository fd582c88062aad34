"""Runs that finish with no client polling: the run queue and its worker (SQS), OpenAI's
webhooks, the notification sent when a run ends, and the sweep of stale runs.

Every one of them moves a run through the same ``advance`` as a ``currentRun`` poll
(conversation/driver.py), so any mix of them and of polls keeps a run's tools exactly once.
"""

from .queue import RunMessage, RunQueue, run_queue_for

__all__ = ["RunMessage", "RunQueue", "run_queue_for"]
