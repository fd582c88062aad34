"""The tool runner: allow-listed import, parallel timed calls, errors as outputs, exactly once."""

from __future__ import annotations

import itertools
import json
import logging
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import pytest

from openai_assistant_engine.backends.base import ToolCall
from openai_assistant_engine.errors import BadRequestError, ConfigurationError
from openai_assistant_engine.tools import (
    CLAIM_MARGIN_SECONDS,
    Claim,
    FunctionRef,
    InMemoryToolCallLedger,
    ToolOutcome,
    ToolRunner,
)
from tests.toolbox import probe

PROBE = "tests.toolbox.probe"
NEVER_IMPORTED = "tests.toolbox.never_imported"
LOGGER = logging.getLogger("oae.tests.tools")

_ids = itertools.count()


@pytest.fixture(autouse=True)
def _fresh_probe() -> Iterator[None]:
    probe.reset()
    yield
    probe.release_hung.set()  # let threads left behind by timeout tests end


@pytest.fixture
def token() -> str:
    return uuid.uuid4().hex


def make_runner(
    allowlist: tuple[str, ...] = ("tests.toolbox",), timeout: float = 5.0, max_workers: int = 8
) -> ToolRunner:
    return ToolRunner(
        logger=LOGGER, allowlist=allowlist, timeout_seconds=timeout, max_workers=max_workers
    )


def entry(
    function_name: str,
    *,
    module_name: str = PROBE,
    class_name: str = "Probe",
    **configuration: Any,
) -> dict[str, Any]:
    return {
        "module_name": module_name,
        "class_name": class_name,
        "function_name": function_name,
        "configuration": configuration,
    }


def call(name: str, arguments: Any = None, *, call_id: str | None = None) -> ToolCall:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
    return ToolCall(id=call_id or f"call_{next(_ids)}", name=name, arguments=text)


def run(
    runner: ToolRunner,
    functions: list[Mapping[str, Any]],
    calls: list[ToolCall],
    *,
    ledger: Any = None,
    configuration: Mapping[str, Any] | None = None,
    run_id: str = "run_1",
) -> list[ToolOutcome] | None:
    return runner.run(
        functions=functions,
        assistant_configuration=configuration or {},
        calls=calls,
        run_id=run_id,
        thread_id="thread_1",
        ledger=ledger if ledger is not None else InMemoryToolCallLedger(),
    )


def run_one(runner: ToolRunner, function: Mapping[str, Any], tool_call: ToolCall) -> ToolOutcome:
    outcomes = run(runner, [function], [tool_call])
    assert outcomes is not None
    (outcome,) = outcomes
    return outcome


def error_of(outcome: ToolOutcome) -> dict[str, str]:
    assert outcome.status == "failed"
    assert outcome.error
    return json.loads(outcome.output)["error"]


# -- running calls ----------------------------------------------------------------------


def test_runs_one_call_and_returns_its_result_as_json(token: str) -> None:
    tool_call = call("add", {"a": 2, "b": 3})

    outcome = run_one(make_runner(), entry("add", token=token), tool_call)

    assert outcome.output == "5"
    assert outcome.status == "completed"
    assert outcome.error is None
    assert (outcome.tool_call_id, outcome.name, outcome.arguments) == (
        tool_call.id,
        "add",
        tool_call.arguments,
    )
    assert outcome.duration_ms >= 0
    assert outcome.started_at.utcoffset().total_seconds() == 0
    assert outcome.started_at <= outcome.finished_at


def test_string_result_is_still_json_encoded(token: str) -> None:
    outcome = run_one(make_runner(), entry("echo", token=token), call("echo", {"text": "hi"}))

    assert outcome.output == '"hi"'


def test_none_result_becomes_json_null(token: str) -> None:
    outcome = run_one(make_runner(), entry("nothing", token=token), call("nothing"))

    assert outcome.output == "null"


def test_datetimes_decimals_and_sets_are_serialised(token: str) -> None:
    outcome = run_one(make_runner(), entry("rich_result", token=token), call("rich_result"))

    assert json.loads(outcome.output) == {
        "when": "2024-05-01T12:30:00+00:00",
        "price": 9.99,
        "count": 3,
        "tags": ["x"],
    }


