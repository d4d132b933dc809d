"""Offline evaluation: run a task on each item of a dataset, score it, record the scores.

Each item becomes one trace: an ``evaluation.item`` span holding the input
(``input.value``), the task's output (``output.value``), the expected output
(``feedback.ground_truth``) and the run's name and id (``metadata.evaluation.*``). The
scores are recorded on that span as feedback and returned as a table.
"""

from __future__ import annotations

import math
import statistics
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Status, StatusCode

from otel_feedback import conventions as names
from otel_feedback.reporting import count, logger
from otel_feedback.scoring.base import Fields, Scorer, as_text
from otel_feedback.scoring.errors import ScorerConfigError
from otel_feedback.scoring.score import Score

Task = Callable[[Mapping[str, Any]], Any]
"""``task(item) -> output``, or a mapping with ``output`` (and ``context``)."""

_ITEM_KEYS = ("input", "expected", "context")


@dataclass
class EvaluationRow:
    """One item of a run: what went in, what came out, and its scores."""

    index: int
    item: Mapping[str, Any]
    output: Any = None
    scores: dict[str, Score] = field(default_factory=dict)
    trace_id: str | None = None
    span_id: str | None = None
    error: str | None = None
    """Why the task failed (then there are no scores)."""

    def as_dict(self) -> dict[str, Any]:
        """A flat row: index, input, expected, output, ids, error, one column per score."""
        row: dict[str, Any] = {
            "index": self.index,
            "input": self.item.get("input"),
            "expected": self.item.get("expected"),
            "output": self.output,
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "error": self.error,
        }
        for name, score in self.scores.items():
            row[name] = score.value
            if score.error is not None:
                row[f"{name}.error"] = score.error
        return row


@dataclass
class EvaluationResult:
    """The table of an :func:`evaluate` run."""

    name: str
    run_id: str
    rows: list[EvaluationRow]

    def table(self) -> list[dict[str, Any]]:
        """Every row as a flat mapping (see :meth:`EvaluationRow.as_dict`)."""
        return [row.as_dict() for row in self.rows]

    def summary(self) -> dict[str, dict[str, float | int]]:
        """Per score name: ``count`` scored, ``errors``, ``mean``, ``min``, ``max``."""
        names_seen: list[str] = []
        for row in self.rows:
            names_seen.extend(name for name in row.scores if name not in names_seen)
        summary: dict[str, dict[str, float | int]] = {}
        for name in names_seen:
            scores = [row.scores[name] for row in self.rows if name in row.scores]
            values = [score.value for score in scores if score.value is not None]
            summary[name] = {
                "count": len(values),
                "errors": sum(1 for score in scores if score.error is not None),
                "mean": statistics.fmean(values) if values else math.nan,
                "min": min(values) if values else math.nan,
                "max": max(values) if values else math.nan,
            }
        return summary

    def __str__(self) -> str:
        lines = [f"evaluation {self.name!r} ({self.run_id}): {len(self.rows)} item(s)"]
        for name, measures in self.summary().items():
            lines.append(
                f"  {name:<24} mean {measures['mean']:.4f}  min {measures['min']:.4f}  "
                f"max {measures['max']:.4f}  scored {measures['count']}  "
                f"errors {measures['errors']}"
            )
        failed = sum(1 for row in self.rows if row.error is not None)
        if failed:
            lines.append(f"  task failed on {failed} item(s)")
        return "\n".join(lines)


