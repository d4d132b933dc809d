"""MLflow's assessments: ``Feedback`` (a judgement) and ``Expectation`` (ground truth).

An assessment logged here is one otel-feedback record; ``assessment_id`` is
``"a-" + feedback.id`` (the record's id on the wire, the idempotency key), ``trace_id`` is
``"tr-" + the OpenTelemetry trace id`` (32 hex digits).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from otel_feedback.compat.mlflow.entities.assessment_error import AssessmentError
from otel_feedback.compat.mlflow.entities.assessment_source import (
    AssessmentSource,
    AssessmentSourceType,
)

DEFAULT_FEEDBACK_NAME = "feedback"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class Assessment:
    """What ``Feedback`` and ``Expectation`` share."""

    name: str
    source: AssessmentSource | None = None
    trace_id: str | None = None
    metadata: dict[str, Any] | None = None
    span_id: str | None = None
    create_time_ms: int | None = None
    last_update_time_ms: int | None = None
    assessment_id: str | None = None
    overrides: str | None = None
    valid: bool = True
    rationale: str | None = field(default=None, kw_only=True)


class Feedback(Assessment):
    """A judgement of a trace or span: a ``value``, or an ``error`` if the judge failed."""

    def __init__(
        self,
        name: str = DEFAULT_FEEDBACK_NAME,
        value: Any = None,
        error: BaseException | AssessmentError | None = None,
        source: AssessmentSource | None = None,
        trace_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        span_id: str | None = None,
        create_time_ms: int | None = None,
        last_update_time_ms: int | None = None,
        rationale: str | None = None,
        overrides: str | None = None,
        valid: bool = True,
    ) -> None:
        super().__init__(
            name=name,
            source=source or AssessmentSource(AssessmentSourceType.CODE),
            trace_id=trace_id,
            metadata=metadata,
            span_id=span_id,
            create_time_ms=create_time_ms or _now_ms(),
            last_update_time_ms=last_update_time_ms or create_time_ms or _now_ms(),
            overrides=overrides,
            valid=valid,
            rationale=rationale,
        )
        if isinstance(error, BaseException):
            error = AssessmentError.from_exception(error)
        self.value = value
        self.error = error

    def __repr__(self) -> str:
        return (
            f"Feedback(name={self.name!r}, value={self.value!r}, error={self.error!r}, "
            f"assessment_id={self.assessment_id!r}, trace_id={self.trace_id!r})"
        )


class Expectation(Assessment):
    """The expected output (ground truth) of a trace or span."""

    def __init__(
        self,
        name: str,
        value: Any,
        source: AssessmentSource | None = None,
        trace_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        span_id: str | None = None,
        create_time_ms: int | None = None,
        last_update_time_ms: int | None = None,
    ) -> None:
        super().__init__(
            name=name,
            source=source or AssessmentSource(AssessmentSourceType.HUMAN),
            trace_id=trace_id,
            metadata=metadata,
            span_id=span_id,
            create_time_ms=create_time_ms or _now_ms(),
            last_update_time_ms=last_update_time_ms or create_time_ms or _now_ms(),
        )
        self.value = value

    def __repr__(self) -> str:
        return (
            f"Expectation(name={self.name!r}, value={self.value!r}, "
            f"assessment_id={self.assessment_id!r}, trace_id={self.trace_id!r})"
        )


__all__ = [
    "DEFAULT_FEEDBACK_NAME",
    "Assessment",
    "AssessmentError",
    "AssessmentSource",
    "AssessmentSourceType",
    "Expectation",
    "Feedback",
]