def test_unserialisable_result_is_a_failed_outcome(token: str) -> None:
    outcome = run_one(make_runner(), entry("unserialisable", token=token), call("unserialisable"))

    assert error_of(outcome)["type"] == "unserialisable_result"
    assert "not JSON-serialisable" in error_of(outcome)["message"]


def test_nan_and_infinity_never_reach_the_model_as_invalid_json(token: str) -> None:
    outcome = run_one(make_runner(), entry("not_a_number", token=token), call("not_a_number"))

    json.loads(outcome.output, parse_constant=_refuse_constant)  # valid, strict JSON
    error = error_of(outcome)
    assert error["type"] == "unserialisable_result"
    assert "NaN" in error["message"]


def test_an_object_json_cannot_carry_is_an_error_naming_its_type(token: str) -> None:
    outcome = run_one(make_runner(), entry("an_object", token=token), call("an_object"))

    error = error_of(outcome)
    assert error["type"] == "unserialisable_result"
    assert "_thread.lock" in error["message"]
    assert " at 0x" not in outcome.output  # no repr with a memory address


def _refuse_constant(name: str) -> None:
    raise AssertionError(f"{name} is not JSON")


def test_static_and_class_methods_can_be_tools(token: str) -> None:
    runner = make_runner()

    outcomes = run(
        runner,
        [entry("static_add", token=token), entry("class_name_of", token=token)],
        [call("static_add", {"a": 1, "b": 1}), call("class_name_of")],
    )

    assert [outcome.output for outcome in outcomes or []] == ["2", '"Probe"']


def test_parallel_calls_overlap_and_keep_call_order(token: str) -> None:
    calls = [call("sleep", {"seconds": 0.3, "label": label}) for label in ("first", "second")]

    started = time.monotonic()
    outcomes = run(make_runner(), [entry("sleep", token=token)], calls)
    elapsed = time.monotonic() - started

    assert elapsed < 0.55
    assert [json.loads(outcome.output)["label"] for outcome in outcomes or []] == [
        "first",
        "second",
    ]
    assert probe.peak[token] == 2


def test_concurrency_is_bounded_by_max_workers(token: str) -> None:
    calls = [call("sleep", {"seconds": 0.1}) for _ in range(5)]

    outcomes = run(make_runner(max_workers=2), [entry("sleep", token=token)], calls)

    assert [outcome.status for outcome in outcomes or []] == ["completed"] * 5
    assert probe.peak[token] == 2


def test_raising_function_becomes_error_output_without_traceback(
    token: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger=LOGGER.name):
        outcome = run_one(
            make_runner(), entry("fail", token=token), call("fail", {"message": "boom"})
        )

    assert error_of(outcome) == {"type": "exception", "message": "ValueError: boom"}
    assert "Traceback" not in outcome.output
    assert outcome.error == "exception: ValueError: boom"
    logged = [record for record in caplog.records if record.exc_info]
    assert logged, "the traceback belongs in the log"
    assert "Traceback" not in logged[0].getMessage()


def test_type_error_inside_the_function_is_an_exception_not_bad_arguments(token: str) -> None:
    outcome = run_one(
        make_runner(), entry("inner_type_error", token=token), call("inner_type_error")
    )

    assert error_of(outcome)["type"] == "exception"
    assert error_of(outcome)["message"].startswith("TypeError")


def test_hanging_function_times_out_without_blocking_others(token: str) -> None:
    runner = make_runner(timeout=0.3)
    functions = [entry("hang", token=token), entry("add", token=token)]

    started = time.monotonic()
    outcomes = run(runner, functions, [call("hang"), call("add", {"a": 1, "b": 2})])
    elapsed = time.monotonic() - started

    assert outcomes is not None
    hung, added = outcomes
    assert error_of(hung)["type"] == "timeout"
    assert "0.3 seconds" in error_of(hung)["message"]
    assert 250 <= hung.duration_ms < 1000
    assert added.output == "3"
    assert elapsed < 1.0


