"""MLflow's assessments API: ``log_feedback``, ``log_expectation``, ``override_feedback``...

Each assessment is one otel-feedback record (:func:`otel_feedback.log_feedback`) on the
trace's root span, or on ``span_id``: ``rationale`` is the reason, ``source`` the source type
and id, ``error`` a failed judge (``error.type`` / ``feedback.error``). An expectation is
ground truth: the record is named ``ground_truth.<name>``, so the span gets
``feedback.ground_truth.<name>``. Trace ids are accepted as ``tr-<32 hex>`` or ``<32 hex>``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import otel_feedback as fb
from otel_feedback.compat.mlflow.entities.assessment import (
    DEFAULT_FEEDBACK_NAME,
    Assessment,
    Expectation,
    Feedback,
)
from otel_feedback.compat.mlflow.entities.assessment_error import AssessmentError
from otel_feedback.compat.mlflow.entities.assessment_source import AssessmentSource
from otel_feedback.compat.mlflow.entities.span import TRACE_ID_PREFIX
from otel_feedback.errors import InvalidFeedbackError, InvalidTargetError
from otel_feedback.reporting import guarded, report

ASSESSMENT_ID_PREFIX = "a-"
GROUND_TRUTH = "ground_truth"
OVERRIDES = "overrides"
"""Metadata key of an overriding feedback: the ``feedback.id`` it replaces."""

_REMEMBERED = 10_000
_assessments: OrderedDict[str, Assessment] = OrderedDict()
_lock = threading.Lock()


def otel_trace_id(trace_id: object) -> object:
    """``tr-<hex>`` → ``<hex>``; anything else as given (the core validates it)."""
    if isinstance(trace_id, str) and trace_id.startswith(TRACE_ID_PREFIX):
        return trace_id[len(TRACE_ID_PREFIX) :]
    return trace_id


def _mlflow_trace_id(trace_id: object) -> str | None:
    hex_id = otel_trace_id(trace_id)
    return TRACE_ID_PREFIX + hex_id.lower() if isinstance(hex_id, str) else None


def _remember(assessment: Assessment) -> None:
    if assessment.assessment_id is None:
        return
    with _lock:
        _assessments[assessment.assessment_id] = assessment
        while len(_assessments) > _REMEMBERED:
            _assessments.popitem(last=False)


def _record(trace_id: str, assessment: Assessment) -> Assessment:
    """Log ``assessment`` as one record and return it with its ids filled in
    (``assessment_id`` stays ``None`` when it was dropped)."""
    _log(trace_id, assessment)
    return assessment


@guarded(None)
def _log(trace_id: str, assessment: Assessment) -> None:
    if not isinstance(assessment, Assessment):
        report(
            "invalid_value",
            InvalidFeedbackError(
                f"assessment must be a Feedback or an Expectation, got {type(assessment).__name__}"
            ),
        )
        return
    if not trace_id:
        report("invalid_target", InvalidTargetError("trace_id= is required (tr-<32 hex>)"))
        return
    source = assessment.source if isinstance(assessment.source, AssessmentSource) else None
    name: Any = assessment.name
    error: AssessmentError | None = None
    if isinstance(assessment, Expectation) and isinstance(name, str):
        if name != GROUND_TRUTH and not name.startswith(GROUND_TRUTH + "."):
            name = f"{GROUND_TRUTH}.{name}"
    elif isinstance(assessment, Feedback):
        error = assessment.error if isinstance(assessment.error, AssessmentError) else None
    metadata: Any = assessment.metadata  # not a mapping: the core reports it
    if assessment.overrides is not None:
        replaced = assessment.overrides.removeprefix(ASSESSMENT_ID_PREFIX)
        metadata = {**(metadata if isinstance(metadata, Mapping) else {}), OVERRIDES: replaced}
    failure: dict[str, Any] = {"error": error} if error is not None else {}
    feedback_id = fb.log_feedback(
        name,
        getattr(assessment, "value", None),
        trace_id=otel_trace_id(trace_id),  # type: ignore[arg-type]
        span_id=assessment.span_id,
        source=source.otel_source_type if source else None,
        source_id=source.source_id if source else None,
        reason=assessment.rationale,
        metadata=metadata or None,
        **failure,
    )
    assessment.trace_id = _mlflow_trace_id(trace_id)
    assessment.assessment_id = ASSESSMENT_ID_PREFIX + feedback_id if feedback_id else None
    _remember(assessment)


def log_feedback(
    *,
    trace_id: str,
    name: str = DEFAULT_FEEDBACK_NAME,
    value: Any = None,
    source: AssessmentSource | None = None,
    error: BaseException | AssessmentError | None = None,
    rationale: str | None = None,
    metadata: dict[str, Any] | None = None,
    span_id: str | None = None,
) -> Feedback:
    """Feedback on a trace (its root span) or one of its spans; ``value=None`` with
    ``error=`` records a judge that failed. Returns the :class:`Feedback`."""
    feedback = Feedback(
        name=name,
        value=value,
        error=error,
        source=source,
        metadata=metadata,
        span_id=span_id,
        rationale=rationale,
    )
    _record(trace_id, feedback)
    return feedback


def log_expectation(
    *,
    trace_id: str,
    name: str,
    value: Any,
    source: AssessmentSource | None = None,
    metadata: dict[str, Any] | None = None,
    span_id: str | None = None,
) -> Expectation:
    """Ground truth for a trace or span: ``feedback.ground_truth.<name>``."""
    expectation = Expectation(
        name=name, value=value, source=source, metadata=metadata, span_id=span_id
    )
    _record(trace_id, expectation)
    return expectation


def log_assessment(trace_id: str, assessment: Assessment) -> Assessment:
    """Log a :class:`Feedback` or an :class:`Expectation` built beforehand."""
    return _record(trace_id, assessment)


def get_assessment(trace_id: str, assessment_id: str) -> Assessment | None:
    """An assessment logged by this process (the backend is not queried)."""
    with _lock:
        found = _assessments.get(assessment_id)
    if found is None:
        report(
            "invalid_target",
            InvalidTargetError(
                f"assessment {assessment_id!r} of trace {trace_id!r} was not logged by this "
                "process; assessments are OpenTelemetry records and cannot be read back here"
            ),
        )
    return found


@guarded(None)
def override_feedback(
    *,
    trace_id: str,
    assessment_id: str,
    value: Any,
    rationale: str | None = None,
    source: AssessmentSource | None = None,
    metadata: dict[str, Any] | None = None,
) -> Feedback | None:
    """A new feedback replacing ``assessment_id`` (same name and span), with
    ``feedback.metadata.overrides`` = the replaced ``feedback.id``. The replaced feedback
    must have been logged by this process (its name is needed)."""
    old = get_assessment(trace_id, assessment_id)
    if old is None:
        return None
    if not isinstance(old, Feedback):
        report(
            "invalid_target",
            InvalidTargetError(f"assessment {assessment_id!r} is not a feedback"),
        )
        return None
    new = Feedback(
        name=old.name,
        span_id=old.span_id,
        value=value,
        rationale=rationale,
        source=source,
        metadata=metadata,
        overrides=assessment_id,
    )
    _record(trace_id, new)
    old.valid = False
    return new


def update_assessment(trace_id: str, assessment_id: str, assessment: Assessment) -> Assessment:
    """A new record for ``assessment`` that overrides ``assessment_id`` (records are never
    changed in place on the wire; the newest one is the current state)."""
    assessment.overrides = assessment_id
    return _record(trace_id, assessment)


@guarded(None)
def update_feedback(
    *,
    trace_id: str,
    assessment_id: str,
    value: Any = None,
    rationale: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Feedback | None:
    """MLflow 2's ``update_feedback``: a new record of the same feedback (name and span),
    replacing ``assessment_id`` (which must have been logged by this process)."""
    old = get_assessment(trace_id, assessment_id)
    if not isinstance(old, Feedback):
        return None
    new = Feedback(
        name=old.name,
        span_id=old.span_id,
        value=value,
        source=old.source,
        rationale=rationale,
        metadata=metadata,
        overrides=assessment_id,
    )
    _record(trace_id, new)
    return new


@guarded(None)
def update_expectation(
    *,
    trace_id: str,
    assessment_id: str,
    value: Any,
    metadata: dict[str, Any] | None = None,
) -> Expectation | None:
    """MLflow 2's ``update_expectation``: the new ground truth of the same name and span."""
    old = get_assessment(trace_id, assessment_id)
    if not isinstance(old, Expectation):
        return None
    name = old.name.removeprefix(GROUND_TRUTH + ".")
    new = Expectation(
        name=name, value=value, source=old.source, metadata=metadata, span_id=old.span_id
    )
    new.overrides = assessment_id
    _record(trace_id, new)
    return new


def delete_assessment(trace_id: str, assessment_id: str) -> None:
    """Not possible with OpenTelemetry data (exported records stay); reported."""
    report(
        "unsupported",
        InvalidTargetError(
            f"delete_assessment({trace_id!r}, {assessment_id!r}): exported feedback records "
            "cannot be deleted; log a new one to change the current state"
        ),
    )


delete_feedback = delete_assessment
delete_expectation = delete_assessment
