"""``mlflow.entities``: the assessment and span types of MLflow's tracing API."""

from __future__ import annotations

from otel_feedback.compat.mlflow.entities import assessment, feedback, span
from otel_feedback.compat.mlflow.entities.assessment import Assessment, Expectation, Feedback
from otel_feedback.compat.mlflow.entities.assessment_error import AssessmentError
from otel_feedback.compat.mlflow.entities.assessment_source import (
    AssessmentSource,
    AssessmentSourceType,
)
from otel_feedback.compat.mlflow.entities.feedback import FeedbackSource
from otel_feedback.compat.mlflow.entities.span import (
    LiveSpan,
    Span,
    SpanEvent,
    SpanStatusCode,
    SpanType,
)

__all__ = [
    "Assessment",
    "AssessmentError",
    "AssessmentSource",
    "AssessmentSourceType",
    "Expectation",
    "Feedback",
    "FeedbackSource",
    "LiveSpan",
    "Span",
    "SpanEvent",
    "SpanStatusCode",
    "SpanType",
    "assessment",
    "feedback",
    "span",
]