def test_timed_out_call_gives_its_worker_slot_back_for_later_runs(token: str) -> None:
    runner = make_runner(timeout=0.2, max_workers=1)
    functions = [entry("hang", token=token), entry("add", token=token)]

    first = run(runner, functions, [call("hang")], run_id="run_a")
    started = time.monotonic()
    second = run(runner, functions, [call("add", {"a": 2, "b": 2})], run_id="run_b")
    elapsed = time.monotonic() - started

    assert first is not None
    assert error_of(first[0])["type"] == "timeout"
    assert second is not None
    assert second[0].output == "4"
    assert elapsed < 0.15


# -- failures the model can read ----------------------------------------------------------


def test_unknown_function_names_the_available_ones(token: str) -> None:
    outcome = run_one(make_runner(), entry("add", token=token), call("subtract", {"a": 1}))

    error = error_of(outcome)
    assert error["type"] == "unknown_function"
    assert "'subtract'" in error["message"]
    assert "'add'" in error["message"]


def test_a_call_name_and_arguments_from_the_model_cannot_forge_a_log_line(
    token: str, caplog: pytest.LogCaptureFixture
) -> None:
    forged = "add\nINFO forged: all is well"
    with caplog.at_level(logging.INFO, logger=LOGGER.name):
        run_one(make_runner(), entry("add", token=token), call(forged, {"a": 1}))
        run_one(make_runner(), entry("add", token=token), call("add", '{"a": "\n\u2028x'))

    lines = [record.getMessage() for record in caplog.records]
    assert lines and all("\n" not in line and "\u2028" not in line for line in lines), lines
    assert any("add\\x0aINFO forged" in line for line in lines), lines


def test_arguments_that_are_not_json_are_rejected(token: str) -> None:
    outcome = run_one(make_runner(), entry("add", token=token), call("add", "{a: 1"))

    error = error_of(outcome)
    assert error["type"] == "invalid_arguments"
    assert error["message"].startswith("arguments are not valid JSON: ")
    assert probe.invoked[token] == 0


@pytest.mark.parametrize("arguments", ["[1, 2]", '"text"', "null", "3"])
def test_arguments_that_are_json_but_not_an_object_are_rejected(token: str, arguments: str) -> None:
    outcome = run_one(make_runner(), entry("add", token=token), call("add", arguments))

    error = error_of(outcome)
    assert error["type"] == "invalid_arguments"
    assert "must be a JSON object" in error["message"]


def test_empty_arguments_mean_no_arguments(token: str) -> None:
    outcome = run_one(make_runner(), entry("nothing", token=token), call("nothing", ""))

    assert outcome.status == "completed"


def test_arguments_that_do_not_fit_the_signature_are_rejected_before_the_call(
    token: str,
) -> None:
    outcome = run_one(make_runner(), entry("add", token=token), call("add", {"a": 1, "c": 2}))

    assert error_of(outcome)["type"] == "invalid_arguments"
    assert probe.invoked[token] == 0


def test_missing_module_is_an_import_error(token: str) -> None:
    function = entry("run", module_name="tests.toolbox.no_such_module", token=token)

    outcome = run_one(make_runner(), function, call("run"))

    assert error_of(outcome)["type"] == "import_error"
    assert "tests.toolbox.no_such_module" in error_of(outcome)["message"]


def test_constructor_failure_is_an_import_error(token: str) -> None:
    function = entry("anything", class_name="Broken", token=token)

    outcome = run_one(make_runner(), function, call("anything"))

    assert error_of(outcome) == {
        "type": "import_error",
        "message": "could not create Broken: RuntimeError: missing database_url",
    }


def test_incomplete_function_entry_is_a_failed_outcome() -> None:
    outcome = run_one(make_runner(), {"function_name": "add"}, call("add"))

    assert error_of(outcome)["type"] == "import_error"
    assert "module_name, class_name" in error_of(outcome)["message"]


# -- the allowlist and the names it guards ------------------------------------------------


