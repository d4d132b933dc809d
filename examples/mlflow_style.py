"""MLflow code on OpenTelemetry: the code of MLflow's documentation, only the imports changed.

Assessments from a human, an LLM judge and a code check, ground truth (an expectation) and a
judge that failed, logged by trace id after the trace ended. ``trace_id`` is MLflow's
``tr-<32 hex>``: the OpenTelemetry trace id with a prefix. No OpenTelemetry setup: it comes
from ``OTEL_*``.

Sent to an MLflow server (``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=<mlflow>/v1/traces``, header
``x-mlflow-experiment-id``) with ``MLFLOW_TRACKING_URI`` set, the MLflow bridge also logs them
as real MLflow assessments, shown in the trace's Assessments pane (README, "View in MLflow").
"""

import os

import otel_feedback as fb
import otel_feedback.compat.mlflow as mlflow  # noqa: PLR0402 - the documented form
from otel_feedback.compat.mlflow.entities import (
    AssessmentError,
    AssessmentSource,
    AssessmentSourceType,
    SpanType,
)

bridged = None
if os.environ.get("MLFLOW_TRACKING_URI"):  # MLflow's own variable: mirror into its views
    from otel_feedback.bridges.mlflow import MLflowAssessmentExporter

    bridged = fb.configure(
        bridges=[MLflowAssessmentExporter(os.environ["MLFLOW_TRACKING_URI"], experiment_id="0")]
    )


@mlflow.trace(span_type=SpanType.CHAIN)
def predict(question: str) -> str:
    return "MLflow is an open source MLOps platform."


answer = predict("What is MLflow?")
trace_id = mlflow.get_last_active_trace_id()

mlflow.log_feedback(
    trace_id=trace_id,
    name="is_correct",
    value=True,
    rationale="matches the docs",
    source=AssessmentSource(
        source_type=AssessmentSourceType.HUMAN, source_id="reviewer@example.com"
    ),
)
mlflow.log_feedback(
    trace_id=trace_id,
    name="relevance",
    value=0.9,
    rationale="answers the question asked",
    source=AssessmentSource(
        source_type=AssessmentSourceType.LLM_JUDGE, source_id="judge-model-v1"
    ),
)
mlflow.log_feedback(
    trace_id=trace_id,
    name="length_ok",
    value=len(answer) < 200,
    source=AssessmentSource(source_type=AssessmentSourceType.CODE, source_id="checks.length"),
)
mlflow.log_expectation(
    trace_id=trace_id,
    name="expected_response",
    value="MLflow is an open source platform for the ML lifecycle.",
    source=AssessmentSource(
        source_type=AssessmentSourceType.HUMAN, source_id="reviewer@example.com"
    ),
)
# A judge that failed: no value, the error instead.
mlflow.log_feedback(
    trace_id=trace_id,
    name="faithfulness",
    error=AssessmentError(error_code="RATE_LIMIT_EXCEEDED", error_message="judge rate-limited"),
    source=AssessmentSource(source_type="AI_JUDGE", source_id="judge-model-v1"),  # legacy name
)
if bridged is not None:
    bridged.shutdown()  # waits (bounded) until MLflow has the trace and the assessments
print("mlflow-style assessments sent for trace", trace_id)
