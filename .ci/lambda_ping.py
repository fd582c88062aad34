"""Import the built Lambda artifact in a bare interpreter and answer a ping through it.

Run as ``python3 -S -E .ci/lambda_ping.py ARTIFACT_DIR``: no site-packages and no
PYTHONPATH, so every module comes from the artifact, as on Lambda.
"""

import json
import sys

artifact = sys.argv[1]
sys.path.insert(0, artifact)

from openai_assistant_engine.aws_lambda import handler  # noqa: E402

module = sys.modules["openai_assistant_engine"]
assert module.__file__.startswith(artifact), module.__file__
for unwanted in ("tests", "benchmarks", ".ci", "examples"):
    try:
        __import__(unwanted)
    except ImportError:
        continue
    raise SystemExit(f"the artifact ships {unwanted}/")
__import__("openai_assistant_engine.examples.weather_tools")  # the demo tools ship

event = {
    "version": "2.0",
    "routeKey": "POST /graphql",
    "requestContext": {"http": {"method": "POST", "path": "/graphql"}},
    "headers": {"content-type": "application/json"},
    "body": json.dumps({"query": "query ping { ping }", "operationName": "ping"}),
    "isBase64Encoded": False,
}
response = handler(event, None)
body = json.loads(response["body"])
assert response["statusCode"] == 200 and body["data"]["ping"].startswith("pong"), response
print(f"Lambda artifact ok: {body['data']['ping']}")
