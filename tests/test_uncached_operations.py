"""askOpenAi and currentRun as mutations (caching clients never replay those), and
``Cache-Control: no-store`` on every HTTP answer of the server and the Lambda handler."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from openai_assistant_engine import aws_lambda
from openai_assistant_engine.server import GraphQLServer

from .conversation_calls import TERMINAL, UPDATED_BY

MUTATIONS = """
mutation askOpenAi(
    $assistantType: String!, $assistantId: String!, $userQuery: String!,
    $updatedBy: String!, $threadId: String
) {
    askOpenAi(
        assistantType: $assistantType, assistantId: $assistantId, userQuery: $userQuery,
        updatedBy: $updatedBy, threadId: $threadId
    ) { assistantId threadId userQuery currentRunId }
}
mutation currentRun(
    $assistantId: String!, $threadId: String!, $runId: String!, $updatedBy: String!
) {
    currentRun(
        assistantId: $assistantId, threadId: $threadId, runId: $runId, updatedBy: $updatedBy
    ) { threadId runId status usage }
}
"""


@pytest.mark.parametrize("backend", ["assistants", "responses"])
def test_a_conversation_through_the_mutations(make_chat, backend) -> None:
    chat = make_chat(backend, "poll")
    asked = chat.data(
        "askOpenAi",
        MUTATIONS,
        assistantType=chat.assistant_type,
        assistantId=chat.assistant_id,
        userQuery='call:add {"a": 1, "b": 2}',
        updatedBy=UPDATED_BY,
    )["askOpenAi"]
    assert set(asked) == {"assistantId", "threadId", "userQuery", "currentRunId"}
    keys = {
        "assistantId": chat.assistant_id,
        "threadId": asked["threadId"],
        "runId": asked["currentRunId"],
        "updatedBy": UPDATED_BY,
    }
    deadline = time.monotonic() + 20
    while True:  # every poll is a mutation, and with the poll driver it moves the run on
        run = chat.data("currentRun", MUTATIONS, **keys)["currentRun"]
        if run["status"] in TERMINAL:
            break
        assert time.monotonic() < deadline, run
    assert run["status"] == "completed"
    assert chat.last_message(asked["threadId"])["message"] == "Tool results: add=3"
    # The query form answers the same for the same run.
    assert chat.current_run(asked["threadId"], asked["currentRunId"]) == run


def test_the_server_answers_no_store(dynamo_settings) -> None:
    from openai_assistant_engine import OpenaiAssistantEngine

    server = GraphQLServer(OpenaiAssistantEngine(None, **dynamo_settings), port=0).start()
    try:
        request = urllib.request.Request(
            f"{server.url}/graphql",
            data=json.dumps({"query": "mutation { __typename }"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers["Cache-Control"] == "no-store"
    finally:
        server.stop()


@pytest.mark.parametrize("method", ["POST", "OPTIONS"])
def test_the_lambda_handler_answers_no_store(method, monkeypatch) -> None:
    monkeypatch.setenv("REGION_NAME", "us-east-1")
    aws_lambda._ENGINE.reset()
    event = {
        "version": "2.0",
        "routeKey": f"{method} /graphql",
        "requestContext": {"http": {"method": method, "path": "/graphql"}},
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"query": "query ping { ping }"}),
        "isBase64Encoded": False,
    }
    try:
        response = aws_lambda.handler(event, None)
    finally:
        aws_lambda._ENGINE.reset()
    assert response["statusCode"] in (200, 204)
    assert response["headers"]["Cache-Control"] == "no-store"
