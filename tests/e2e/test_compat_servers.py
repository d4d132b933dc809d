"""The compat modules against real servers: snippets that never mention OpenTelemetry, run
as programs configured only by ``OTEL_*`` variables, read back from MLflow and Phoenix.

- MLflow: the trace id ``otel_feedback.compat.mlflow`` hands out (``tr-<hex>``) is the id
  the MLflow server gives the trace it receives over OTLP, so users paste it unchanged.
- Phoenix: a HoneyHive session (``session.id``) arrives with its spans, its enrichment, and
  the session record of feedback given later from another process.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from mlflow_backend import MLflowServer
from phoenix_backend import PhoenixServer

pytestmark = pytest.mark.e2e

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: helpers_wire

from helpers_wire import run_python  # noqa: E402

MLFLOW_SNIPPET = """
import json
import otel_feedback.compat.mlflow as mlflow
from otel_feedback.compat.mlflow.entities import AssessmentSource, AssessmentSourceType

@mlflow.trace
def my_app(input: str) -> str:
    return input + "_output"

my_app(input="hello")
trace_id = mlflow.get_last_active_trace_id()
feedback = mlflow.log_feedback(
    trace_id=trace_id,
    name="human_rating",
    value=4,
    rationale="Human evaluator rating",
    source=AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id="evaluator"),
)
print(json.dumps({"trace_id": trace_id, "assessment_id": feedback.assessment_id}))
"""


def test_mlflow_names_the_trace_as_the_compat_module_does(mlflow_server: MLflowServer) -> None:
    headers = ",".join(f"{key}={value}" for key, value in mlflow_server.otlp_headers.items())
    printed = run_python(
        MLFLOW_SNIPPET,
        {
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": mlflow_server.otlp_http_endpoint,
            "OTEL_EXPORTER_OTLP_HEADERS": headers,
            "NO_PROXY": os.environ.get("NO_PROXY", "127.0.0.1,localhost"),
        },
    )
    trace_id: str = printed["trace_id"]
    assert trace_id.startswith("tr-")
    info = mlflow_server.wait_for_trace(trace_id.removeprefix("tr-"))
    assert info["trace_id"] == trace_id
    assert printed["assessment_id"].startswith("a-")


HONEYHIVE_APP = """
import json
from otel_feedback.compat.honeyhive import HoneyHiveTracer, enrich_session, trace

HoneyHiveTracer.init(api_key="unused", project="compat-e2e", session_name="chat")

@trace(event_type="model")
def answer(question):
    enrich_session(metadata={"channel": "web"})
    return "Paris"

answer("capital of France?")
print(json.dumps({"session_id": HoneyHiveTracer.session_id}))
"""

HONEYHIVE_LATER = """
import json, os
from otel_feedback.compat.honeyhive import HoneyHiveTracer, enrich_session

HoneyHiveTracer.init(api_key="unused", project="compat-e2e", session_id=os.environ["SESSION"])
enrich_session(feedback={"rating": 5})
print(json.dumps({}))
"""


def test_phoenix_gets_a_honeyhive_session_and_its_later_feedback(phoenix: PhoenixServer) -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": phoenix.otlp_grpc_endpoint}
    session_id = run_python(HONEYHIVE_APP, env)["session_id"]
    run_python(HONEYHIVE_LATER, {**env, "SESSION": session_id})

    def mine(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [span for span in spans if span["attributes"].get("session.id") == session_id]

    spans = mine(phoenix.wait_for_spans(lambda spans: len(mine(spans)) >= 2, timeout=60))
    by_name = {span["name"]: span for span in spans}
    assert set(by_name) == {"answer", "feedback"}
    assert by_name["answer"]["attributes"]["metadata.channel"] == "web"
    assert by_name["answer"]["span_kind"] == "LLM", "Phoenix reads openinference.span.kind"
    assert by_name["feedback"]["attributes"]["feedback.rating"] == 5
