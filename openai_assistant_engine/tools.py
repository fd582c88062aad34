"""Function calling: run the model's tool calls as Python methods, safely and exactly once.

An assistant record lists its functions as ``{module_name, class_name, function_name,
configuration}``. For each tool call the runner

1. finds the function by name, checks its module against the ``function_module_allowlist``
   setting (nothing outside it is ever imported) and rejects names that reach into Python
   internals (``__class__``, ``_private``, built-ins, ``object``'s methods);
2. imports the module, builds ``Class(logger, **configuration)`` once per distinct
   configuration (the assistant's ``function_configuration`` overlaid by the function's
   own) and calls ``method(**arguments)``;
3. turns the result into JSON text for the model, or any failure into a structured
   ``{"error": {"type", "message"}}`` output so the run goes on.

All calls of one round run concurrently, each under a timeout. A ``ToolCallLedger``
(DynamoDB in production, ``InMemoryToolCallLedger`` here) makes each call run exactly
once even when two drivers handle the same round: a call is claimed before it runs and
its outcome recorded after.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import decimal
import enum
import importlib
import inspect
import json
import logging
import pathlib
import re
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from openai_assistant_engine.backends.base import ToolCall
from openai_assistant_engine.edge.log_text import single_line
from openai_assistant_engine.errors import BadRequestError, ConfigurationError
from openai_assistant_engine.function_schema import describe_callable

__all__ = [
    "Claim",
    "FunctionRef",
    "InMemoryToolCallLedger",
    "ToolCallLedger",
    "ToolOutcome",
    "ToolRunner",
]

ALLOWLIST_SETTING = "function_module_allowlist"

# A claim older than the tool timeout plus this margin, with no outcome recorded, belongs
# to a driver that died mid-call: another driver may take it over. The margin covers
# import and construction done before the timer starts, clock skew and the record write.
CLAIM_MARGIN_SECONDS = 30.0

# Longest exception message handed to the model.
_MAX_MESSAGE_CHARS = 1000

_REQUIRED_KEYS = ("module_name", "class_name", "function_name")


# -- records --------------------------------------------------------------------------


@dataclass(frozen=True)
class FunctionRef:
    """One entry of an assistant record's ``functions``."""

    module_name: str
    class_name: str
    function_name: str
    configuration: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_record(cls, entry: Mapping[str, Any]) -> FunctionRef:
        if not isinstance(entry, Mapping):
            raise BadRequestError(
                "Each entry of an assistant's functions must be an object with "
                f"module_name, class_name and function_name; got {type(entry).__name__}."
            )
        label = entry.get("function_name") or "?"
        missing = [key for key in _REQUIRED_KEYS if not entry.get(key)]
        if missing:
            raise BadRequestError(
                f"Function entry {label!r} is missing {', '.join(missing)}: every entry of "
                "an assistant's functions needs module_name, class_name and function_name.",
                details={"missing": missing},
            )
        wrong = [key for key in _REQUIRED_KEYS if not isinstance(entry[key], str)]
        if wrong:
            raise BadRequestError(
                f"Function entry {label!r}: {', '.join(wrong)} must be a string.",
                details={"invalid": wrong},
            )
        configuration = entry.get("configuration")
        if configuration is None:
            configuration = {}
        if not isinstance(configuration, Mapping):
            raise BadRequestError(
                f"Function entry {label!r}: configuration must be an object, "
                f"got {type(configuration).__name__}."
            )
        return cls(
            module_name=entry["module_name"].strip(),
            class_name=entry["class_name"].strip(),
            function_name=entry["function_name"].strip(),
            configuration=_plain(dict(configuration)),
        )


@dataclass(frozen=True)
class ToolOutcome:
    """What became of one tool call."""

    tool_call_id: str
    name: str
    arguments: str
    output: str  # the JSON text given back to the model
    status: str  # "completed" or "failed"
    error: str | None  # short reason when failed
    duration_ms: int
    started_at: dt.datetime  # timezone-aware UTC
    finished_at: dt.datetime


