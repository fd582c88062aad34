"""Introspection: what GraphiQL, codegen and gql send reads the schema; abuse is refused."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator

import pytest
from graphql import build_client_schema, get_introspection_query, print_ast

from openai_assistant_engine import OpenaiAssistantEngine
from openai_assistant_engine.schema.limits import (
    MAX_INTROSPECTION_DEPTH,
    MAX_INTROSPECTION_LISTS,
)
from openai_assistant_engine.server import GraphQLServer

LOGGER = logging.getLogger("oae.tests")
OPTIONS = ("descriptions", "specified_by_url", "directive_is_repeatable", "schema_description")
STANDARD = {
    flags: get_introspection_query(
        **dict(zip(OPTIONS, flags, strict=True)), input_value_deprecation=flags[0]
    )
    for flags in itertools.product([True, False], repeat=len(OPTIONS))
}


def _engine(**settings: object) -> OpenaiAssistantEngine:
    # Introspection touches neither DynamoDB nor OpenAI: no endpoint is ever contacted.
    return OpenaiAssistantEngine(LOGGER, region_name="us-east-1", **settings)


@pytest.mark.parametrize("flags", list(STANDARD), ids=lambda f: "-".join(map(str, map(int, f))))
def test_the_standard_introspection_query_reads_the_schema(flags) -> None:
    response = _engine().execute({"query": STANDARD[flags]})
    assert response["status_code"] == 200, response
    schema = build_client_schema(response["data"])
    assert {"askOpenAi", "currentRun", "ping"} <= set(schema.query_type.fields)
    assert "insertUpdateAssistant" in schema.mutation_type.fields


def test_the_query_gql_sends_reads_the_schema() -> None:
    from gql.utilities import get_introspection_query_ast

    response = _engine().execute({"query": print_ast(get_introspection_query_ast())})
    assert response["status_code"] == 200, response
    assert response["data"]["__schema"]["queryType"]["name"] == "Query"


@pytest.fixture(scope="module")
def http_server() -> Iterator[GraphQLServer]:
    server = GraphQLServer(_engine(), port=0).start()
    yield server
    server.stop()


def test_gql_fetches_the_schema_over_http_and_validates_against_it(http_server) -> None:
    from gql import Client, gql
    from gql.transport.requests import RequestsHTTPTransport

    transport = RequestsHTTPTransport(url=f"{http_server.url}/graphql", retries=0)
    with Client(transport=transport, fetch_schema_from_transport=True) as session:
        assert session.execute(gql("query ping { ping }"))["ping"].startswith("pong")
        assert "askOpenAi" in session.client.schema.query_type.fields


def _nested_of_type(levels: int) -> str:
    inner = "kind name"
    for _ in range(levels):
        inner = f"kind ofType {{ {inner} }}"
    return f"query deep {{ __schema {{ types {{ fields {{ type {{ {inner} }} }} }} }} }}"


def test_an_introspection_query_nested_far_beyond_the_standard_one_is_refused() -> None:
    response = _engine().execute({"query": _nested_of_type(MAX_INTROSPECTION_DEPTH + 10)})
    assert response["status_code"] == 400
    assert f"the limit is {MAX_INTROSPECTION_DEPTH}" in response["errors"][0]["message"]


def test_lists_of_the_schema_nested_in_each_other_are_refused() -> None:
    # Each level multiplies the answer (types x fields x fields...), however short the text.
    inner = "name"
    for _ in range(MAX_INTROSPECTION_LISTS):
        inner = f"fields {{ type {{ {inner} }} }}"
    query = f"query wide {{ __schema {{ types {{ {inner} }} }} }}"
    response = _engine().execute({"query": query})
    assert response["status_code"] == 400
    message = response["errors"][0]["message"]
    assert "lists of the schema" in message and f"limit is {MAX_INTROSPECTION_LISTS}" in message


def test_introspection_limits_do_not_widen_other_operations() -> None:
    # A data field next to __schema keeps the ordinary limits (8 levels).
    query = "query mixed { ping " + _nested_of_type(4)[len("query deep { ") :]
    response = _engine().execute({"query": query})
    assert response["status_code"] == 400
    assert "the limit is 8" in response["errors"][0]["message"]


def test_the_setting_turns_introspection_off() -> None:
    engine = _engine(graphql_introspection="false")
    response = engine.execute({"query": STANDARD[(True, False, False, False)]})
    assert response["status_code"] == 400
    [error] = response["errors"]
    assert "__schema" in error["message"] and "graphql_introspection" in error["message"]
    assert engine.execute({"query": "{ __typename ping }"})["status_code"] == 200
    assert _engine().settings.graphql_introspection is True
