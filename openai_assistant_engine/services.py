"""What a process keeps per settings: the store, the OpenAI client and its backends, the
tool runner (its instances and its bound on running calls), the tool-call ledger, the run
events and the streaming workers.

SilvaEngine builds an ``OpenaiAssistantEngine`` per request: every engine with the same
settings shares one :class:`Services` (``services_for``), so nothing a run needs lives on
the engine. An embedder or a test passes its own OpenAI client or store instead
(``OpenaiAssistantEngine(logger, openai_client=..., store=...)``): such services are the
engine's own.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

from .config import Settings

__all__ = ["Services", "services_for"]

_logger = logging.getLogger(__name__)
# Services kept per process, by settings (oldest out first).
_KEPT = 16
# Slack on top of the longest step a streaming worker takes before its lease runs out.
_LEASE_MARGIN_SECONDS = 30.0


class Services:
    def __init__(self, settings: Settings, *, openai_client: Any = None, store: Any = None) -> None:
        self.settings = settings
        self._openai_client = openai_client
        self._store = store
        self._lock = threading.Lock()
        self._backends: dict[str, Any] = {}
        self._learnt_states: dict[str, str] = {}
        self._tools: Any = None
        self._ledger: Any = None
        self._run_queue: Any = None
        from .conversation.events import EventHub
        from .conversation.tokens import TokenCounter
        from .conversation.workers import Workers

        self.events = EventHub()
        self.token_counter = TokenCounter()
        self.workers = Workers(lease_seconds=self.submission_seconds + self.tool_seconds)

    @property
    def submission_seconds(self) -> float:
        """The longest one OpenAI request may take, every retry included."""
        from .backends.client import MAX_RETRIES

        return (MAX_RETRIES + 1) * self.settings.openai_timeout_seconds + _LEASE_MARGIN_SECONDS

    @property
    def tool_seconds(self) -> float:
        return self.settings.tool_timeout_seconds

    @property
    def store(self) -> Any:
        if self._store is None:
            from .store.connection import cached_store

            store = cached_store(self.settings)
            with self._lock:
                self._store = self._store or store
        return self._store

    @property
    def openai_client(self) -> Any:
        """The OpenAI client of every backend: the injected one, else one per key and URL."""
        if self._openai_client is None:
            from .backends.client import openai_client

            client = openai_client(self.settings)  # raises, saying how, with no key set
            with self._lock:
                self._openai_client = self._openai_client or client
        return self._openai_client

    def backend(self, name: str, state: str = "openai") -> Any:
        """The backend ``name`` holding conversations in ``state`` (``openai``/``engine``)."""
        key = f"{name}:{state}"
        backend = self._backends.get(key)
        if backend is None:
            from .backends import backend_for

            built = backend_for(name, self.openai_client, state)
            with self._lock:
                backend = self._backends.setdefault(key, built)
        return backend

    def new_thread_state(self, name: str, configured: str) -> str | None:
        """Where a new thread of backend ``name`` keeps its conversation; None: not known
        yet (ask the server: :meth:`learn_state` keeps the answer for the process)."""
        from .backends import choose_state

        chosen = choose_state(name, configured, self.settings.openai_base_url)
        return chosen if chosen is not None else self._learnt_states.get(name)

    def learn_state(self, name: str, state: str) -> None:
        with self._lock:
            self._learnt_states[name] = state

    @property
    def tools(self) -> Any:
        if self._tools is None:
            from .tools import ToolRunner

            runner = ToolRunner(
                logger=logging.getLogger("openai_assistant_engine.tools"),
                allowlist=self.settings.function_module_allowlist,
                timeout_seconds=self.settings.tool_timeout_seconds,
                instance_cache_size=self.settings.tool_instance_cache_size,
            )
            with self._lock:
                self._tools = self._tools or runner
        return self._tools

    @property
    def ledger(self) -> Any:
        if self._ledger is None:
            from .conversation.rounds import ToolCallLedger

            ledger = ToolCallLedger(self.store)
            with self._lock:
                self._ledger = self._ledger or ledger
        return self._ledger

    @property
    def run_queue(self) -> Any:
        """The run queue (unattended/queue.py) when ``run_queue_url`` is set, else None."""
        if self._run_queue is None and self.settings.run_queue_url:
            from .unattended.queue import run_queue_for

            queue = run_queue_for(self.settings)
            with self._lock:
                self._run_queue = self._run_queue or queue
        return self._run_queue


_kept: OrderedDict[Settings, Services] = OrderedDict()
_kept_lock = threading.Lock()


def services_for(settings: Settings) -> Services:
    """The process's services for ``settings``, built on first use."""
    with _kept_lock:
        services = _kept.get(settings)
        if services is None:
            services = _kept[settings] = Services(settings)
            while len(_kept) > _KEPT:
                _kept.popitem(last=False)
        else:
            _kept.move_to_end(settings)
        return services
