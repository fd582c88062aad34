"""Validation rules that keep a document from asking for more than the contract needs.

They run before graphql-core's own rules (see ``engine.py``), so an oversized document is
refused with a clear message before any costlier rule looks at it. Each fragment is
measured once and its size reused wherever it is spread, so a document that spreads a
fragment twice in each of thirty nested fragments (a "fragment bomb": 2**30 fields in
under 2 KB of text) costs thirty measurements, not a billion.
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


@dataclass(frozen=True)
class _Size:
    depth: int  # field levels below a selection set
    fields: int  # field selections in it, fragments expanded


_EMPTY = _Size(0, 0)


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
        depth = fields = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                inner = self.selection_set(selection.selection_set)
                depth = max(depth, inner.depth + 1)
                fields += inner.fields + 1
            else:
                if isinstance(selection, InlineFragmentNode):
                    inner = self.selection_set(selection.selection_set)
                elif isinstance(selection, FragmentSpreadNode):
                    inner = self._fragment(selection.name.value)
                else:  # pragma: no cover - graphql-core has no other selection kind
                    continue
                depth = max(depth, inner.depth)
                fields += inner.fields
        return _Size(depth, fields)

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
            if size.depth > max_depth:
                self.report_error(
                    GraphQLError(
                        f"Operation '{name}' nests {size.depth} levels deep; the limit is "
                        f"{max_depth}.",
                        node,
                    )
                )
            if size.fields > max_fields:
                self.report_error(
                    GraphQLError(
                        f"Operation '{name}' selects {size.fields} fields (aliases and "
                        f"fragments counted each time they are used); the limit is "
                        f"{max_fields}.",
                        node,
                    )
                )
            return self.SKIP  # measured already: nothing below needs a visit

    return SelectionLimits


def limit_rules() -> tuple[type[ValidationRule], ...]:
    """The rules the engine checks before graphql-core's specified rules."""
    return (selection_limit_rule(),)
