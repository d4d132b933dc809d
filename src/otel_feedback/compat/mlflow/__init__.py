"""MLflow's tracing and assessment API on OpenTelemetry:
``import otel_feedback.compat.mlflow as mlflow``.

- ``@mlflow.trace`` / ``mlflow.start_span(...)``: spans with OpenInference
  ``input.value`` / ``output.value`` and ``openinference.span.kind`` from ``span_type``;
- ``mlflow.get_current_active_span()`` (``.trace_id`` is ``tr-<32 hex>``, ``.span_id``),
  ``mlflow.get_last_active_trace_id()``, ``mlflow.update_current_trace(...)``;
- ``mlflow.log_feedback(trace_id=, name=, value=, source=, rationale=, error=, span_id=,
  metadata=)``, ``log_expectation``, ``log_assessment``, ``override_feedback``:
  otel-feedback records on the trace's root span (or ``span_id``);
- ``mlflow.entities``: ``AssessmentSource``, ``AssessmentSourceType`` (legacy ``AI_JUDGE``
  read as ``LLM_JUDGE``), ``AssessmentError``, ``Feedback``, ``Expectation``, ``SpanType``,
  ``feedback.FeedbackSource``.

Trace ids: MLflow's ``tr-<32 hex>`` is the OpenTelemetry trace id with a prefix (as the MLflow
server names traces it receives over OTLP); ``tr-`` and plain hex are both accepted.
``set_tracking_uri`` / ``set_experiment`` are accepted and have no effect: spans go to the
OpenTelemetry exporter (``OTEL_EXPORTER_OTLP_*``; for an MLflow server, its ``/v1/traces``
with the header ``x-mlflow-experiment-id``).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from otel_feedback.compat import _runtime
from otel_feedback.compat.mlflow import entities
from otel_feedback.compat.mlflow._assessments import (
    delete_assessment,
    delete_expectation,
    delete_feedback,
    get_assessment,
    log_assessment,
    log_expectation,
    log_feedback,
    override_feedback,
    update_assessment,
    update_expectation,
    update_feedback,
)
from otel_feedback.compat.mlflow._tracing import (
    get_active_trace_id,
    get_current_active_span,
    get_last_active_trace_id,
    start_span,
    trace,
    update_current_trace,
)
from otel_feedback.compat.mlflow.entities import (
    AssessmentSource,
    AssessmentSourceType,
    Expectation,
    Feedback,
    SpanType,
)

__all__ = [
    "AssessmentSource",
    "AssessmentSourceType",
    "Expectation",
    "Feedback",
    "SpanType",
    "delete_assessment",
    "delete_expectation",
    "delete_feedback",
    "entities",
    "flush_trace_async_logging",
    "get_active_trace_id",
    "get_assessment",
    "get_current_active_span",
    "get_last_active_trace_id",
    "get_tracking_uri",
    "log_assessment",
    "log_expectation",
    "log_feedback",
    "override_feedback",
    "set_experiment",
    "set_tracking_uri",
    "start_span",
    "trace",
    "update_assessment",
    "update_current_trace",
    "update_expectation",
    "update_feedback",
]

_settings: dict[str, Any] = {"tracking_uri": None}


def set_tracking_uri(uri: str) -> None:
    """Accepted for compatibility; spans go to the OpenTelemetry exporter instead."""
    _settings["tracking_uri"] = uri
    _runtime.ensure_provider()


def get_tracking_uri() -> str | None:
    return _settings["tracking_uri"]  # type: ignore[no-any-return]


def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None
) -> SimpleNamespace:
    """Accepted for compatibility (sets up OpenTelemetry if needed); returns the names."""
    _runtime.ensure_provider()
    return SimpleNamespace(name=experiment_name, experiment_id=experiment_id)


def flush_trace_async_logging(terminate: bool = False) -> None:
    """Export everything traced so far."""
    del terminate
    _runtime.flush()