@dataclass(frozen=True)
class Claim:
    won: bool  # True: this caller must run the call now
    outcome: ToolOutcome | None = None  # the call already finished elsewhere: reuse it


class ToolCallLedger(Protocol):
    """Where tool calls are claimed before they run and recorded after."""

    def claim(
        self, *, run_id: str, thread_id: str, call: ToolCall, stale_after_seconds: float
    ) -> Claim: ...

    def record(self, *, run_id: str, thread_id: str, outcome: ToolOutcome) -> None: ...


class ToolObserver(Protocol):
    """Told, on the runner's own thread, when a call this runner won starts and ends."""

    def started(self, call: ToolCall) -> None: ...

    def finished(self, outcome: ToolOutcome) -> None: ...


class InMemoryToolCallLedger:
    """A thread-safe ledger in memory: for tests and single-process use."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._claimed_at: dict[tuple[str, str], float] = {}
        self._outcomes: dict[tuple[str, str], ToolOutcome] = {}

    def claim(
        self, *, run_id: str, thread_id: str, call: ToolCall, stale_after_seconds: float
    ) -> Claim:
        key = (run_id, call.id)
        with self._lock:
            outcome = self._outcomes.get(key)
            if outcome is not None:
                return Claim(won=False, outcome=outcome)
            now = self._clock()
            claimed_at = self._claimed_at.get(key)
            if claimed_at is not None and now - claimed_at < stale_after_seconds:
                return Claim(won=False)
            self._claimed_at[key] = now
            return Claim(won=True)

    def record(self, *, run_id: str, thread_id: str, outcome: ToolOutcome) -> None:
        with self._lock:
            self._outcomes[(run_id, outcome.tool_call_id)] = outcome

    def get(self, run_id: str, tool_call_id: str) -> ToolOutcome | None:
        with self._lock:
            return self._outcomes.get((run_id, tool_call_id))


# -- the runner -----------------------------------------------------------------------


class _ToolFailure(Exception):
    """A call that cannot run; ``kind`` is the error type the model sees."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class ToolRunner:
    """Runs tool calls: allow-listed import, instance cache, parallel, timed, exactly once.

    Instances are cached on the runner (the ``instance_cache_size`` most recently used)
    and shared by concurrent calls, so tool classes must be safe to call from several
    threads at once.
    """

    def __init__(
        self,
        *,
        logger: logging.Logger,
        allowlist: Sequence[str] | str,
        timeout_seconds: float,
        max_workers: int = 8,
        instance_cache_size: int = 128,
    ) -> None:
        if not timeout_seconds or timeout_seconds <= 0:
            raise ConfigurationError(
                f"tool_timeout_seconds must be a positive number, got {timeout_seconds!r}."
            )
        if max_workers < 1:
            raise ConfigurationError(f"max_workers must be at least 1, got {max_workers!r}.")
        if instance_cache_size < 1:
            raise ConfigurationError(
                f"tool_instance_cache_size must be at least 1, got {instance_cache_size!r}."
            )
        if isinstance(allowlist, str):
            allowlist = allowlist.split(",")
        self._logger = logger
        self._allowlist = tuple(
            prefix.strip().strip(".") for prefix in allowlist if prefix and prefix.strip(" .")
        )
        self._timeout = float(timeout_seconds)
        # Slots of running (not yet timed-out) calls, shared by every run() of this runner.
        self._slots = threading.Semaphore(max_workers)
        self._lock = threading.Lock()
        # Least recently used first: one instance per distinct configuration, at most
        # ``instance_cache_size`` of them (configurations are data anyone may vary).
        self._instances: OrderedDict[tuple[str, str, str], Any] = OrderedDict()
        self._instance_cache_size = instance_cache_size
        self._instance_locks: dict[tuple[str, str, str], threading.Lock] = {}
        self._abandoned: list[threading.Thread] = []

    @property
    def allowlist(self) -> tuple[str, ...]:
        return self._allowlist

    # -- public API -------------------------------------------------------------------

    def run(
        self,
        *,
        functions: Sequence[Mapping[str, Any]],
        assistant_configuration: Mapping[str, Any],
        calls: Sequence[ToolCall],
        run_id: str,
        thread_id: str,
        ledger: ToolCallLedger,
        observer: ToolObserver | None = None,
    ) -> list[ToolOutcome] | None:
        """Run ``calls`` concurrently; outcomes in the order of ``calls``.

        Returns None when some call is claimed by another driver and still running there:
        the calls this driver won are still run and recorded first.
        """
        defaults = _function_configuration(assistant_configuration)
        outcomes: dict[str, ToolOutcome] = {}
        running_elsewhere = False
        running: list[_Job] = []
        wake = threading.Event()  # set whenever one of this run's jobs ends
        queue: deque[ToolCall] = deque()
        seen: set[str] = set()
        for call in calls:
            if call.id not in seen:  # a repeated id runs once and shares the outcome
                seen.add(call.id)
                queue.append(call)

        def settle(job: _Job) -> None:
            outcome = job.outcome
            assert outcome is not None
            outcomes[job.call.id] = outcome
            if observer is not None:
                observer.finished(outcome)
            try:
                ledger.record(run_id=run_id, thread_id=thread_id, outcome=outcome)
            except Exception:
                # The model still gets the output; a driver that later finds the claim
                # without an outcome waits for it to go stale.
                self._logger.exception(
                    "Could not record tool call %s of run %s",
                    _log_label(outcome.tool_call_id, outcome.name),
                    run_id,
                )

        try:
            while queue or running:
                wake.clear()  # before reaping, so a job ending meanwhile is not missed
                self._reap(running, settle)
                if queue:
                    if not self._slots.acquire(timeout=_time_to_next_deadline(running)):
                        continue  # a deadline passed first: reap, then try again
                    call = queue.popleft()
                    try:
                        claim = ledger.claim(
                            run_id=run_id,
                            thread_id=thread_id,
                            call=call,
                            stale_after_seconds=self._timeout + CLAIM_MARGIN_SECONDS,
                        )
                    except BaseException:
                        self._slots.release()
                        raise
                    if claim.won:
                        if observer is not None:
                            observer.started(call)
                        job = _Job(call, self._slots, wake)
                        running.append(job)
                        job.start(self._timeout, lambda j=job: self._work(j, functions, defaults))
                    else:
                        self._slots.release()
                        if claim.outcome is not None:
                            outcomes[call.id] = claim.outcome
                        else:
                            running_elsewhere = True
                elif running:
                    wake.wait(_time_to_next_deadline(running))
        except Exception:
            # Finish (or time out) what already started so it is recorded, then re-raise.
            while running:
                wake.clear()
                self._reap(running, settle)
                if running:
                    wake.wait(_time_to_next_deadline(running))
            raise

        if running_elsewhere:
            return None
        return [outcomes[call.id] for call in calls]

    def describe(
        self,
        *,
        functions: Sequence[Mapping[str, Any]],
        assistant_configuration: Mapping[str, Any],
    ) -> list[dict[str, Any]]:
        """One ``{"name", "description", "parameters"}`` per function.

        A schema in ``assistant_configuration["tools"]`` wins; otherwise the schema is
        generated from the imported method's signature and docstring.
        """
        configured = _configured_schemas(assistant_configuration)
        defaults = _function_configuration(assistant_configuration)
        described: list[dict[str, Any]] = []
        names: set[str] = set()
        left_out: list[str] = []
        for position, entry in enumerate(functions):
            try:
                ref = FunctionRef.from_record(entry)
            except BadRequestError as exc:
                left_out.append(f"functions[{position}]: {exc.message}")
                continue
            if ref.function_name in names:
                continue
            names.add(ref.function_name)
            schema = configured.get(ref.function_name)
            if schema is None:
                # One function that cannot be described must not stop the assistant: it
                # is left out, and a call the model makes anyway gets the structured
                # error output a call to it would get on the Assistants backend.
                try:
                    schema = describe_callable(self._resolve(ref, defaults), ref.function_name)
                except _ToolFailure as failure:
                    left_out.append(f"{ref.function_name} ({failure.kind}: {failure.message})")
                    continue
                except Exception as exc:
                    left_out.append(f"{ref.function_name} (no schema: {_describe_exception(exc)})")
                    continue
            described.append(schema)
        if left_out:
            self._logger.warning(
                "Functions left out of the request (they cannot be described): %s",
                "; ".join(left_out),
            )
        return described

    # -- one call ---------------------------------------------------------------------

    def _work(
        self, job: _Job, functions: Sequence[Mapping[str, Any]], defaults: dict[str, Any]
    ) -> ToolOutcome:
        """Runs in the call's worker thread; never raises."""
        call = job.call
        try:
            entry = _find_function(functions, call.name)
            ref = FunctionRef.from_record(entry)
            method = self._resolve(ref, defaults)
            arguments = _parse_arguments(call.arguments)
            _check_arguments(method, arguments)
            result = method(**arguments)
            output = _to_json(result)
        except _ToolFailure as failure:
            self._logger.warning(
                "Tool call %s failed: %s: %s",
                _log_label(call.id, call.name),
                failure.kind,
                single_line(failure.message, _LOGGED_MESSAGE_CHARS),
            )
            return job.failed(failure.kind, failure.message)
        except BadRequestError as exc:  # a malformed function entry
            self._logger.warning(
                "Tool call %s failed: %s",
                _log_label(call.id, call.name),
                single_line(exc.message, _LOGGED_MESSAGE_CHARS),
            )
            return job.failed("import_error", exc.message)
        except BaseException as exc:
            # The traceback goes to the log; the model gets the exception's type and message.
            self._logger.exception("Tool call %s raised", _log_label(call.id, call.name))
            return job.failed("exception", _describe_exception(exc))
        self._logger.info(
            "Tool call %s completed in %d ms", _log_label(call.id, call.name), job.elapsed_ms()
        )
        return job.completed(output)

    def _resolve(self, ref: FunctionRef, defaults: Mapping[str, Any]) -> Callable[..., Any]:
        """The bound method ``ref`` names, after every check; raises ``_ToolFailure``."""
        self._check_names(ref)
        if not self._allowed(ref.module_name):
            raise _ToolFailure(
                "not_allowed",
                f"module {ref.module_name!r} is not in the {ALLOWLIST_SETTING} setting; add "
                f"it (or a parent package) to {ALLOWLIST_SETTING} to let "
                f"{ref.function_name!r} run.",
            )
        try:
            module = importlib.import_module(ref.module_name)
        except BaseException as exc:
            self._logger.exception("Could not import tool module %s", ref.module_name)
            raise _ToolFailure(
                "import_error",
                f"could not import module {ref.module_name!r}: {_describe_exception(exc)}",
            ) from exc

        cls = getattr(module, ref.class_name, None)
        if cls is None:
            raise _ToolFailure(
                "import_error", f"module {ref.module_name!r} has no class {ref.class_name!r}"
            )
        if not inspect.isclass(cls):
            raise _ToolFailure("not_allowed", f"{ref.module_name}.{ref.class_name} is not a class")
        if not self._allowed(cls.__module__):
            # Re-exported from elsewhere (a built-in, the standard library...): the class
            # itself must come from an allowed module too.
            raise _ToolFailure(
                "not_allowed",
                f"class {ref.class_name!r} is defined in {cls.__module__!r}, which is not in "
                f"the {ALLOWLIST_SETTING} setting",
            )
        owner = next((klass for klass in cls.__mro__ if ref.function_name in vars(klass)), None)
        if owner is None:
            raise _ToolFailure(
                "import_error", f"class {ref.class_name!r} has no function {ref.function_name!r}"
            )
        if owner is object or not self._allowed(owner.__module__):
            raise _ToolFailure(
                "not_allowed",
                f"{ref.function_name!r} is inherited from {owner.__module__}.{owner.__qualname__}"
                f", which is not in the {ALLOWLIST_SETTING} setting",
            )

        configuration = {**defaults, **ref.configuration}
        instance = self._instance(cls, ref, configuration)
        method = getattr(instance, ref.function_name)
        if inspect.isbuiltin(method) or not (
            inspect.ismethod(method) or inspect.isfunction(method)
        ):
            raise _ToolFailure(
                "not_allowed",
                f"{ref.class_name}.{ref.function_name} is not a function defined by the class",
            )
        # A function from elsewhere stored on an allowed class (`sh = staticmethod(
        # subprocess.getoutput)`): where the code was defined counts, as for the class.
        defined_in = getattr(getattr(method, "__func__", method), "__module__", None)
        if not isinstance(defined_in, str) or not self._allowed(defined_in):
            raise _ToolFailure(
                "not_allowed",
                f"{ref.class_name}.{ref.function_name} is defined in {defined_in!r}, which is "
                f"not in the {ALLOWLIST_SETTING} setting",
            )
        return method

    def _check_names(self, ref: FunctionRef) -> None:
        segments = ref.module_name.split(".")
        if not all(segment.isidentifier() for segment in segments) or any(
            _is_dunder(segment) for segment in segments
        ):
            raise _ToolFailure(
                "not_allowed",
                f"module name {ref.module_name!r} must be an absolute dotted module path "
                "(no leading dot, empty or special segments)",
            )
        for kind, name in (("class", ref.class_name), ("function", ref.function_name)):
            if not name.isidentifier() or name.startswith("_"):
                raise _ToolFailure(
                    "not_allowed",
                    f"{kind} name {name!r} must be a public identifier (no leading underscore)",
                )

    def _allowed(self, module_name: str) -> bool:
        return any(
            module_name == prefix or module_name.startswith(prefix + ".")
            for prefix in self._allowlist
        )

    def _instance(self, cls: type, ref: FunctionRef, configuration: dict[str, Any]) -> Any:
        key = (ref.module_name, ref.class_name, _canonical_json(configuration))
        with self._lock:
            instance = self._instances.get(key)
            if instance is not None:
                self._instances.move_to_end(key)
                return instance
            key_lock = self._instance_locks.setdefault(key, threading.Lock())
        # One construction per key even when calls race; other keys are not held up.
        with key_lock:
            with self._lock:
                instance = self._instances.get(key)
            if instance is None:
                try:
                    instance = cls(self._logger, **configuration)
                except BaseException as exc:
                    with self._lock:  # no instance to guard: the lock would only pile up
                        self._instance_locks.pop(key, None)
                    self._logger.exception("Could not create tool class %s", ref.class_name)
                    raise _ToolFailure(
                        "import_error",
                        f"could not create {ref.class_name}: {_describe_exception(exc)}",
                    ) from exc
                with self._lock:
                    self._instances[key] = instance
                    while len(self._instances) > self._instance_cache_size:
                        evicted, _ = self._instances.popitem(last=False)
                        self._instance_locks.pop(evicted, None)
        return instance

    # -- scheduling -------------------------------------------------------------------

    def _reap(self, running: list[_Job], settle: Callable[[_Job], None]) -> None:
        """Settle the jobs that finished, and time out those past their deadline."""
        now = time.monotonic()
        for job in list(running):
            if not job.done.is_set() and now >= job.deadline and job.abandon(self._timeout):
                self._note_abandoned(job)
            if job.done.is_set():
                running.remove(job)
                settle(job)

    def _note_abandoned(self, job: _Job) -> None:
        # Python cannot stop a thread. A call past its timeout gets a "timeout" outcome
        # and gives its slot back, so it blocks neither the other calls nor later runs;
        # its daemon thread keeps going until the function returns (or the process ends),
        # so a function that always hangs costs one idle thread per call. The trade-off
        # favours a run that goes on over a hard cap on threads; the count is logged.
        with self._lock:
            self._abandoned = [thread for thread in self._abandoned if thread.is_alive()]
            if job.thread is not None:
                self._abandoned.append(job.thread)
            still_running = len(self._abandoned)
        self._logger.warning(
            "Tool call %s timed out after %.1f s; its thread keeps running in the "
            "background (%d such threads)",
            _log_label(job.call.id, job.call.name),
            self._timeout,
            still_running,
        )


