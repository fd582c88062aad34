"""JSON Schema of a Python function, from its signature and docstring.

``describe_callable(fn)`` gives the ``{"name", "description", "parameters"}`` triple that
both OpenAI APIs take as a function tool, so an assistant record need not repeat a schema
that the Python code already states. Type hints give the parameter types, defaults make a
parameter optional, and the docstring gives the descriptions (Google ``Args:``, reST
``:param x:`` and NumPy ``Parameters`` sections are understood). Anything the generator
does not understand becomes ``{}`` (any value) rather than an error.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import datetime as dt
import decimal
import enum
import inspect
import json
import re
import types
import typing
import uuid
from collections.abc import Callable
from typing import Any

__all__ = ["describe_callable", "schema_for_type"]

JsonSchema = dict[str, Any]

_EMPTY = inspect.Parameter.empty

_SCALARS: tuple[tuple[type, JsonSchema], ...] = (
    # Order matters: bool is an int, datetime is a date.
    (bool, {"type": "boolean"}),
    (int, {"type": "integer"}),
    (float, {"type": "number"}),
    (decimal.Decimal, {"type": "number"}),
    (str, {"type": "string"}),
    (bytes, {"type": "string"}),
    (dt.datetime, {"type": "string", "format": "date-time"}),
    (dt.date, {"type": "string", "format": "date"}),
    (dt.time, {"type": "string", "format": "time"}),
    (uuid.UUID, {"type": "string", "format": "uuid"}),
)

_ARRAY_ORIGINS = frozenset(
    {
        list,
        set,
        frozenset,
        collections.abc.Sequence,
        collections.abc.MutableSequence,
        collections.abc.Set,
        collections.abc.MutableSet,
        collections.abc.Collection,
        collections.abc.Iterable,
    }
)
_SET_ORIGINS = frozenset({set, frozenset, collections.abc.Set, collections.abc.MutableSet})
_MAPPING_ORIGINS = frozenset({dict, collections.abc.Mapping, collections.abc.MutableMapping})
_UNION_ORIGINS = frozenset({typing.Union, types.UnionType})
# typing.Required / NotRequired (3.11+) and their typing_extensions twins, by name.
_TYPEDDICT_QUALIFIERS = frozenset({"Required", "NotRequired", "ReadOnly"})


def describe_callable(fn: Callable[..., Any], name: str | None = None) -> dict[str, Any]:
    """Describe ``fn`` as a function tool: ``{"name", "description", "parameters"}``.

    Args:
        fn: A function, bound method, static method or other callable with a signature.
        name: The tool name; defaults to ``fn.__name__``.
    """
    signature = inspect.signature(fn)
    hints = _type_hints(fn)
    docstring = _parse_docstring(inspect.getdoc(fn) or "")

    properties: dict[str, JsonSchema] = {}
    required: list[str] = []
    for index, parameter in enumerate(signature.parameters.values()):
        if parameter.kind in (
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
            # Tools are called as fn(**arguments): positional-only ones cannot be given.
            inspect.Parameter.POSITIONAL_ONLY,
        ):
            continue
        if index == 0 and parameter.name in ("self", "cls"):
            continue  # an unbound method taken from its class
        annotation = hints.get(parameter.name, parameter.annotation)
        schema = dict(schema_for_type(annotation))
        description = docstring.parameters.get(parameter.name) or _annotated_description(annotation)
        if description:
            schema["description"] = description
        if parameter.default is _EMPTY:
            required.append(parameter.name)
        else:
            default = _json_value(parameter.default)
            if default is not _EMPTY:
                schema["default"] = default
        properties[parameter.name] = schema

    return {
        "name": name or getattr(fn, "__name__", type(fn).__name__),
        "description": docstring.summary,
        "parameters": {
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        },
    }


def schema_for_type(annotation: Any) -> JsonSchema:
    """JSON Schema for one type hint; ``{}`` (any value) when the hint is not understood."""
    return _schema(annotation, frozenset())


# -- type hints -> schema -----------------------------------------------------------


def _type_hints(obj: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(obj, include_extras=True)
    except Exception:
        # An unresolvable forward reference or a callable without annotations: fall back
        # to the raw annotations; a string one then reads as "any".
        return dict(getattr(obj, "__annotations__", None) or {})


def _schema(tp: Any, expanding: frozenset[type]) -> JsonSchema:
    if tp is _EMPTY or tp is Any or isinstance(tp, (str, typing.ForwardRef)):
        return {}
    if tp is None or tp is type(None):
        return {"type": "null"}

    origin = typing.get_origin(tp)
    args = typing.get_args(tp)

    if origin is typing.Annotated:
        return _schema(args[0], expanding)
    if origin is not None and getattr(origin, "_name", None) in _TYPEDDICT_QUALIFIERS:
        return _schema(args[0], expanding) if args else {}
    if origin in _UNION_ORIGINS:
        return _union([_schema(arg, expanding) for arg in args])
    if origin is typing.Literal:
        return _enum(list(args))
    if origin is tuple:
        return _tuple(args, expanding)
    if origin in _ARRAY_ORIGINS:
        schema: JsonSchema = {"type": "array"}
        if args:
            schema["items"] = _schema(args[0], expanding)
        if origin in _SET_ORIGINS:
            schema["uniqueItems"] = True
        return schema
    if origin in _MAPPING_ORIGINS:
        schema = {"type": "object"}
        if len(args) == 2:
            schema["additionalProperties"] = _schema(args[1], expanding)
        return schema

    supertype = getattr(tp, "__supertype__", None)  # typing.NewType
    if supertype is not None:
        return _schema(supertype, expanding)
    if not isinstance(tp, type):
        return {}
    return _class_schema(tp, expanding)


def _class_schema(cls: type, expanding: frozenset[type]) -> JsonSchema:
    if issubclass(cls, enum.Enum):  # before the scalars: IntEnum is an int
        return _enum([_json_value(member.value) for member in cls])
    if typing.is_typeddict(cls) or dataclasses.is_dataclass(cls):
        if cls in expanding:  # a recursive type: stop here
            return {"type": "object"}
        return _record(cls, expanding | {cls})
    for scalar, schema in _SCALARS:
        if issubclass(cls, scalar):
            return dict(schema)
    if issubclass(cls, (set, frozenset)):
        return {"type": "array", "uniqueItems": True}
    if issubclass(cls, (list, tuple)):
        return {"type": "array"}
    if issubclass(cls, dict):
        return {"type": "object"}
    return {}


def _union(members: list[JsonSchema]) -> JsonSchema:
    unique: list[JsonSchema] = []
    for member in members:
        if member == {}:
            return {}  # anything | X is anything
        if member not in unique:
            unique.append(member)
    if len(unique) == 1:
        return unique[0]
    if all(set(member) == {"type"} and isinstance(member["type"], str) for member in unique):
        return {"type": [member["type"] for member in unique]}
    return {"anyOf": unique}


def _enum(values: list[Any]) -> JsonSchema:
    schema: JsonSchema = {"enum": values}
    json_types = {_json_type(value) for value in values}
    if len(json_types) == 1 and None not in json_types:
        schema = {"type": json_types.pop(), "enum": values}
    return schema


def _json_type(value: Any) -> str | None:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return None


def _tuple(args: tuple[Any, ...], expanding: frozenset[type]) -> JsonSchema:
    if not args:
        return {"type": "array"}
    if len(args) == 2 and args[1] is Ellipsis:
        return {"type": "array", "items": _schema(args[0], expanding)}
    if args == ((),):  # tuple[()]: the empty tuple
        return {"type": "array", "maxItems": 0}
    return {
        "type": "array",
        "prefixItems": [_schema(arg, expanding) for arg in args],
        "items": False,
        "minItems": len(args),
        "maxItems": len(args),
    }


def _record(cls: type, expanding: frozenset[type]) -> JsonSchema:
    """A TypedDict or dataclass as a nested object."""
    hints = _type_hints(cls)
    field_docs = _parse_docstring(cls.__doc__ or "").parameters
    properties: dict[str, JsonSchema] = {}
    required: list[str] = []

    if dataclasses.is_dataclass(cls):
        for field in dataclasses.fields(cls):
            if not field.init:
                continue
            schema = dict(_schema(hints.get(field.name, field.type), expanding))
            if field.default is not dataclasses.MISSING:
                default = _json_value(field.default)
                if default is not _EMPTY:
                    schema["default"] = default
            elif field.default_factory is dataclasses.MISSING:
                required.append(field.name)
            properties[field.name] = _with_description(schema, field_docs.get(field.name))
    else:
        required_keys = getattr(cls, "__required_keys__", frozenset(hints))
        for key, hint in hints.items():
            properties[key] = _with_description(dict(_schema(hint, expanding)), field_docs.get(key))
            # Under postponed annotations the class cannot see Required/NotRequired
            # when it is made, so the resolved hint decides.
            qualifier = getattr(typing.get_origin(hint), "_name", None)
            if qualifier == "Required" or (qualifier != "NotRequired" and key in required_keys):
                required.append(key)

    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _with_description(schema: JsonSchema, description: str | None) -> JsonSchema:
    if description:
        schema["description"] = description
    return schema


def _annotated_description(annotation: Any) -> str | None:
    """``Annotated[int, "how many"]``: the first string in the metadata describes it."""
    if typing.get_origin(annotation) is typing.Annotated:
        for extra in annotation.__metadata__:
            if isinstance(extra, str) and extra.strip():
                return extra.strip()
    return None


def _json_value(value: Any) -> Any:
    """``value`` as JSON data, or ``_EMPTY`` when it has no JSON form."""
    if isinstance(value, enum.Enum):
        value = value.value
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return _EMPTY


# -- docstrings ---------------------------------------------------------------------


@dataclasses.dataclass
class _Docstring:
    summary: str = ""
    parameters: dict[str, str] = dataclasses.field(default_factory=dict)


_GOOGLE_PARAMETER_SECTIONS = frozenset(
    {
        "args",
        "arguments",
        "parameters",
        "params",
        "keyword args",
        "keyword arguments",
        "kwargs",
        "other parameters",
        "attributes",
    }
)
_GOOGLE_SECTIONS = _GOOGLE_PARAMETER_SECTIONS | {
    "returns",
    "return",
    "yields",
    "yield",
    "raises",
    "raise",
    "example",
    "examples",
    "note",
    "notes",
    "see also",
    "warning",
    "warnings",
    "todo",
    "references",
}
_GOOGLE_HEADER = re.compile(r"^\s*([A-Za-z][A-Za-z ]*):\s*$")
_GOOGLE_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_REST_FIELD = re.compile(r"^\s*:(\w+)(?:\s+([^:]*))?:\s*(.*)$")
_REST_PARAMETER_FIELDS = frozenset(
    {"param", "parameter", "arg", "argument", "key", "keyword", "ivar", "var"}
)
_NUMPY_UNDERLINE = re.compile(r"^\s*-{3,}\s*$")
_NUMPY_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?::.*)?$")


def _parse_docstring(text: str) -> _Docstring:
    lines = inspect.cleandoc(text).splitlines() if text else []
    result = _Docstring()
    summary_lines: list[str] = []
    index = 0
    in_summary = True
    while index < len(lines):
        line = lines[index]
        header = _GOOGLE_HEADER.match(line)
        is_numpy_header = (
            index + 1 < len(lines)
            and _NUMPY_UNDERLINE.match(lines[index + 1]) is not None
            and line.strip() != ""
        )
        if is_numpy_header:
            in_summary = False
            name = line.strip().lower()
            index = _numpy_section(lines, index + 2, result, name in _GOOGLE_PARAMETER_SECTIONS)
            continue
        if header and header.group(1).strip().lower() in _GOOGLE_SECTIONS:
            in_summary = False
            name = header.group(1).strip().lower()
            index = _google_section(lines, index, result, name in _GOOGLE_PARAMETER_SECTIONS)
            continue
        if _REST_FIELD.match(line):
            in_summary = False
            index = _rest_field(lines, index, result)
            continue
        if in_summary:
            summary_lines.append(line)
        index += 1
    result.summary = _paragraphs(summary_lines)
    return result


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _google_section(lines: list[str], start: int, result: _Docstring, keep: bool) -> int:
    """Read the section whose header is ``lines[start]``; return the index after it."""
    header_indent = _indent(lines[start])
    index = start + 1
    entry_indent: int | None = None
    current: str | None = None
    while index < len(lines):
        line = lines[index]
        if line.strip():
            indent = _indent(line)
            if indent <= header_indent:
                break
            if entry_indent is None:
                entry_indent = indent
            entry = _GOOGLE_ENTRY.match(line.strip()) if indent <= entry_indent else None
            if entry:
                current = entry.group(1)
                if keep:
                    result.parameters[current] = entry.group(2).strip()
            elif current is not None and keep:
                result.parameters[current] = _join(result.parameters[current], line.strip())
        index += 1
    return index


def _numpy_section(lines: list[str], start: int, result: _Docstring, keep: bool) -> int:
    index = start
    current: str | None = None
    while index < len(lines):
        line = lines[index]
        if index + 1 < len(lines) and line.strip() and _NUMPY_UNDERLINE.match(lines[index + 1]):
            break  # the next section's header
        if line.strip():
            if _indent(line) == 0:
                entry = _NUMPY_ENTRY.match(line.strip())
                current = entry.group(1) if entry else None
                if current is not None and keep:
                    result.parameters.setdefault(current, "")
            elif current is not None and keep:
                result.parameters[current] = _join(result.parameters[current], line.strip())
        index += 1
    return index


def _rest_field(lines: list[str], start: int, result: _Docstring) -> int:
    field = _REST_FIELD.match(lines[start])
    assert field is not None
    kind, argument, text = field.group(1), (field.group(2) or "").split(), field.group(3)
    index = start + 1
    while index < len(lines) and lines[index].strip() and _indent(lines[index]) > 0:
        text = _join(text, lines[index].strip())
        index += 1
    if kind in _REST_PARAMETER_FIELDS and argument:
        result.parameters[argument[-1].lstrip("*")] = text.strip()
    return index


def _join(left: str, right: str) -> str:
    return f"{left} {right}".strip()


def _paragraphs(lines: list[str]) -> str:
    paragraphs: list[str] = []
    current: list[str] = []
    for line in [*lines, ""]:
        if line.strip():
            current.append(line.strip())
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    return "\n\n".join(paragraphs)