def test_module_outside_the_allowlist_is_never_imported(token: str) -> None:
    runner = make_runner(allowlist=(PROBE,))
    function = entry("run", module_name=NEVER_IMPORTED, class_name="Forbidden")

    outcome = run_one(runner, function, call("run"))

    error = error_of(outcome)
    assert error["type"] == "not_allowed"
    assert "function_module_allowlist" in error["message"]
    assert NEVER_IMPORTED not in sys.modules


def test_allowlist_prefix_matches_only_at_a_dot_boundary() -> None:
    runner = make_runner(allowlist=("tests.toolbox.never",))
    function = entry("run", module_name=NEVER_IMPORTED, class_name="Forbidden")

    outcome = run_one(runner, function, call("run"))

    assert error_of(outcome)["type"] == "not_allowed"
    assert NEVER_IMPORTED not in sys.modules


@pytest.mark.parametrize("allowlist", [("tests",), ("tests.toolbox",), (PROBE,), "x.y, tests"])
def test_allowlist_prefix_allows_the_module_and_its_submodules(token: str, allowlist: Any) -> None:
    outcome = run_one(
        make_runner(allowlist=allowlist), entry("add", token=token), call("add", {"a": 1, "b": 1})
    )

    assert outcome.output == "2"


def test_empty_allowlist_allows_nothing(token: str) -> None:
    outcome = run_one(make_runner(allowlist=()), entry("add", token=token), call("add"))

    assert error_of(outcome)["type"] == "not_allowed"
    assert "function_module_allowlist" in error_of(outcome)["message"]


def test_dotted_module_path_is_imported() -> None:
    function = entry(
        "greet", module_name="tests.toolbox.nested.deep", class_name="DeepTools", greeting="hi"
    )

    outcome = run_one(make_runner(), function, call("greet", {"name": "Ada"}))

    assert outcome.output == '"hi, Ada"'


@pytest.mark.parametrize(
    ("module_name", "class_name", "function_name", "kind"),
    [
        (".probe", "Probe", "add", "not_allowed"),
        ("tests..toolbox.probe", "Probe", "add", "not_allowed"),
        ("tests.toolbox.", "Probe", "add", "not_allowed"),
        ("tests/toolbox/probe", "Probe", "add", "not_allowed"),
        ("tests.toolbox.__init__", "Probe", "add", "not_allowed"),
        (PROBE, "Probe", "__init__", "not_allowed"),
        (PROBE, "Probe", "__class__", "not_allowed"),
        (PROBE, "Probe", "__globals__", "not_allowed"),
        (PROBE, "Probe", "__reduce__", "not_allowed"),
        (PROBE, "Probe", "_private", "not_allowed"),
        (PROBE, "Probe", "_count", "not_allowed"),
        (PROBE, "__builtins__", "get", "not_allowed"),
        (PROBE, "_lock", "acquire", "not_allowed"),
        (PROBE, "helper_function", "add", "not_allowed"),  # not a class
        (PROBE, "Reexported", "clear", "not_allowed"),  # a class from collections
        (PROBE, "DictTools", "keys", "not_allowed"),  # inherited from dict
        (PROBE, "Probe", "measure", "not_allowed"),  # a built-in stored on the class
        (PROBE, "Probe", "foreign", "not_allowed"),  # textwrap.dedent stored on the class
        (PROBE, "Probe", "callback", "import_error"),  # set on the instance only
        (PROBE, "Probe", "mro", "import_error"),  # belongs to type, not the class
        (PROBE, "Probe", "missing", "import_error"),
        (PROBE, "NoSuchClass", "add", "import_error"),
    ],
)
def test_names_that_reach_python_internals_are_rejected(
    module_name: str, class_name: str, function_name: str, kind: str
) -> None:
    function = {
        "module_name": module_name,
        "class_name": class_name,
        "function_name": function_name,
    }

    outcome = run_one(make_runner(), function, call(function_name))

    assert error_of(outcome)["type"] == kind


# -- configuration and the instance cache -------------------------------------------------


