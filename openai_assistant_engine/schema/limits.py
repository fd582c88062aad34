"""Validation rules that keep a document from asking for more than the contract needs."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, ValidationRule
from graphql.language import (
    FieldNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

__all__ = ["MAX_DEPTH", "depth_limit_rule"]

# The contract's deepest selection is 3 levels (assistantList { assistantList { ... } }).
MAX_DEPTH = 8


def depth_limit_rule(max_depth: int = MAX_DEPTH) -> type[ValidationRule]:
    class DepthLimit(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            depth = self._depth(node.selection_set, 0, set())
            if depth > max_depth:
                name = node.name.value if node.name else "anonymous"
                self.report_error(
                    GraphQLError(
                        f"Operation '{name}' nests {depth} levels deep; the limit is "
                        f"{max_depth}.",
                        node,
                    )
                )

        def _depth(self, selections: SelectionSetNode | None, level: int, seen: set[str]) -> int:
            if selections is None:
                return level
            deepest = level
            for selection in selections.selections:
                if isinstance(selection, FieldNode):
                    deepest = max(deepest, self._depth(selection.selection_set, level + 1, seen))
                elif isinstance(selection, InlineFragmentNode):
                    deepest = max(deepest, self._depth(selection.selection_set, level, seen))
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = self.context.get_fragment(name)
                    if fragment is None or name in seen:
                        continue  # unknown or cyclic fragments are reported by other rules
                    deepest = max(
                        deepest, self._depth(fragment.selection_set, level, seen | {name})
                    )
            return deepest

    return DepthLimit
