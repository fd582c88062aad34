"""``oae schema``: print the GraphQL schema as SDL."""

from __future__ import annotations

import argparse

__all__ = ["cmd_schema"]


def cmd_schema(_args: argparse.Namespace) -> int:
    from ..schema import build_schema

    print(str(build_schema()))
    return 0