class _Job:
    """One claimed call running in its own daemon thread.

    It ends exactly once: either the worker finishes it or the scheduler abandons it at
    its deadline. Whichever comes first sets the outcome and gives the slot back.
    """

    def __init__(self, call: ToolCall, slots: threading.Semaphore, wake: threading.Event) -> None:
        self.call = call
        self.done = threading.Event()
        self._wake = wake
        self.outcome: ToolOutcome | None = None
        self.thread: threading.Thread | None = None
        self.deadline = float("inf")
        self._slots = slots
        self._lock = threading.Lock()
        self._started_at = _utcnow()
        self._started = time.monotonic()

    def start(self, timeout: float, work: Callable[[], ToolOutcome]) -> None:
        self._started_at = _utcnow()
        self._started = time.monotonic()
        self.deadline = self._started + timeout
        self.thread = threading.Thread(
            target=lambda: self._end(work()), name=f"oae-tool-{self.call.name}", daemon=True
        )
        try:
            self.thread.start()
        except RuntimeError as exc:  # "can't start new thread"
            self._end(self.failed("exception", f"could not start a worker thread: {exc}"))

    def elapsed_ms(self) -> int:
        return int((time.monotonic() - self._started) * 1000)

    def completed(self, output: str) -> ToolOutcome:
        return self._outcome(output, "completed", None)

    def failed(self, kind: str, message: str) -> ToolOutcome:
        return self._outcome(_error_output(kind, message), "failed", f"{kind}: {message}")

    def abandon(self, timeout: float) -> bool:
        return self._end(
            self.failed("timeout", f"the function did not finish within {timeout:g} seconds")
        )

    def _end(self, outcome: ToolOutcome) -> bool:
        with self._lock:
            if self.done.is_set():
                return False
            self.outcome = outcome
            self._slots.release()
            self.done.set()
        self._wake.set()
        return True

    def _outcome(self, output: str, status: str, error: str | None) -> ToolOutcome:
        return ToolOutcome(
            tool_call_id=self.call.id,
            name=self.call.name,
            arguments=self.call.arguments,
            output=_encodable(output),
            status=status,
            error=None if error is None else _encodable(error),
            duration_ms=self.elapsed_ms(),
            started_at=self._started_at,
            finished_at=_utcnow(),
        )