def test_function_configuration_overlays_the_assistant_defaults(token: str) -> None:
    configuration = {"function_configuration": {"token": token, "region": "eu", "units": "si"}}
    function = entry("show_configuration", units="imperial", limit=Decimal("5"))
    function["configuration"]["token"] = token

    outcomes = run(
        make_runner(), [function], [call("show_configuration")], configuration=configuration
    )

    assert outcomes is not None
    assert json.loads(outcomes[0].output) == {
        "token": token,
        "region": "eu",
        "units": "imperial",
        "limit": 5,
    }


def test_instance_is_built_once_per_configuration(token: str) -> None:
    runner = make_runner()
    same = [entry("add", token=token), entry("echo", token=token)]
    calls = [call("add", {"a": 1, "b": 2}) for _ in range(4)] + [call("echo", {"text": "x"})]

    run(runner, same, calls, run_id="run_a")
    run(runner, same, calls, run_id="run_b")
    assert probe.constructed[token] == 1

    run(runner, [entry("add", token=token, other=True)], [call("add", {"a": 1, "b": 1})])
    assert probe.constructed[token] == 2


def test_the_instance_cache_keeps_the_most_recently_used_configurations(token: str) -> None:
    runner = ToolRunner(
        logger=LOGGER, allowlist=("tests.toolbox",), timeout_seconds=5.0, instance_cache_size=2
    )

    def add_with(variant: str) -> None:
        run(runner, [entry("add", token=token, variant=variant)], [call("add", {"a": 1, "b": 1})])

    for variant in ("a", "b", "c"):
        add_with(variant)
    assert probe.constructed[token] == 3
    add_with("c")  # still cached
    assert probe.constructed[token] == 3
    add_with("a")  # evicted when "c" came in: built again
    assert probe.constructed[token] == 4


def test_the_instance_cache_size_must_be_positive() -> None:
    with pytest.raises(ConfigurationError, match="tool_instance_cache_size"):
        ToolRunner(logger=LOGGER, allowlist=(), timeout_seconds=1.0, instance_cache_size=0)


# -- exactly once ------------------------------------------------------------------------


class SpyLedger(InMemoryToolCallLedger):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stale_after: list[float] = []
        self.recorded: list[ToolOutcome] = []

    def claim(self, **kwargs: Any) -> Claim:
        self.stale_after.append(kwargs["stale_after_seconds"])
        return super().claim(**kwargs)

    def record(self, **kwargs: Any) -> None:
        self.recorded.append(kwargs["outcome"])
        super().record(**kwargs)


def test_every_outcome_is_claimed_then_recorded(token: str) -> None:
    ledger = SpyLedger()
    calls = [call("add", {"a": 1, "b": 1}), call("fail", {"message": "no"}), call("ghost")]

    outcomes = run(
        make_runner(timeout=2.0),
        [entry("add", token=token), entry("fail", token=token)],
        calls,
        ledger=ledger,
    )

    assert outcomes is not None
    assert [outcome.status for outcome in outcomes] == ["completed", "failed", "failed"]
    assert sorted(ledger.recorded, key=lambda o: o.tool_call_id) == sorted(
        outcomes, key=lambda o: o.tool_call_id
    )
    assert ledger.stale_after == [2.0 + CLAIM_MARGIN_SECONDS] * 3
    assert all(ledger.get("run_1", c.id) is not None for c in calls)


def test_two_runners_racing_on_the_same_calls_run_each_call_once(token: str) -> None:
    ledger = InMemoryToolCallLedger()
    functions = [entry("sleep", token=token)]
    calls = [call("sleep", {"seconds": 0.2, "label": label}) for label in "abc"]
    barrier = threading.Barrier(2)
    results: list[list[ToolOutcome] | None] = []

    def drive() -> None:
        runner = make_runner()
        barrier.wait()
        results.append(run(runner, functions, calls, ledger=ledger))

    threads = [threading.Thread(target=drive) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)

    assert probe.invoked[token] == 3
    expected = [{"slept": 0.2, "label": label} for label in "abc"]
    for result in results:
        assert result is None or [json.loads(o.output) for o in result] == expected
    # The next poll reuses the recorded outcomes and runs nothing again.
    again = run(make_runner(), functions, calls, ledger=ledger)
    assert again is not None
    assert [json.loads(o.output) for o in again] == expected
    assert probe.invoked[token] == 3


