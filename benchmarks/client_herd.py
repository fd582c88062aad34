"""The first DynamoDB requests of 50 threads at once: clients built, CPU, wall time.

Both variants run side by side in one run, each in a fresh process (cold botocore), over
the same moto server (a process of its own, so its CPU is not counted):

* ``pynamodb``: the table models as PynamoDB connects them by itself: a ``Connection``
  per model, each building its botocore session and client lazily in whichever thread
  asks first, without a lock (the store before issue 10);
* ``shared``: the engine's ``Store``: one ``SharedConnection`` for every table, its
  client built once under a lock;
* ``engine``: SilvaEngine's way, through the whole request path: each thread builds an
  ``OpenaiAssistantEngine`` and sends six ``assistant`` queries (a GetItem each).

Each of ``--threads`` threads, released together, reads one missing item of each table
(6 GetItem requests; ``engine``: of the assistants table). Clients are counted in a
separate pass of each variant with a profile hook on botocore's ``Session.create_client``
(it slows the pass, so the timed pass runs without it); nothing is patched.

    .venv/bin/python benchmarks/client_herd.py [--threads 50] [--runs 3] [--port 18201]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "herd-"


def options(port: int):
    from openai_assistant_engine.store import ConnectionOptions

    return ConnectionOptions(
        table_prefix=PREFIX,
        region="us-east-1",
        host=f"http://127.0.0.1:{port}",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )


def child(variant: str, threads: int, port: int, count: bool) -> None:
    """One cold process: the first requests of ``threads`` threads at once."""
    from pynamodb.exceptions import DoesNotExist

    from openai_assistant_engine.store import Store
    from openai_assistant_engine.store.models import build_models

    if variant == "shared":
        models = Store(options(port)).models.all()
    elif variant == "pynamodb":
        models = build_models(options(port)).all()
    built = []
    if count:
        import botocore.session

        # botocore wraps create_client (the wrapper's code is shared by other methods).
        create_client = botocore.session.Session.create_client
        target = getattr(create_client, "__wrapped__", create_client).__code__

        def profile(frame, event, arg):
            if event == "call" and frame.f_code is target:
                built.append(1)

        threading.setprofile(profile)
    barrier = threading.Barrier(threads + 1)
    failures: list[BaseException] = []

    def first_requests() -> None:
        barrier.wait()
        if variant == "engine":
            engine_requests()
            return
        for model in models:
            ranged = any(a.is_range_key for a in model.get_attributes().values())
            keys = ("x", 1) if ranged else ("x",)
            try:
                model.get(*keys)
            except DoesNotExist:
                pass
            except BaseException as exc:
                failures.append(exc)

    def engine_requests() -> None:
        from openai_assistant_engine import OpenaiAssistantEngine

        opts = options(port)
        engine = OpenaiAssistantEngine(
            None,
            region_name=opts.region,
            dynamodb_endpoint=opts.host,
            aws_access_key_id=opts.aws_access_key_id,
            aws_secret_access_key=opts.aws_secret_access_key,
            table_prefix=opts.table_prefix,
        )
        for _ in range(6):
            answer = engine.execute(
                {"query": '{ assistant(assistantType: "x", assistantId: "y") { assistantId } }'}
            )
            if answer["status_code"] != 404:
                failures.append(RuntimeError(str(answer)))

    workers = [threading.Thread(target=first_requests) for _ in range(threads)]
    for worker in workers:
        worker.start()
    cpu, wall = time.process_time(), time.perf_counter()
    barrier.wait()
    for worker in workers:
        worker.join()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    threading.setprofile(None)
    print(json.dumps({"cpu": cpu, "wall": wall, "clients": len(built), "failures": len(failures)}))


def run_child(variant: str, threads: int, port: int, count: bool) -> dict:
    command = [sys.executable, __file__, "--child", variant, "--threads", str(threads)]
    command += ["--port", str(port)] + (["--count"] if count else [])
    out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def start_moto(port: int) -> subprocess.Popen:
    moto = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            return moto
        except OSError:
            if time.monotonic() > deadline:
                moto.kill()
                raise RuntimeError("moto did not start") from None
            time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--port", type=int, default=18201)
    parser.add_argument("--child", choices=("pynamodb", "shared", "engine"))
    parser.add_argument("--count", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.threads, args.port, args.count)
        return
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    moto = start_moto(args.port)
    try:
        from openai_assistant_engine.store import Store

        Store(options(args.port)).create_tables()
        variants = ("pynamodb", "shared", "engine")
        clients = {v: run_child(v, args.threads, args.port, count=True) for v in variants}
        timed: dict[str, list[dict]] = {v: [] for v in variants}
        for _ in range(args.runs):  # interleaved, so drift hits both alike
            for variant in variants:
                timed[variant].append(run_child(variant, args.threads, args.port, count=False))
    finally:
        moto.terminate()
        moto.wait(timeout=30)
    print(f"{args.threads} threads, first requests (6 GetItem each), medians of {args.runs}")
    print(f"{'variant':<10} {'clients built':>14} {'CPU s':>8} {'wall s':>8} {'failures':>9}")
    for variant in variants:
        cpu = statistics.median(r["cpu"] for r in timed[variant])
        wall = statistics.median(r["wall"] for r in timed[variant])
        failures = sum(r["failures"] for r in timed[variant]) + clients[variant]["failures"]
        print(
            f"{variant:<10} {clients[variant]['clients']:>14} {cpu:>8.2f} {wall:>8.2f} "
            f"{failures:>9}"
        )


if __name__ == "__main__":
    main()
