"""Opik's ``opik.types``: the shape of a feedback score dict."""

from __future__ import annotations

from typing import TypedDict


class FeedbackScoreDict(TypedDict, total=False):
    """``{"id", "name", "value", "reason", "category_name", "project_name"}``."""

    id: str
    name: str
    value: float
    reason: str
    category_name: str
    project_name: str


BatchFeedbackScoreDict = FeedbackScoreDict
"""Opik's name of the same shape in batch calls."""

__all__ = ["BatchFeedbackScoreDict", "FeedbackScoreDict"]
