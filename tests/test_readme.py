"""The README's Python snippet runs as pasted, from another directory, offline."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_snippet(heading: str) -> str:
    text = README.read_text()
    section = text[text.index(heading) :]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, f"no python block under {heading!r}"
    return match.group(1)


def test_the_use_it_from_python_snippet_runs_as_pasted(tmp_path: Path) -> None:
    snippet = _python_snippet("## Use it from Python")
    # Nothing of the checkout on the path, no settings from the environment: as a user has.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "OPENAI_", "PYTEST", "PYTHONPATH"))
    }
    result = subprocess.run(
        [sys.executable, "-c", snippet],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "get_weather" in result.stdout and "Paris" in result.stdout, result.stdout
