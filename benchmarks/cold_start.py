"""Cold start: importing the package and the first ping, in fresh processes.

Goal: both within 1.3x of ``import graphene, pynamodb.models`` (the libraries the data
path cannot do without); neither may import the openai SDK (~0.45 s on its own).

    .venv/bin/python benchmarks/cold_start.py [--runs 9]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

CASES = {
    "baseline: import graphene, pynamodb.models": "import graphene, pynamodb.models",
    "import openai (for scale)": "import openai",
    "import openai_assistant_engine": "import openai_assistant_engine",
    "first ping (import + engine + ping)": (
        "from openai_assistant_engine import OpenaiAssistantEngine;"
        "OpenaiAssistantEngine(None).open_assistant_graphql(query='{ ping }')"
    ),
}
PROBE = (
    "import sys, time; t = time.perf_counter(); {code}; "
    "print(time.perf_counter() - t, 'openai' in sys.modules)"
)


def timed(code: str) -> tuple[float, bool]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(code=code)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return float(out[0]), out[1] == "True"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    loaded_openai: dict[str, bool] = {}
    for _ in range(args.runs):  # interleaved, so drift hits every case alike
        for name, code in CASES.items():
            seconds, openai_loaded = timed(code)
            samples[name].append(seconds)
            loaded_openai[name] = openai_loaded
    baseline = statistics.median(samples[next(iter(CASES))])
    print(f"{'case':<45} {'median ms':>10} {'x baseline':>11} {'imports openai':>15}")
    for name, values in samples.items():
        median = statistics.median(values)
        print(
            f"{name:<45} {median * 1000:>10.1f} {median / baseline:>11.2f} "
            f"{loaded_openai[name]!s:>15}"
        )


if __name__ == "__main__":
    main()
