"""``mlflow.entities.feedback_source``: ``FeedbackSource`` (an ``AssessmentSource``)."""

from __future__ import annotations

from otel_feedback.compat.mlflow.entities.feedback import FeedbackSource, FeedbackSourceType

__all__ = ["FeedbackSource", "FeedbackSourceType"]
