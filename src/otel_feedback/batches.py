"""Opik-shaped batches of scores: ``log_traces_feedback_scores``, ``log_spans_feedback_scores``.

Each score is a dict as Opik's client takes it — ``{"id", "name", "value", "reason",
"category_name", ...}`` — recorded with :func:`otel_feedback.log_feedback`; Opik's
``category_name`` is the label. Unknown keys (a misspelled ``reasn``) are reported and, in
strict mode, reject the score.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry import trace

from otel_feedback.api import log_feedback
from otel_feedback.errors import InvalidFeedbackError, InvalidTargetError
from otel_feedback.reporting import guarded, report

_SCORE_KEYS = frozenset(
    {
        "id",
        "name",
        "value",
        "reason",
        "category_name",
        "source",
        "source_id",
        "kind",
        "metadata",
        "timestamp",
        "error",
        "feedback_id",
        "project_name",
    }
)
_SPAN_SCORE_KEYS = _SCORE_KEYS | {"trace_id"}


@guarded([])
def log_traces_feedback_scores(
    scores: Iterable[Mapping[str, Any]],
    project_name: str | None = None,
    *,
    tracer_provider: trace.TracerProvider | None = None,
    strict: bool | None = None,
) -> list[str | None]:
    """Opik-style batch of trace scores: ``{"id": trace_id, "name", "value", "reason",
    "category_name"}``; ``category_name`` becomes the label. Returns each feedback id
    (``None`` where dropped). ``project_name`` is accepted for Opik compatibility; the
    project is the OpenTelemetry resource's business."""
    return [
        _log_score(index, score, "trace", tracer_provider, strict)
        for index, score in enumerate(_scores(scores))
    ]


@guarded([])
def log_spans_feedback_scores(
    scores: Iterable[Mapping[str, Any]],
    project_name: str | None = None,
    *,
    tracer_provider: trace.TracerProvider | None = None,
    strict: bool | None = None,
) -> list[str | None]:
    """Opik-style batch of span scores: ``{"id": span_id, "trace_id", "name", "value",
    "reason", "category_name"}``; ``trace_id`` may be left out for spans this process tracks
    (the current span, trace roots, spans a token was issued for). Returns each feedback id
    (``None`` where dropped)."""
    return [
        _log_score(index, score, "span", tracer_provider, strict)
        for index, score in enumerate(_scores(scores))
    ]


def _scores(scores: object) -> Iterable[Any]:
    """``scores`` when it is a list (or other iterable) of scores, else none (reported)."""
    if isinstance(scores, Iterable) and not isinstance(scores, (str, bytes, Mapping)):
        return scores
    report(
        "invalid_value",
        InvalidFeedbackError(
            f"scores must be a list of score dicts, got a {type(scores).__name__}; nothing logged"
        ),
    )
    return ()


def _log_score(
    index: int,
    score: object,
    level: str,
    tracer_provider: trace.TracerProvider | None,
    strict: bool | None,
) -> str | None:
    if not isinstance(score, Mapping) or "name" not in score or "value" not in score:
        report(
            "invalid_value",
            InvalidFeedbackError(f"score #{index} must be a mapping with 'id', 'name' and 'value'"),
        )
        return None
    allowed = _SCORE_KEYS if level == "trace" else _SPAN_SCORE_KEYS
    unknown = sorted(str(key) for key in score if key not in allowed)
    if unknown:
        report(
            "unknown_key",
            InvalidFeedbackError(
                f"score #{index} has unknown keys {', '.join(map(repr, unknown))}; they were "
                f"ignored (known: {', '.join(sorted(allowed))})"
            ),
        )
    if score.get("id") is None:
        report("invalid_target", InvalidTargetError(f"score #{index} has no 'id'"))
        return None
    ids: dict[str, Any] = (
        {"trace_id": score["id"]}
        if level == "trace"
        else {"trace_id": score.get("trace_id"), "span_id": score["id"]}
    )
    return log_feedback(
        score["name"],
        score["value"],
        **ids,
        reason=score.get("reason"),
        label=score.get("category_name"),
        source=score.get("source", "HUMAN"),
        source_id=score.get("source_id"),
        kind=score.get("kind", "explicit"),
        metadata=score.get("metadata"),
        timestamp=score.get("timestamp"),
        error=score.get("error"),
        feedback_id=score.get("feedback_id"),
        tracer_provider=tracer_provider,
        strict=strict,
    )