def test_call_still_running_elsewhere_gives_none_after_running_the_rest(token: str) -> None:
    ledger = InMemoryToolCallLedger()
    elsewhere, mine = call("add", {"a": 1, "b": 1}), call("add", {"a": 2, "b": 2})
    assert ledger.claim(run_id="run_1", thread_id="t", call=elsewhere, stale_after_seconds=60).won

    result = run(make_runner(), [entry("add", token=token)], [elsewhere, mine], ledger=ledger)

    assert result is None
    assert probe.invoked[token] == 1
    recorded = ledger.get("run_1", mine.id)
    assert recorded is not None
    assert recorded.output == "4"


def test_call_finished_elsewhere_is_reused_not_rerun(token: str) -> None:
    ledger = InMemoryToolCallLedger()
    tool_call = call("add", {"a": 1, "b": 1})
    first = run(make_runner(), [entry("add", token=token)], [tool_call], ledger=ledger)

    second = run(make_runner(), [entry("add", token=token)], [tool_call], ledger=ledger)

    assert first == second
    assert probe.invoked[token] == 1


def test_stale_claim_of_a_dead_driver_is_taken_over(token: str) -> None:
    now = [1000.0]
    ledger = InMemoryToolCallLedger(clock=lambda: now[0])
    tool_call = call("add", {"a": 1, "b": 1})
    ledger.claim(run_id="run_1", thread_id="t", call=tool_call, stale_after_seconds=1)
    runner = make_runner(timeout=1.0)

    assert run(runner, [entry("add", token=token)], [tool_call], ledger=ledger) is None
    now[0] += 1.0 + CLAIM_MARGIN_SECONDS
    outcomes = run(runner, [entry("add", token=token)], [tool_call], ledger=ledger)

    assert outcomes is not None
    assert outcomes[0].output == "2"


def test_repeated_call_id_runs_once_and_shares_the_outcome(token: str) -> None:
    tool_call = call("add", {"a": 1, "b": 1})

    outcomes = run(make_runner(), [entry("add", token=token)], [tool_call, tool_call])

    assert outcomes is not None
    assert outcomes[0] == outcomes[1]
    assert probe.invoked[token] == 1


def test_failing_record_still_returns_the_outcomes(token: str) -> None:
    class BrokenRecorder(InMemoryToolCallLedger):
        def record(self, **kwargs: Any) -> None:
            raise OSError("table unavailable")

    outcomes = run(
        make_runner(),
        [entry("add", token=token)],
        [call("add", {"a": 1, "b": 1})],
        ledger=BrokenRecorder(),
    )

    assert outcomes is not None
    assert outcomes[0].output == "2"


def test_failing_claim_propagates_after_started_calls_finish(token: str) -> None:
    class FlakyLedger(InMemoryToolCallLedger):
        def __init__(self) -> None:
            super().__init__()
            self.claims = 0

        def claim(self, **kwargs: Any) -> Claim:
            self.claims += 1
            if self.claims == 2:
                raise OSError("throttled")
            return super().claim(**kwargs)

    ledger = FlakyLedger()
    first, second = call("sleep", {"seconds": 0.1}), call("sleep", {"seconds": 0.1})

    with pytest.raises(OSError, match="throttled"):
        run(make_runner(), [entry("sleep", token=token)], [first, second], ledger=ledger)

    assert ledger.get("run_1", first.id) is not None


def test_in_memory_ledger_claims_once_until_recorded() -> None:
    ledger = InMemoryToolCallLedger()
    tool_call = call("add")
    claim = {"run_id": "r", "thread_id": "t", "call": tool_call, "stale_after_seconds": 60}

    assert ledger.claim(**claim) == Claim(won=True)
    assert ledger.claim(**claim) == Claim(won=False)
    assert ledger.claim(**{**claim, "run_id": "other"}).won


# -- describe ----------------------------------------------------------------------------