# -- helpers --------------------------------------------------------------------------


def _time_to_next_deadline(running: list[_Job]) -> float | None:
    if not running:
        return None  # wait for any slot: other runs give theirs back at their deadlines
    return max(0.0, min(job.deadline for job in running) - time.monotonic())


def _find_function(functions: Sequence[Mapping[str, Any]], name: str) -> Mapping[str, Any]:
    available: list[str] = []
    for entry in functions:
        if isinstance(entry, Mapping):
            if entry.get("function_name") == name:
                return entry
            if isinstance(entry.get("function_name"), str):
                available.append(entry["function_name"])
    listed = ", ".join(repr(item) for item in available) or "none"
    raise _ToolFailure(
        "unknown_function",
        f"no function named {name!r} is configured for this assistant (available: {listed})",
    )


def _parse_arguments(text: str | None) -> dict[str, Any]:
    if text is None or not text.strip():
        return {}
    try:
        arguments = json.loads(text)
    except ValueError as exc:
        raise _ToolFailure("invalid_arguments", f"arguments are not valid JSON: {exc}") from exc
    if not isinstance(arguments, dict):
        raise _ToolFailure(
            "invalid_arguments",
            f"arguments must be a JSON object, got {_json_kind(arguments)}",
        )
    return arguments


def _check_arguments(method: Callable[..., Any], arguments: dict[str, Any]) -> None:
    """Bind before calling, so a wrong signature is told apart from a TypeError inside."""
    try:
        signature = inspect.signature(method)
    except (TypeError, ValueError):
        return
    try:
        signature.bind(**arguments)
    except TypeError as exc:
        raise _ToolFailure(
            "invalid_arguments", f"arguments do not fit the function: {exc}"
        ) from None


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def _to_json(result: Any) -> str:
    # allow_nan=False: NaN and Infinity are no JSON, and the model would get invalid text.
    try:
        return json.dumps(result, default=_json_default, ensure_ascii=False, allow_nan=False)
    except _Unserialisable as exc:
        raise _ToolFailure("unserialisable_result", str(exc)) from None
    except ValueError as exc:
        if "circular" in str(exc).lower():
            raise _ToolFailure(
                "unserialisable_result", "the result is not JSON-serialisable: it contains itself"
            ) from None
        raise _ToolFailure(
            "unserialisable_result",
            "the result is not JSON-serialisable: it holds a float NaN or Infinity, "
            "which JSON cannot carry",
        ) from None
    except RecursionError:
        raise _ToolFailure(
            "unserialisable_result", "the result is not JSON-serialisable: it nests too deep"
        ) from None


