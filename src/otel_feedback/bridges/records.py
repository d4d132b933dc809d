"""Feedback records read back from spans: what the bridges mirror into native views.

A record is one ``gen_ai.evaluation.result`` event (docs/DESIGN.md §3) with the span it rates:
the span that carries the event, or — for a late ``feedback`` span — its parent. A late
``feedback`` span without a parent rates the whole trace (its root was unknown).

Works on exported SDK spans (:func:`records_from_spans`) and on spans stored in a backend
as plain mappings (:func:`records_from_stored_span`), so the exporters and
``otel-feedback sync`` share one reading.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

from otel_feedback import conventions as names
from otel_feedback.flatten import unflatten

GROUND_TRUTH_NAME = names.GROUND_TRUTH.split(".", 1)[1]
"""The feedback name reserved for the expected output (``ground_truth``)."""


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    """One feedback as a bridge needs it; ids are lowercase hex."""

    feedback_id: str
    name: str
    trace_id: str
    span_id: str | None
    """The rated span; ``None`` when the feedback is about the trace as a whole."""
    score: float | None = None
    label: str | None = None
    explanation: str | None = None
    source_type: str | None = None
    source_id: str | None = None
    kind: str | None = None
    timestamp: str | None = None
    value: Any = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    error_type: str | None = None
    error_message: str | None = None

    @property
    def annotator_kind(self) -> str:
        """OpenInference / Phoenix ``annotator_kind``: ``HUMAN``, ``LLM`` or ``CODE``."""
        return names.ANNOTATOR_KINDS.get(self.source_type or "HUMAN", "HUMAN")

    @property
    def is_ground_truth(self) -> bool:
        """Whether this is the expected output (``ground_truth`` or ``ground_truth.<name>``)
        rather than an opinion."""
        return self.name == GROUND_TRUTH_NAME or self.name.startswith(GROUND_TRUTH_NAME + ".")

    @property
    def expectation_name(self) -> str:
        """The name of the expected output: ``<name>`` of ``ground_truth.<name>``, else
        ``ground_truth``."""
        return self.name.removeprefix(GROUND_TRUTH_NAME + ".") or GROUND_TRUTH_NAME

    def value_json(self) -> str:
        """The value as compact JSON (for stores that only take strings)."""
        return json.dumps(self.value, separators=(",", ":"), sort_keys=True, default=str)


def record_from_event(
    attributes: Mapping[str, Any], trace_id: str, span_id: str | None
) -> FeedbackRecord | None:
    """The record in one event's attributes; ``None`` when it has no id or name."""
    feedback_id = _text(attributes.get(names.FEEDBACK_ID))
    name = _text(attributes.get(names.EVALUATION_NAME))
    if not feedback_id or not name:
        return None
    nested = unflatten(
        {
            key: item
            for key, item in attributes.items()
            if key.startswith((names.FEEDBACK_VALUE, names.METADATA_PREFIX))
        },
        prefix=names.FEEDBACK,
    )
    score = attributes.get(names.SCORE_VALUE)
    return FeedbackRecord(
        feedback_id=feedback_id,
        name=name,
        trace_id=trace_id,
        span_id=span_id,
        score=float(score) if isinstance(score, (int, float)) else None,
        label=_text(attributes.get(names.SCORE_LABEL)),
        explanation=_text(attributes.get(names.EXPLANATION)),
        source_type=_text(attributes.get(names.SOURCE_TYPE)),
        source_id=_text(attributes.get(names.SOURCE_ID)),
        kind=_text(attributes.get(names.KIND)),
        timestamp=_text(attributes.get(names.TIMESTAMP)),
        value=nested.get("value"),
        metadata=nested.get("metadata") or {},
        error_type=_text(attributes.get(names.ERROR_TYPE)),
        error_message=_text(attributes.get(names.FEEDBACK_ERROR)),
    )


def _text(value: object) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _rated_span(name: str, span_id: str, parent_id: str | None) -> str | None:
    if name == names.FEEDBACK_SPAN_NAME:
        return parent_id or None
    return span_id


def _collect(
    name: str,
    trace_id: str,
    span_id: str,
    parent_id: str | None,
    events: Iterable[tuple[str, Mapping[str, Any]]],
) -> list[FeedbackRecord]:
    rated = _rated_span(name, span_id, parent_id)
    records = []
    for event_name, attributes in events:
        if event_name != names.EVENT_NAME:
            continue
        record = record_from_event(attributes, trace_id, rated)
        if record is not None:
            records.append(record)
    return records


def records_from_spans(spans: Sequence[ReadableSpan]) -> list[FeedbackRecord]:
    """Every feedback record carried by these exported spans, in order."""
    records: list[FeedbackRecord] = []
    for span in spans:
        if not span.events:
            continue
        context = span.get_span_context()
        if context is None:
            continue
        name = span.name
        scope = span.instrumentation_scope
        if (
            name == names.FEEDBACK_SPAN_NAME
            and scope is not None
            and scope.name != names.SCOPE_NAME
        ):
            name = ""  # a user's own span that happens to be called "feedback"
        parent = span.parent
        records.extend(
            _collect(
                name,
                f"{context.trace_id:032x}",
                f"{context.span_id:016x}",
                f"{parent.span_id:016x}" if parent is not None else None,
                ((event.name, event.attributes or {}) for event in span.events),
            )
        )
    return records


def records_from_stored_span(span: Mapping[str, Any]) -> list[FeedbackRecord]:
    """The records of one span as a store returns it (Phoenix's REST/client shape:
    ``{"name", "context": {"trace_id", "span_id"}, "parent_id", "events": [{"name",
    "attributes"}]}``)."""
    context = span.get("context") or {}
    trace_id, span_id = context.get("trace_id"), context.get("span_id")
    if not isinstance(trace_id, str) or not isinstance(span_id, str):
        return []
    events = span.get("events") or []
    return _collect(
        str(span.get("name") or ""),
        trace_id,
        span_id,
        span.get("parent_id") or None,
        (
            (str(event.get("name") or ""), event.get("attributes") or {})
            for event in events
            if isinstance(event, Mapping)
        ),
    )