def test_describe_prefers_schemas_from_the_configuration_in_both_shapes(token: str) -> None:
    parameters = {"type": "object", "properties": {"text": {"type": "string"}}}
    configuration = {
        "tools": [
            {"type": "file_search"},
            {
                "type": "function",
                "function": {"name": "echo", "description": "Say it", "parameters": parameters},
            },
            {"type": "function", "name": "add", "description": "Sum", "parameters": parameters},
        ]
    }

    described = make_runner().describe(
        functions=[entry("echo", token=token), entry("add", token=token)],
        assistant_configuration=configuration,
    )

    assert described == [
        {"name": "echo", "description": "Say it", "parameters": parameters},
        {"name": "add", "description": "Sum", "parameters": parameters},
    ]
    assert probe.constructed[token] == 0


def test_describe_generates_schemas_from_signatures(token: str) -> None:
    described = make_runner().describe(
        functions=[entry("add", token=token), entry("echo", token=token)],
        assistant_configuration={},
    )

    assert described[0] == {
        "name": "add",
        "description": "Add two integers.",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
            "additionalProperties": False,
        },
    }
    assert described[1]["parameters"]["properties"] == {"text": {"type": "string"}}


def test_describe_leaves_out_a_module_outside_the_allowlist(caplog) -> None:
    runner = make_runner(allowlist=(PROBE,))
    function = entry("run", module_name=NEVER_IMPORTED, class_name="Forbidden")
    allowed = entry("add")

    with caplog.at_level("WARNING"):
        described = runner.describe(functions=[function, allowed], assistant_configuration={})

    assert [schema["name"] for schema in described] == ["add"]
    [warning] = [r for r in caplog.records if r.levelname == "WARNING"]
    assert "run (not_allowed" in warning.getMessage()
    assert "function_module_allowlist" in warning.getMessage()

    assert NEVER_IMPORTED not in sys.modules


# -- records and settings ----------------------------------------------------------------


def test_function_ref_names_what_is_missing() -> None:
    with pytest.raises(BadRequestError, match="'lookup' is missing module_name, class_name"):
        FunctionRef.from_record({"function_name": "lookup"})


def test_function_ref_rejects_a_configuration_that_is_not_an_object() -> None:
    with pytest.raises(BadRequestError, match="configuration must be an object"):
        FunctionRef.from_record(
            {"module_name": "m", "class_name": "C", "function_name": "f", "configuration": [1]}
        )


def test_function_ref_turns_dynamodb_decimals_into_numbers() -> None:
    ref = FunctionRef.from_record(
        {
            "module_name": "m",
            "class_name": "C",
            "function_name": "f",
            "configuration": {"limit": Decimal("3"), "ratio": Decimal("0.5")},
        }
    )

    assert ref.configuration == {"limit": 3, "ratio": 0.5}


def test_runner_rejects_a_timeout_that_is_not_positive() -> None:
    with pytest.raises(ConfigurationError, match="tool_timeout_seconds"):
        make_runner(timeout=0)


# -- the README example ------------------------------------------------------------------


def test_example_weather_tools_answer_through_the_runner() -> None:
    runner = make_runner(allowlist=("openai_assistant_engine.examples.weather_tools",))
    functions = [
        {
            "module_name": "openai_assistant_engine.examples.weather_tools",
            "class_name": "WeatherTools",
            "function_name": name,
            "configuration": {"default_unit": "fahrenheit"},
        }
        for name in ("get_weather", "get_forecast")
    ]
    calls = [
        call("get_weather", {"city": "Paris"}),
        call("get_weather", {"city": "Tokyo", "unit": "celsius"}),
        call("get_forecast", {"city": "Sydney", "days": 2}),
        call("get_weather", {"city": "Atlantis"}),
    ]

    outcomes = run(runner, functions, calls)

    assert outcomes is not None
    paris, tokyo, forecast, atlantis = outcomes
    assert json.loads(paris.output)["temperature"] == 64.4
    assert json.loads(tokyo.output)["unit"] == "celsius"
    assert len(json.loads(forecast.output)) == 2
    assert "known cities" in error_of(atlantis)["message"]
