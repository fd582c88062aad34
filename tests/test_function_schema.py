"""The JSON Schema generator for tool functions (annotations here are strings on purpose)."""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Optional, TypedDict, Union

from typing_extensions import NotRequired

from openai_assistant_engine.examples.weather_tools import WeatherTools
from openai_assistant_engine.function_schema import describe_callable, schema_for_type


class Color(str, enum.Enum):
    RED = "red"
    GREEN = "green"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Address(TypedDict):
    """A postal address.

    Attributes:
        street: Street and number.
    """

    street: str
    zip_code: NotRequired[str]


class Filters(TypedDict, total=False):
    tags: list[str]


@dataclass
class Point:
    x: float
    y: float = 0.0
    labels: list[str] = field(default_factory=list)


@dataclass
class TreeNode:
    value: int
    children: list[TreeNode] = field(default_factory=list)


class Opaque:
    pass


def parameters_of(fn: Any) -> dict[str, Any]:
    return describe_callable(fn)["parameters"]


def test_scalars_map_to_json_types_and_defaults_make_parameters_optional() -> None:
    def search(query: str, limit: int = 10, ratio: float = 0.5, exact: bool = False) -> None:
        pass

    schema = describe_callable(search)

    assert schema["name"] == "search"
    assert schema["parameters"] == {
        "type": "object",
        "properties": {
            "query": {"type": "string"},
            "limit": {"type": "integer", "default": 10},
            "ratio": {"type": "number", "default": 0.5},
            "exact": {"type": "boolean", "default": False},
        },
        "required": ["query"],
        "additionalProperties": False,
    }


def test_optional_and_union_types_allow_each_member() -> None:
    def pick(
        a: int | None,
        b: Optional[str] = None,  # noqa: UP045 - the old spelling must work too
        c: Union[int, str] = 1,  # noqa: UP007
        d: Literal["x", "y"] | None = None,
    ) -> None:
        pass

    properties = parameters_of(pick)["properties"]

    assert properties["a"] == {"type": ["integer", "null"]}
    assert properties["b"] == {"type": ["string", "null"], "default": None}
    assert properties["c"] == {"type": ["integer", "string"], "default": 1}
    assert properties["d"] == {
        "anyOf": [{"type": "string", "enum": ["x", "y"]}, {"type": "null"}],
        "default": None,
    }


def test_containers_describe_their_items() -> None:
    def collect(
        numbers: list[int],
        scores: dict[str, float],
        many: tuple[int, ...],
        pair: tuple[int, str],
        unique: set[str],
        names: Sequence[str],
        anything_list: list,
        anything_dict: dict,
    ) -> None:
        pass

    properties = parameters_of(collect)["properties"]

    assert properties["numbers"] == {"type": "array", "items": {"type": "integer"}}
    assert properties["scores"] == {
        "type": "object",
        "additionalProperties": {"type": "number"},
    }
    assert properties["many"] == {"type": "array", "items": {"type": "integer"}}
    assert properties["pair"] == {
        "type": "array",
        "prefixItems": [{"type": "integer"}, {"type": "string"}],
        "items": False,
        "minItems": 2,
        "maxItems": 2,
    }
    assert properties["unique"] == {
        "type": "array",
        "items": {"type": "string"},
        "uniqueItems": True,
    }
    assert properties["names"] == {"type": "array", "items": {"type": "string"}}
    assert properties["anything_list"] == {"type": "array"}
    assert properties["anything_dict"] == {"type": "object"}


def test_literals_and_enums_become_enums_with_json_defaults() -> None:
    def paint(
        color: Color = Color.RED,
        priority: Priority = Priority.LOW,
        mode: Literal["fast", "slow"] = "fast",
        mixed: Literal[1, "one"] = 1,
    ) -> None:
        pass

    properties = parameters_of(paint)["properties"]

    assert properties["color"] == {"type": "string", "enum": ["red", "green"], "default": "red"}
    assert properties["priority"] == {"type": "integer", "enum": [1, 2], "default": 1}
    assert properties["mode"] == {"type": "string", "enum": ["fast", "slow"], "default": "fast"}
    assert properties["mixed"] == {"enum": [1, "one"], "default": 1}


