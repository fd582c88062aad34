"""What `sam build` is told to build: the Makefile's target, requirements.txt, no tests.

The artifact itself is built and imported in a bare interpreter by ``.ci/run`` (it needs
PyPI); these checks keep the pieces it relies on in step with the project.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

cfnlint = pytest.importorskip("cfnlint", reason="cfn-lint is in the dev extra")
tomllib = pytest.importorskip("tomllib", reason="tomllib is in Python 3.11+")


def _functions() -> dict[str, dict]:
    from cfnlint.decode import decode_str

    template, matches = decode_str((ROOT / "template.yaml").read_text())
    assert not matches, matches
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def test_every_function_is_built_by_a_makefile_target() -> None:
    makefile = (ROOT / "Makefile").read_text()
    functions = _functions()
    assert functions
    for name, resource in functions.items():
        assert resource["Metadata"]["BuildMethod"] == "makefile"
        assert resource["Properties"]["CodeUri"] == "."
        # A rule may build several functions: `build-A build-B:`.
        targets = rf"^(?:build-\S+ +)*build-{name}(?: +build-\S+)*:"
        assert re.search(targets, makefile, re.MULTILINE), name


def test_the_target_installs_requirements_and_the_package_only() -> None:
    recipe = (ROOT / "Makefile").read_text()
    assert "--requirement requirements.txt" in recipe
    assert '--no-deps --target "$(ARTIFACTS_DIR)"' in recipe
    # Nothing is copied from the checkout but the package pip builds from pyproject.toml.
    assert not re.search(r"^\s*cp\b", recipe, re.MULTILINE)


def test_requirements_are_the_package_dependencies() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    requirements = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert requirements == pyproject["project"]["dependencies"]


def test_the_package_ships_only_the_package() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["tool"]["setuptools"]["packages"]["find"]["include"] == [
        "openai_assistant_engine*"
    ]
    assert (ROOT / "openai_assistant_engine" / "examples" / "weather_tools.py").is_file()


def test_sam_build_output_is_ignored() -> None:
    assert ".aws-sam/" in (ROOT / ".gitignore").read_text().splitlines()
