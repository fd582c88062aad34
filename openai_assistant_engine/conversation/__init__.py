"""The run lifecycle (DESIGN.md section 4), one idea per module:

- ``facade``: the operations the schema calls (ask, currentRun, reads, delete)
- ``starting``: starting a turn, and picking up an ask that failed halfway
- ``driver``: the state machine: one ``advance(run)`` for every trigger
- ``rounds``: exactly once: every claim, over the run record
- ``recorder``: the only writer of run and message records
- ``events``: typed run events, numbered per run; the in-process hub
- ``workers``: streaming workers and their leases on runs
- ``history``: reading messages (never writing)
- ``run``, ``turn``: the typed run record; what moving one run on takes
"""

from .facade import Conversation

__all__ = ["Conversation"]