class _Unserialisable(TypeError):
    """A value of a type the JSON conversion below does not know."""


def _json_default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, (bytes, bytearray)):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(value).decode("ascii")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (uuid.UUID, pathlib.PurePath)):
        return str(value)
    # Anything else would reach the model as a repr (with a memory address): refuse it.
    kind = type(value)
    raise _Unserialisable(
        f"the result is not JSON-serialisable: it holds a {kind.__module__}.{kind.__qualname__}"
        ", which JSON cannot carry; return dicts, lists, strings, numbers, booleans or None"
    )


# The model chooses a call's id, name and arguments (which failure messages quote):
# written verbatim, a newline in one would forge a log line.
_LOGGED_MESSAGE_CHARS = 500


def _log_label(call_id: str, name: str) -> str:
    """``id (name)`` of a tool call, safe on one log line."""
    return f"{single_line(call_id, 80)} ({single_line(name, 80)})"


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _encodable(text: str) -> str:
    """``text`` with every lone surrogate (what Python makes of undecodable bytes: file
    names, subprocess output) replaced by U+FFFD: they have no UTF-8 form, so neither
    OpenAI's request nor a DynamoDB item could carry them."""
    if not _LONE_SURROGATE.search(text):
        return text
    # A high and low surrogate side by side are one character split in two: join them.
    joined = text.encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass")
    return _LONE_SURROGATE.sub("\ufffd", joined)


