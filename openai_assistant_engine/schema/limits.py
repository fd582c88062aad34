"""Validation rules that keep a document from asking for more than the contract needs.

They run before graphql-core's own rules (see ``engine.py``), so an oversized document is
refused with a clear message before any costlier rule looks at it. Each fragment is
measured once and its size reused wherever it is spread, so a document that spreads a
fragment twice in each of thirty nested fragments (a "fragment bomb": 2**30 fields in
under 2 KB of text) costs thirty measurements, not a billion.

Introspection operations (every root field a ``__`` field) have limits of their own: the
standard introspection query (graphql-js ``getIntrospectionQuery()``, graphql-core's
``get_introspection_query()``, the one ``gql`` sends) nests ``ofType`` about 15 levels
and selects about 230 fields, all answered from memory. What makes an introspection
document costly is lists of the schema nested in lists (``types { fields { type { fields
...`` multiplies), so those are counted too: the standard query nests three.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError, ValidationRule
from graphql.language import (
    FieldNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_FIELDS",
    "MAX_FRAGMENT_NESTING",
    "MAX_INTROSPECTION_DEPTH",
    "MAX_INTROSPECTION_FIELDS",
    "MAX_INTROSPECTION_LISTS",
    "limit_rules",
    "selection_limit_rule",
]

# The contract's deepest selection is 3 levels (assistantList { assistantList { ... } }).
MAX_DEPTH = 8
# Field selections per operation, aliases and fragment spreads counted each time they are
# used. The contract's largest operation selects 12 fields; every root field is a
# DynamoDB or OpenAI request, so 10,000 aliases of one field are refused, not run.
MAX_FIELDS = 200
# Fragments spread inside fragments; the contract nests 2 (AssistantListInfo > AssistantInfo).
MAX_FRAGMENT_NESTING = 16
# Introspection: the standard query nests 15 levels, selects up to 226 fields and nests 3
# schema lists (types > fields > args); the margin lets newer clients' versions through.
MAX_INTROSPECTION_DEPTH = 24
MAX_INTROSPECTION_FIELDS = 400
MAX_INTROSPECTION_LISTS = 4
# Introspection fields that answer a list of schema elements.
_SCHEMA_LISTS = frozenset(
    {"types", "fields", "inputFields", "interfaces", "possibleTypes", "enumValues", "args"}
    | {"directives"}
)


@dataclass(frozen=True)
class _Size:
    depth: int  # field levels below a selection set
    fields: int  # field selections in it, fragments expanded
    lists: int  # introspection list fields nested in each other (see _SCHEMA_LISTS)


_EMPTY = _Size(0, 0, 0)


class _TooNested(Exception):
    pass


class _Measure:
    """Sizes of selection sets; each named fragment is measured once per document."""

    def __init__(self, rule: ValidationRule) -> None:
        self._rule = rule
        self._fragments: dict[str, _Size] = {}
        self._open: list[str] = []  # fragments being measured, outermost first

    def selection_set(self, selections: SelectionSetNode | None) -> _Size:
        if selections is None:
            return _EMPTY
        depth = fields = lists = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                inner = self.selection_set(selection.selection_set)
                depth = max(depth, inner.depth + 1)
                fields += inner.fields + 1
                lists = max(lists, inner.lists + (selection.name.value in _SCHEMA_LISTS))
            else:
                if isinstance(selection, InlineFragmentNode):
                    inner = self.selection_set(selection.selection_set)
                elif isinstance(selection, FragmentSpreadNode):
                    inner = self._fragment(selection.name.value)
                else:  # pragma: no cover - graphql-core has no other selection kind
                    continue
                depth = max(depth, inner.depth)
                fields += inner.fields
                lists = max(lists, inner.lists)
        return _Size(depth, fields, lists)

    def _fragment(self, name: str) -> _Size:
        known = self._fragments.get(name)
        if known is not None:
            return known
        fragment = self._rule.context.get_fragment(name)
        if fragment is None or name in self._open:
            return _EMPTY  # unknown or cyclic fragments are reported by other rules
        if len(self._open) >= MAX_FRAGMENT_NESTING:
            raise _TooNested(name)
        self._open.append(name)
        try:
            size = self.selection_set(fragment.selection_set)
        finally:
            self._open.pop()
        self._fragments[name] = size
        return size


def selection_limit_rule(
    max_depth: int = MAX_DEPTH, max_fields: int = MAX_FIELDS
) -> type[ValidationRule]:
    """Refuse operations nested deeper than ``max_depth`` or selecting over ``max_fields``."""

    class SelectionLimits(ValidationRule):
        def __init__(self, context: Any) -> None:
            super().__init__(context)
            self._measure = _Measure(self)

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> Any:
            name = node.name.value if node.name else "anonymous"
            try:
                size = self._measure.selection_set(node.selection_set)
            except _TooNested as exc:
                self.report_error(
                    GraphQLError(
                        f"Operation '{name}' nests fragments more than "
                        f"{MAX_FRAGMENT_NESTING} deep (at fragment '{exc}').",
                        node,
                    )
                )
                return self.SKIP
            if _is_introspection(node):
                self._check(name, size, MAX_INTROSPECTION_DEPTH, MAX_INTROSPECTION_FIELDS, node)
                if size.lists > MAX_INTROSPECTION_LISTS:
                    self.report_error(
                        GraphQLError(
                            f"Operation '{name}' nests {size.lists} lists of the schema "
                            f"(types, fields, args...); the limit is {MAX_INTROSPECTION_LISTS}.",
                            node,
                        )
                    )
            else:
                self._check(name, size, max_depth, max_fields, node)
            return self.SKIP  # measured already: nothing below needs a visit

        def _check(
            self, name: str, size: _Size, depth: int, fields: int, node: OperationDefinitionNode
        ) -> None:
            if size.depth > depth:
                self.report_error(
                    GraphQLError(
                        f"Operation '{name}' nests {size.depth} levels deep; the limit is {depth}.",
                        node,
                    )
                )
            if size.fields > fields:
                self.report_error(
                    GraphQLError(
                        f"Operation '{name}' selects {size.fields} fields (aliases and "
                        f"fragments counted each time they are used); the limit is "
                        f"{fields}.",
                        node,
                    )
                )

    return SelectionLimits


def _is_introspection(node: OperationDefinitionNode) -> bool:
    """Every root selection is a ``__`` field: the operation reads only the schema."""
    selections = node.selection_set.selections
    return bool(selections) and all(
        isinstance(selection, FieldNode) and selection.name.value.startswith("__")
        for selection in selections
    )


def limit_rules() -> tuple[type[ValidationRule], ...]:
    """The rules the engine checks before graphql-core's specified rules."""
    return (selection_limit_rule(),)
