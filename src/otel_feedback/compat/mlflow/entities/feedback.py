"""``mlflow.entities.feedback``: ``Feedback`` and ``FeedbackSource`` (an ``AssessmentSource``)."""

from __future__ import annotations

from otel_feedback.compat.mlflow.entities.assessment import Feedback
from otel_feedback.compat.mlflow.entities.assessment_source import (
    AssessmentSource as FeedbackSource,
)
from otel_feedback.compat.mlflow.entities.assessment_source import AssessmentSourceType

FeedbackSourceType = AssessmentSourceType

__all__ = ["Feedback", "FeedbackSource", "FeedbackSourceType"]
