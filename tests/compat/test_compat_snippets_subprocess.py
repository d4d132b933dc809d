"""Snippets that never mention OpenTelemetry, run as programs: the compat modules set up the
SDK from ``OTEL_EXPORTER_OTLP_*`` on first use and flush it when the process exits.

Each snippet is the SDK's documented code with only its import lines changed. Nothing in it
flushes or shuts down: what arrives at the receiver was exported by the exit hook.
"""

from __future__ import annotations

import pytest
from helpers_wire import feedback_spans, only_event, run_python

from otel_feedback.testing import OTLPReceiver


def _env(receiver: OTLPReceiver, protocol: str) -> dict[str, str]:
    if protocol == "grpc":
        return {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.grpc_endpoint}
    return {
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.http_endpoint,
    }


OPIK_SNIPPET = """
import json
from otel_feedback.compat.opik import track, opik_context
from otel_feedback.compat import opik

@track
def llm_chain(input_text):
    # LLM chain code
    # ...

    # Update the trace
    opik_context.update_current_trace(
        feedback_scores=[
            {"name": "user_feedback", "value": 1.0,
             "reason": "The response was helpful and accurate."}
        ]
    )
    return {"trace_id": opik_context.get_current_trace_data().id}

ids = llm_chain("What is the capital of France?")
opik_client = opik.Opik()
opik_client.log_traces_feedback_scores(
    scores=[{"id": ids["trace_id"], "name": "hallucination", "value": 0.0, "reason": "grounded"}]
)
print(json.dumps(ids))
"""


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_opik_snippet_exports_with_no_setup(otlp_receiver: OTLPReceiver, protocol: str) -> None:
    ids = run_python(OPIK_SNIPPET, _env(otlp_receiver, protocol))
    spans = otlp_receiver.wait_for_spans(2)
    chain = otlp_receiver.span_by_name("llm_chain")
    assert chain.trace_id == ids["trace_id"]
    assert chain.scope_name == "otel_feedback.compat.opik"
    assert chain.attributes["feedback.user_feedback"] == 1.0
    [late] = feedback_spans(spans)
    assert late.parent_span_id == chain.span_id
    assert only_event(late).attributes["gen_ai.evaluation.explanation"] == "grounded"


MLFLOW_SNIPPET = """
import json
import otel_feedback.compat.mlflow as mlflow
from otel_feedback.compat.mlflow.entities.assessment import (
    AssessmentSource,
    AssessmentSourceType,
)

@mlflow.trace
def my_app(input: str) -> str:
    return input + "_output"

# Create a sample trace to demonstrate assessment logging
my_app(input="hello")

trace_id = mlflow.get_last_active_trace_id()

# Handle case where trace_id might be None
if trace_id is None:
    raise ValueError("No active trace found. Make sure to run a traced function first.")

mlflow.log_feedback(
    trace_id=trace_id,
    name="human_rating",
    value=4,  # int - rating scale feedback
    rationale="Human evaluator rating",
    source=AssessmentSource(
        source_type=AssessmentSourceType.HUMAN,
        source_id="evaluator@company.com",
    ),
)
mlflow.log_expectation(
    trace_id=trace_id,
    name="expected_answer",
    value="hello_output",
)
print(json.dumps({"trace_id": trace_id}))
"""


def test_mlflow_snippet_exports_with_no_setup(otlp_receiver: OTLPReceiver) -> None:
    printed = run_python(MLFLOW_SNIPPET, _env(otlp_receiver, "grpc"))
    spans = otlp_receiver.wait_for_spans(3)
    app = otlp_receiver.span_by_name("my_app")
    assert printed["trace_id"] == f"tr-{app.trace_id}"
    names = {
        only_event(span).attributes["gen_ai.evaluation.name"]: span
        for span in feedback_spans(spans)
    }
    assert set(names) == {"human_rating", "ground_truth.expected_answer"}
    assert all(span.parent_span_id == app.span_id for span in names.values())


HONEYHIVE_APP = """
import json, os
from otel_feedback.compat.honeyhive import HoneyHiveTracer, trace, enrich_span

tracer = HoneyHiveTracer.init(
    api_key=os.getenv("HH_API_KEY"),
    project="support-bot",
    session_name="chat",
)

@trace(event_type="model")
def answer(question):
    enrich_span(metrics={"tokens": 12})
    return "Paris"

answer("capital of France?")
print(json.dumps({"session_id": HoneyHiveTracer.session_id}))
"""

HONEYHIVE_LATER = """
import json, os
from otel_feedback.compat.honeyhive import HoneyHiveTracer, enrich_session

# the backend that receives the feedback, with the session id the frontend passed on
HoneyHiveTracer.init(api_key=os.getenv("HH_API_KEY"), project="support-bot",
                     session_id=os.environ["SESSION_ID"])
enrich_session(feedback={"rating": 5, "comment": "solved my problem"})
enrich_session(session_id=os.environ["SESSION_ID"], metrics={"resolution_time_s": 42})
print(json.dumps({}))
"""


def test_honeyhive_session_enriched_from_another_process(otlp_receiver: OTLPReceiver) -> None:
    env = _env(otlp_receiver, "grpc")
    session_id = run_python(HONEYHIVE_APP, env)["session_id"]
    run_python(HONEYHIVE_LATER, {**env, "SESSION_ID": session_id})
    spans = otlp_receiver.wait_for_spans(3)
    answer = otlp_receiver.span_by_name("answer")
    assert answer.resource_attributes["service.name"] == "support-bot"
    assert answer.attributes["session.id"] == session_id
    rating, timing = sorted(
        feedback_spans(spans), key=lambda span: "metrics.resolution_time_s" in span.attributes
    )
    for record in (rating, timing):
        assert record.attributes["session.id"] == session_id
        assert record.parent_span_id is None
    assert rating.attributes["feedback.rating"] == 5
    assert rating.attributes["feedback.comment"] == "solved my problem"
    assert timing.attributes["metrics.resolution_time_s"] == 42


OPIK_CLIENT_SNIPPET = """
import json
from otel_feedback.compat.opik import Opik

client = Opik(project_name="Opik client demo")
trace = client.trace(name="my_trace", input={"user_question": "Hello, how are you?"})
span = trace.span(name="llm_call", type="llm", input={"prompt": "Hello"})
span.log_feedback_score("fluency", 0.9, reason="reads well")
print(json.dumps({"trace_id": trace.id}))  # neither ended nor flushed: Opik logs them anyway
"""


def test_opik_manual_trace_left_open_is_exported_at_exit(otlp_receiver: OTLPReceiver) -> None:
    printed = run_python(OPIK_CLIENT_SNIPPET, _env(otlp_receiver, "grpc"))
    otlp_receiver.wait_for_spans(2)
    root = otlp_receiver.span_by_name("my_trace")
    llm = otlp_receiver.span_by_name("llm_call")
    assert root.trace_id == printed["trace_id"]
    assert llm.parent_span_id == root.span_id
    assert llm.end_time_unix_nano <= root.end_time_unix_nano
    assert only_event(llm).attributes["gen_ai.evaluation.explanation"] == "reads well"