def test_typeddicts_and_dataclasses_become_nested_objects() -> None:
    def ship(address: Address, point: Point, filters: Filters | None = None) -> None:
        pass

    properties = parameters_of(ship)["properties"]

    assert properties["address"] == {
        "type": "object",
        "properties": {
            "street": {"type": "string", "description": "Street and number."},
            "zip_code": {"type": "string"},
        },
        "required": ["street"],
        "additionalProperties": False,
    }
    assert properties["point"] == {
        "type": "object",
        "properties": {
            "x": {"type": "number"},
            "y": {"type": "number", "default": 0.0},
            "labels": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["x"],
        "additionalProperties": False,
    }
    assert properties["filters"]["anyOf"][0]["required"] == []
    assert properties["filters"]["anyOf"][1] == {"type": "null"}


def test_recursive_dataclass_stops_expanding_at_the_cycle() -> None:
    schema = schema_for_type(TreeNode)

    assert schema["properties"]["children"] == {"type": "array", "items": {"type": "object"}}


def test_special_scalars_and_annotated_descriptions() -> None:
    def book(
        when: dt.datetime,
        day: dt.date,
        seats: Annotated[int, "How many seats to book."],
    ) -> None:
        pass

    properties = parameters_of(book)["properties"]

    assert properties["when"] == {"type": "string", "format": "date-time"}
    assert properties["day"] == {"type": "string", "format": "date"}
    assert properties["seats"] == {"type": "integer", "description": "How many seats to book."}


def test_unknown_or_missing_annotations_accept_any_value() -> None:
    def loose(thing: Opaque, untyped, anything: Any = None) -> None:
        pass

    properties = parameters_of(loose)["properties"]

    assert properties == {"thing": {}, "untyped": {}, "anything": {"default": None}}


def test_unresolvable_forward_reference_does_not_fail() -> None:
    def later(item: NotDefinedAnywhere, count: int = 1) -> None:  # type: ignore[name-defined]  # noqa: F821
        pass

    properties = parameters_of(later)["properties"]

    assert properties["item"] == {}
    assert properties["count"]["default"] == 1


def test_defaults_without_json_form_are_left_out() -> None:
    sentinel = object()

    def odd(value: str = sentinel) -> None:  # type: ignore[assignment]
        pass

    assert parameters_of(odd) == {
        "type": "object",
        "properties": {"value": {"type": "string"}},
        "required": [],
        "additionalProperties": False,
    }


def test_self_varargs_and_kwargs_are_skipped() -> None:
    class Tools:
        def act(self, target: str, *args: Any, force: bool = False, **kwargs: Any) -> None:
            pass

    bound = parameters_of(Tools().act)
    unbound = parameters_of(Tools.act)

    assert list(bound["properties"]) == ["target", "force"]
    assert bound == unbound
    assert bound["required"] == ["target"]


def test_google_docstring_gives_summary_and_parameter_descriptions() -> None:
    def transfer(amount: float, currency: str = "EUR", *, memo: str = "") -> dict:
        """Move money between two accounts.

        Fails when the balance is too low.

        Args:
            amount (float): How much to move,
                in whole units.
            currency: ISO 4217 code.
            memo: Free text shown
                on the statement.

        Returns:
            dict: The receipt.

        Raises:
            ValueError: When amount is negative.
        """

    schema = describe_callable(transfer, name="transfer_money")

    assert schema["name"] == "transfer_money"
    assert schema["description"] == (
        "Move money between two accounts.\n\nFails when the balance is too low."
    )
    properties = schema["parameters"]["properties"]
    assert properties["amount"]["description"] == "How much to move, in whole units."
    assert properties["currency"]["description"] == "ISO 4217 code."
    assert properties["memo"]["description"] == "Free text shown on the statement."


def test_rest_docstring_gives_parameter_descriptions() -> None:
    def resize(width: int, height: int) -> None:
        """Resize the picture
        keeping its ratio.

        :param int width: New width
            in pixels.
        :type width: int
        :param height: New height.
        :returns: nothing.
        """

    schema = describe_callable(resize)

    assert schema["description"] == "Resize the picture keeping its ratio."
    properties = schema["parameters"]["properties"]
    assert properties["width"]["description"] == "New width in pixels."
    assert properties["height"]["description"] == "New height."


def test_numpy_docstring_gives_parameter_descriptions() -> None:
    def scale(factor: float, clamp: bool = True) -> None:
        """Scale every value.

        Parameters
        ----------
        factor : float
            The multiplier.
        clamp : bool, optional
            Keep results
            within range.

        Returns
        -------
        None
        """

    schema = describe_callable(scale)

    assert schema["description"] == "Scale every value."
    properties = schema["parameters"]["properties"]
    assert properties["factor"]["description"] == "The multiplier."
    assert properties["clamp"]["description"] == "Keep results within range."


def test_function_without_docstring_has_empty_description() -> None:
    def bare(x: int) -> int:
        return x

    assert describe_callable(bare)["description"] == ""


def test_example_weather_tool_schema() -> None:
    tools = WeatherTools(logging.getLogger("test"))

    schema = describe_callable(tools.get_weather)

    assert schema["description"] == "Get the current weather in a city."
    assert schema["parameters"]["required"] == ["city"]
    unit = schema["parameters"]["properties"]["unit"]
    assert unit["anyOf"] == [
        {"type": "string", "enum": ["celsius", "fahrenheit"]},
        {"type": "null"},
    ]
    assert unit["default"] is None
    assert "configured default" in unit["description"]
