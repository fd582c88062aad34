"""Items read for page k of a thread's messageList: O(limit), not O(k x limit).

Page k is found with COUNT requests (no items sent) and then read from its first key. Side
by side: the same page read the naive way (query from the top, skip (k-1) x limit items),
which is what a page number over DynamoDB costs without the seek (read in pages of
``limit`` so that it reads no more than it must). Items are counted at the
wire by the counting proxy in front of moto.

    .venv/bin/python benchmarks/pagination.py [--messages 1000] [--limit 20]
"""

from __future__ import annotations

import argparse
import logging
import time
from datetime import datetime, timedelta, timezone
from itertools import islice

from _harness import Client, services, settings_for

from openai_assistant_engine import OpenaiAssistantEngine, create_tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=20)
    args = parser.parse_args()
    with services() as env:
        setting = settings_for(env, "assistants", prefix="bench-pages-")
        create_tables(**setting)
        engine = OpenaiAssistantEngine(logging.getLogger("bench"), **setting)
        client = Client(engine)
        store = engine.store
        Message = store.models.Message
        start = datetime(2026, 1, 1, tzinfo=timezone.utc)
        with Message.batch_write() as batch:
            for number in range(args.messages):
                batch.save(
                    Message(
                        "thread_bench",
                        f"msg_{number:05d}",
                        role="user" if number % 2 else "assistant",
                        message=f"message {number}",
                        created_at=start + timedelta(seconds=number),
                    )
                )
        proxy = env["proxy"]
        print(
            f"{'page':>5} {'engine items':>13} {'engine ms':>10} "
            f"{'naive items':>12} {'naive ms':>9}"
        )
        last_page = -(-args.messages // args.limit)
        for page in sorted({page for page in (1, 10, 50, last_page) if page <= last_page}):
            proxy.reset()
            began = time.perf_counter()
            data = client(
                "getMessageList", threadId="thread_bench", pageNumber=page, limit=args.limit
            )
            engine_ms = (time.perf_counter() - began) * 1000
            engine_items = proxy.items_returned
            assert len(data["messageList"]["messageList"]) == min(
                args.limit, args.messages - (page - 1) * args.limit
            )
            proxy.reset()
            began = time.perf_counter()
            skip = (page - 1) * args.limit
            naive = list(
                islice(
                    Message.created_at_index.query("thread_bench", page_size=args.limit),
                    skip,
                    skip + args.limit,
                )
            )
            naive_ms = (time.perf_counter() - began) * 1000
            assert len(naive) == len(data["messageList"]["messageList"])
            print(
                f"{page:>5} {engine_items:>13} {engine_ms:>10.1f} "
                f"{proxy.items_returned:>12} {naive_ms:>9.1f}"
            )


if __name__ == "__main__":
    main()