def evaluate(
    items: Iterable[Mapping[str, Any] | str],
    task: Task,
    scorers: Scorer | Sequence[Scorer],
    *,
    name: str = "evaluation",
    tracer_provider: trace.TracerProvider | None = None,
    record: bool = True,
    max_workers: int = 1,
) -> EvaluationResult:
    """Run ``task`` on every item, score the outputs, record the scores, return the table.

    An item is a mapping with ``input`` and optionally ``expected`` and ``context`` (other
    keys are passed to the task untouched), or a string (the input). ``task(item)`` returns
    the output, or a mapping with ``output`` and optionally ``context`` (retrieved passages).
    Each item is traced as one ``evaluation.item`` span; with ``record`` (default) every
    score is recorded on it as feedback. A task that raises marks its row (and span) as
    failed; the run goes on. ``max_workers`` > 1 runs items in that many threads (a judge's
    own ``max_concurrency`` still holds); rows keep the items' order.
    """
    chosen = [scorers] if isinstance(scorers, Scorer) else list(scorers)
    if not chosen or not all(isinstance(scorer, Scorer) for scorer in chosen):
        raise ScorerConfigError("evaluate() needs one or more scorers (Scorer instances)")
    if not callable(task):
        raise ScorerConfigError("evaluate() needs task= (a callable taking an item)")
    if not isinstance(max_workers, int) or max_workers < 1:
        raise ScorerConfigError(f"max_workers= must be an int >= 1, got {max_workers!r}")
    provider = tracer_provider or trace.get_tracer_provider()
    tracer = provider.get_tracer(names.SCOPE_NAME, names.VERSION)
    run_id = uuid.uuid4().hex
    prepared = [({"input": raw} if isinstance(raw, str) else raw) for raw in items]

    def run(index: int) -> EvaluationRow:
        return _run_item(tracer, index, prepared[index], task, chosen, name, run_id, record)

    if max_workers == 1 or len(prepared) < 2:
        rows = [run(index) for index in range(len(prepared))]
    else:
        with ThreadPoolExecutor(max_workers, thread_name_prefix="otel-feedback-eval") as pool:
            rows = list(pool.map(run, range(len(prepared))))
    return EvaluationResult(name, run_id, rows)


def _run_item(
    tracer: trace.Tracer,
    index: int,
    item: Mapping[str, Any],
    task: Task,
    scorers: list[Scorer],
    name: str,
    run_id: str,
    record: bool,
) -> EvaluationRow:
    row = EvaluationRow(index, item)
    if not isinstance(item, Mapping):
        row.error = f"an item must be a mapping or a string, got {type(item).__name__}"
        count("evaluation_bad_item")
        logger.warning("evaluate(): item %d skipped: %s", index, row.error)
        return row
    attributes: dict[str, str | int] = {
        names.EVALUATION_NAME_KEY: name,
        names.EVALUATION_RUN_ID: run_id,
        names.EVALUATION_ITEM_INDEX: index,
    }
    with tracer.start_as_current_span(
        names.EVALUATION_ITEM_SPAN_NAME,
        context=Context(),  # a trace of its own, even inside the caller's span
        attributes=attributes,
        record_exception=False,
    ) as span:
        span_context = span.get_span_context()
        if span_context.is_valid:
            row.trace_id = trace.format_trace_id(span_context.trace_id)
            row.span_id = trace.format_span_id(span_context.span_id)
        _set_text(span, names.OPENINFERENCE_INPUT_VALUE, item.get("input"))
        _set_text(span, names.GROUND_TRUTH, item.get("expected"))
        try:
            produced = task(item)
        except Exception as error:  # noqa: BLE001 - a failing item must not stop the run
            row.error = f"{type(error).__name__}: {error}"
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, row.error))
            return row
        context = item.get("context")
        if isinstance(produced, Mapping) and "output" in produced:
            context = produced.get("context", context)
            produced = produced["output"]
        row.output = produced
        _set_text(span, names.OPENINFERENCE_OUTPUT_VALUE, produced)
        fields = Fields(produced, item.get("expected"), item.get("input"), context)
        for scorer in scorers:
            result = scorer.score_fields(fields)
            row.scores[scorer.name] = result
            if record:
                result.log(span)
    return row


def _set_text(span: trace.Span, key: str, value: Any) -> None:
    text = as_text(value)
    if text is not None:
        span.set_attribute(key, text)
