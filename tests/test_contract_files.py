"""The packaged contract document: the spec's text plus one optional variable, and both run.

The tests read only files inside the repository. Where the project's spec document sits
beside the checkout (``../shared/spec/``), one test compares it with the packaged copy;
elsewhere (a fresh clone) that test is skipped.
"""

from __future__ import annotations

import logging
import uuid

import pytest
from graphql import OperationDefinitionNode, parse, validate

from openai_assistant_engine import contract_document
from openai_assistant_engine.schema import build_schema

from .conftest import SPEC_DOCUMENT_PATH, spec_text_of
from .graphql_calls import call, data_of, new_engine


def _operations(document: str) -> set[str]:
    return {
        d.name.value for d in parse(document).definitions if isinstance(d, OperationDefinitionNode)
    }


@pytest.mark.skipif(
    not SPEC_DOCUMENT_PATH.is_file(), reason="no ../shared/spec beside this checkout"
)
def test_the_packaged_contract_is_the_spec_plus_its_additions() -> None:
    assert spec_text_of(contract_document()) == SPEC_DOCUMENT_PATH.read_text()


def test_the_spec_text_and_the_contract_hold_the_same_valid_operations() -> None:
    schema = build_schema().graphql_schema
    contract = contract_document()
    spec = spec_text_of(contract)
    assert validate(schema, parse(contract)) == []
    assert validate(schema, parse(spec)) == []
    assert _operations(contract) == _operations(spec)


def test_both_insert_update_assistant_versions_run(dynamo_settings: dict[str, str]) -> None:
    engine = new_engine(logging.getLogger("oae.tests"), dynamo_settings)
    contract = contract_document()
    base = {"assistantName": "a", "functions": [], "updatedBy": "u", "assistantType": "t"}

    spec_id = f"spec-{uuid.uuid4().hex[:6]}"
    spec_call = call(
        engine, spec_text_of(contract), "insertUpdateAssistant", {**base, "assistantId": spec_id}
    )
    assert data_of(spec_call)["insertUpdateAssistant"]["assistant"]["assistantId"] == spec_id

    contract_id = f"contract-{uuid.uuid4().hex[:6]}"
    configuration = {"model": "gpt-4o-mini", "instructions": "Be brief."}
    variables = {**base, "assistantId": contract_id, "configuration": configuration}
    data_of(call(engine, contract, "insertUpdateAssistant", variables))
    record = engine.store.get_assistant("t", contract_id)
    assert record["configuration"] == configuration
