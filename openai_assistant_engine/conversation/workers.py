"""Streaming workers of this process, and the leases they hold on runs.

A streaming worker (long-lived processes: ``oae serve``, a Python program) reads a run's
events as they come and advances it; while it does, it holds a lease on the run record
(``lease_until`` / ``lease_owner``) and polls only read the record, so the run is
stepped by one driver, not two. The lease is renewed at each step and while a long
answer streams; it ends with the run or when the worker stops. A lease whose worker
died runs out (``lease_seconds``: the longest a step may take) and polls take over; a
lease of this process whose worker is gone is known dead at once.
"""

from __future__ import annotations

import threading
import time
import uuid

from .recorder import Lease
from .run import RunRecord

__all__ = ["Workers"]


class Workers:
    def __init__(self, *, lease_seconds: float) -> None:
        self.lease_seconds = lease_seconds
        # A long answer renews the lease this often while it streams.
        self.renew_every = lease_seconds / 3
        self._process = uuid.uuid4().hex[:12]
        self._lock = threading.Lock()
        self._live: set[str] = set()

    def new_lease(self) -> Lease:
        owner = f"{self._process}:{uuid.uuid4().hex[:8]}"
        with self._lock:
            self._live.add(owner)
        return Lease(owner, time.time() + self.lease_seconds)

    def stopped(self, lease: Lease) -> None:
        with self._lock:
            self._live.discard(lease.owner)

    def holds(self, record: RunRecord) -> bool:
        """True while a live streaming worker (of any process) holds the run."""
        if not record.leased() or not record.lease_owner:
            return False
        process = record.lease_owner.partition(":")[0]
        if process != self._process:
            return True  # another process's: trusted until it runs out
        with self._lock:
            return record.lease_owner in self._live

    def start(self, name: str, work: object) -> None:
        threading.Thread(target=work, name=name, daemon=True).start()  # type: ignore[arg-type]
