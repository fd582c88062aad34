"""The GraphQL schema of the contract (graphene only; no business logic here)."""

from __future__ import annotations

import graphene

from .mutations import Mutations
from .queries import Query
from .scalars import JSON, DateTime

__all__ = ["JSON", "DateTime", "build_schema", "operation_names"]


def build_schema() -> graphene.Schema:
    return graphene.Schema(query=Query, mutation=Mutations, types=[JSON, DateTime])


def operation_names(schema: graphene.Schema) -> dict[str, list[str]]:
    """Every root field, by operation type, as GraphQL names them."""
    graphql_schema = schema.graphql_schema
    return {
        "query": sorted(graphql_schema.query_type.fields),
        "mutation": sorted(graphql_schema.mutation_type.fields),
    }
