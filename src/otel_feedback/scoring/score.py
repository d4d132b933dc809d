"""One computed score, and how it is recorded as feedback."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import otel_feedback as fb


@dataclass(frozen=True)
class Score:
    """What a scorer found: a ``value`` (float) with ``label`` and ``reason``, or an ``error``.

    A score with an ``error`` has no ``value``: a failed judgement is never turned into a
    number. :meth:`log` records either kind as feedback on a span.
    """

    name: str
    """The feedback name it is recorded under (snake_case of the scorer, or ``name=``)."""
    value: float | None = None
    """The score; ``None`` when it could not be computed."""
    label: str | None = None
    """A category, when the scorer gives one."""
    reason: str | None = None
    """Why: the judge's explanation, or what a heuristic compared."""
    error: str | None = None
    """Why no score could be computed, or ``None``."""
    source: str = "CODE"
    """``CODE`` for heuristics, ``LLM_JUDGE`` for judges."""
    source_id: str | None = None
    """Who scored: the judge's model, or the scorer's class."""
    exception: BaseException | None = field(default=None, repr=False, compare=False)
    """The exception behind ``error`` (its class becomes ``error.type`` on the wire)."""

    @property
    def ok(self) -> bool:
        """True when there is a value and no error."""
        return self.error is None and self.value is not None

    def log(
        self,
        target: Any = None,
        *,
        trace_id: str | int | None = None,
        span_id: str | int | None = None,
        **kwargs: Any,
    ) -> str | None:
        """Record this score with :func:`otel_feedback.log_feedback`; returns the feedback id.

        ``target`` / ``trace_id`` / ``span_id`` and every other keyword are those of
        ``log_feedback``; ``source``, ``source_id``, ``reason`` and ``label`` default to the
        score's own. A failed score is recorded as an error: the record carries ``error.type``
        (the exception's class) and ``feedback.error`` (the message), and no value.
        """
        kwargs.setdefault("source", self.source)
        kwargs.setdefault("source_id", self.source_id)
        kwargs.setdefault("reason", self.reason)
        kwargs.setdefault("label", self.label)
        if self.error is None and self.value is not None:
            return fb.log_feedback(
                self.name, self.value, target=target, trace_id=trace_id, span_id=span_id, **kwargs
            )
        return _log_error(self, target, trace_id, span_id, kwargs)

    def as_dict(self) -> dict[str, Any]:
        """The score as a plain mapping (for tables and JSON)."""
        return {
            "name": self.name,
            "value": self.value,
            "label": self.label,
            "reason": self.reason,
            "error": self.error,
            "source": self.source,
            "source_id": self.source_id,
        }


def _log_error(
    score: Score,
    target: Any,
    trace_id: str | int | None,
    span_id: str | int | None,
    kwargs: Mapping[str, Any],
) -> str | None:
    """A failed score as a record with ``error.type`` and no value."""
    error: str | BaseException = (
        score.exception if score.exception is not None else score.error or "no score computed"
    )
    return fb.log_feedback(
        score.name, None, target=target, trace_id=trace_id, span_id=span_id, error=error, **kwargs
    )
