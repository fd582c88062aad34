"""``oae worker``: the run queue's worker on this machine (runs without polling).

It reads ``run_queue_url`` (moto or real SQS; the endpoint is ``sqs_endpoint``, else
boto3's ``AWS_ENDPOINT_URL_SQS``) with long polls and advances each run it names, as the
Lambda worker does (unattended/worker.py). Settings come from the options here, then
the environment, then .env; the tables must exist (no embedded DynamoDB: it would be
empty). Ctrl-C stops it after the batch in hand.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from typing import Any

from ..config import Settings
from .console import CommandError, configure_logging
from .runtime import dynamodb_location

__all__ = ["add_worker_command", "cmd_worker"]


def add_worker_command(commands: Any) -> None:
    worker = commands.add_parser(
        "worker",
        help="advance the runs of the run queue (runs without polling)",
        description="Read the run queue (run_queue_url; the SQS endpoint is sqs_endpoint, "
        "else AWS_ENDPOINT_URL_SQS) and advance each run it names until it ends, as the "
        "Lambda worker does. Settings come from the options here, then the environment, "
        "then .env; the tables must exist. Ctrl-C stops it after the batch in hand.",
    )
    worker.add_argument("--queue-url", help="the run queue (default: the run_queue_url setting)")
    worker.add_argument("--sqs-endpoint", help="a local or emulated SQS URL")
    worker.add_argument("--dynamodb-endpoint", help="a local or emulated DynamoDB URL")
    worker.add_argument("--region", help="AWS region")
    worker.add_argument("--table-prefix", help="table name prefix (default oae-)")
    worker.add_argument(
        "--wait-seconds",
        type=int,
        default=20,
        choices=range(0, 21),
        metavar="0-20",
        help="how long one receive waits for a message (SQS long polling; default 20)",
    )
    worker.add_argument(
        "--batches",
        type=int,
        metavar="N",
        help="stop after N receives (default: run until interrupted)",
    )
    worker.add_argument("--verbose", action="store_true", help="log everything")
    worker.set_defaults(func=cmd_worker)


def cmd_worker(args: argparse.Namespace) -> int:
    from ..engine import OpenaiAssistantEngine
    from ..unattended.worker import QueueWorker

    overrides = {
        "run_queue_url": args.queue_url,
        "sqs_endpoint": args.sqs_endpoint,
        "dynamodb_endpoint": args.dynamodb_endpoint,
        "region_name": args.region,
        "table_prefix": args.table_prefix,
    }
    setting = {key: value for key, value in overrides.items() if value}
    settings = Settings.load(setting)
    if not settings.run_queue_url:
        raise CommandError(
            "No run queue: set run_queue_url in the environment or .env, or pass --queue-url."
        )
    configure_logging(args.verbose)
    engine = OpenaiAssistantEngine(logging.getLogger("openai_assistant_engine"), **setting)
    worker = QueueWorker(engine)
    print(
        f"Run queue: {settings.run_queue_url}; DynamoDB: {dynamodb_location(settings)}",
        file=sys.stderr,
        flush=True,
    )
    totals = {"messages": 0, "left": 0}

    def report(received: int, failed: int) -> None:
        totals["messages"] += received
        totals["left"] += failed
        if received:
            print(f"{received} message(s), {failed} left to SQS", file=sys.stderr, flush=True)

    stop = threading.Event()
    try:
        worker.consume(
            stop=stop, wait_seconds=args.wait_seconds, batches=args.batches, on_batch=report
        )
    except KeyboardInterrupt:
        stop.set()
    print(f"{totals['messages']} message(s) handled, {totals['left']} left to SQS", flush=True)
    return 0