def _error_output(kind: str, message: str) -> str:
    return json.dumps({"error": {"type": kind, "message": message}}, ensure_ascii=False)


def _describe_exception(exc: BaseException) -> str:
    text = str(exc)
    if len(text) > _MAX_MESSAGE_CHARS:
        text = text[:_MAX_MESSAGE_CHARS] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _plain(value: Any) -> Any:
    """DynamoDB hands numbers back as Decimal: make them int or float, recursively."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _function_configuration(assistant_configuration: Mapping[str, Any] | None) -> dict[str, Any]:
    defaults = (assistant_configuration or {}).get("function_configuration") or {}
    if not isinstance(defaults, Mapping):
        raise BadRequestError(
            "The assistant's configuration.function_configuration must be an object, "
            f"got {type(defaults).__name__}."
        )
    return _plain(dict(defaults))


def _configured_schemas(assistant_configuration: Mapping[str, Any] | None) -> dict[str, dict]:
    """Function schemas in the assistant's ``tools``, in either API's shape, by name."""
    schemas: dict[str, dict] = {}
    for tool in (assistant_configuration or {}).get("tools") or ():
        if not isinstance(tool, Mapping) or tool.get("type", "function") != "function":
            continue
        # Assistants: {"type": "function", "function": {...}}; Responses: flat.
        spec = tool.get("function") if isinstance(tool.get("function"), Mapping) else tool
        name = spec.get("name")
        if not isinstance(name, str) or not name or name in schemas:
            continue
        schemas[name] = {
            "name": name,
            "description": spec.get("description") or "",
            "parameters": _plain(spec.get("parameters"))
            or {"type": "object", "properties": {}, "required": []},
        }
    return schemas


def _is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
