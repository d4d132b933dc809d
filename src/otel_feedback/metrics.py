"""Feedback as OpenTelemetry metrics (DESIGN.md §8), off by default.

:class:`FeedbackMetrics` watches every delivered feedback record (through
:func:`otel_feedback.delivery.add_record_observer`) and updates two instruments of the
OpenTelemetry metrics API:

* ``feedback.score`` — a histogram (unit ``1``) of every numeric or boolean value
  (true = 1, false = 0), with explicit buckets suited to scores in [0, 1] and ratings up to
  5 or 10 (:data:`~otel_feedback.conventions.METRIC_SCORE_BOUNDARIES`); negative scores
  are left out and counted as ``negative_score`` (OpenTelemetry histograms take values >= 0);
* ``feedback.records`` — a counter of every record, scored or not.

Both carry only low-cardinality attributes: ``gen_ai.evaluation.name``,
``feedback.source.type``, ``feedback.kind``, ``error.type`` (a failed evaluation), the label
``gen_ai.evaluation.score.label`` when it is ``true``/``false`` or allow-listed, and an
allow-list of the rated span's attributes (default ``gen_ai.request.model``,
``gen_ai.provider.name``, ``gen_ai.operation.name``). Free text — string values, reasons,
source ids, other labels — never becomes a metric attribute.

The rated span's attributes are read from the span itself while it is open. For late
feedback (the span has ended) they come from :attr:`FeedbackMetrics.span_processor`, which
remembers the allow-listed attributes of recently ended spans, in bounded memory, when it is
added to the ``TracerProvider`` (``configure(metrics=...)`` adds it). An allow-listed key
missing on the rated span is taken from another span of the same trace seen here (a chat
root rated by the user, the model on its LLM child span). Feedback from another process
(the feedback endpoint, a batch job) carries the rated span's attributes only when that
process saw the span; otherwise they are left out.

Only the OpenTelemetry metrics API is used: any ``MeterProvider`` and exporter works
(OTLP, Prometheus, ...). Recording never raises into the application: a failure is logged on
the ``otel_feedback`` logger and counted as ``metrics_error`` in
:func:`otel_feedback.diagnostics`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import metrics as otel_metrics
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import Span as ApiSpan
from opentelemetry.util.types import AttributeValue

from otel_feedback import conventions as names
from otel_feedback.delivery import add_record_observer, remove_record_observer
from otel_feedback.emit import Target
from otel_feedback.record import Feedback
from otel_feedback.reporting import count, logger
from otel_feedback.settings import get_settings

__all__ = ["FeedbackMetrics", "SpanAttributeMemory"]

_RECORD_KEYS = (names.SOURCE_TYPE, names.KIND, names.ERROR_TYPE)
"""Low-cardinality record fields copied from the ``gen_ai.evaluation.result`` event."""
_SCALARS = (str, bool, int, float)
_NOTHING: Mapping[str, AttributeValue] = MappingProxyType({})
_MAX_WARNED = 100
"""Feedback names warned about (negative scores) once each, at most this many."""

Found = dict[str, AttributeValue]


class _Recent:
    """A bounded map of the newest entries: two generations of a plain dict (O(1) eviction)."""

    def __init__(self, size: int) -> None:
        self._size = max(1, size // 2)
        self._young: dict[Any, Found] = {}
        self._old: dict[Any, Found] = {}

    def get(self, key: Any) -> Found | None:
        found = self._young.get(key)
        return found if found is not None else self._old.get(key)

    def put(self, key: Any, value: Found) -> None:
        young = self._young
        young[key] = value
        if len(young) >= self._size:
            self._old, self._young = young, {}


class SpanAttributeMemory(SpanProcessor):
    """Remembers the allow-listed attributes of recently ended spans, for late feedback.

    Add it with ``provider.add_span_processor(feedback_metrics.span_processor)``. On each
    span end it looks up the allow-listed keys only; spans without any of them cost a few
    dictionary lookups and are not stored. ``max_spans`` spans and as many traces are kept
    (the newest).
    """

    def __init__(
        self,
        keys: Iterable[str],
        *,
        max_spans: int = 10_000,
        on_shutdown: Callable[[], None] | None = None,
    ) -> None:
        if max_spans < 1:
            raise ValueError("max_spans must be >= 1")
        self.keys = tuple(keys)
        self._key_set = frozenset(self.keys)
        self._spans = _Recent(max_spans)
        self._traces = _Recent(max_spans)
        self._on_shutdown = on_shutdown

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        """Nothing: attributes are read when the span ends."""

    def on_end(self, span: ReadableSpan) -> None:
        """Remember ``span``'s allow-listed attributes, if it has any."""
        try:
            keys = self.keys
            if not keys:
                return
            attributes = span.attributes or _NOTHING
            if self._key_set.isdisjoint(attributes):
                return  # the common case: one pass over the span's keys in C, no lookup
            found = _pick(attributes, keys, self._key_set)
            if not found:
                return
            span_context = span.get_span_context()
            if span_context is None:
                return
            trace_id = span_context.trace_id
            # No lock: each dict operation is atomic, and a race loses one entry at worst.
            self._spans.put((trace_id, span_context.span_id), found)
            known = self._traces.get(trace_id)
            if known is None:
                self._traces.put(trace_id, found)  # never changed in place: shared
            elif not found.keys() <= known.keys():
                self._traces.put(trace_id, {**found, **known})  # the first value wins
        except Exception:  # noqa: BLE001 - a processor must never raise into the host app
            count("metrics_error")
            logger.exception("feedback metrics could not remember a span's attributes")

    def attributes_of(
        self, trace_id: int, span_id: int | None
    ) -> tuple[Mapping[str, AttributeValue], Mapping[str, AttributeValue]]:
        """The remembered attributes of a span and of its trace (empty when unknown)."""
        own = self._spans.get((trace_id, span_id)) if span_id is not None else None
        trace = self._traces.get(trace_id)
        return own or _NOTHING, trace or _NOTHING

    def shutdown(self) -> None:
        """Stop the metrics this memory belongs to (its provider shuts down)."""
        if self._on_shutdown is not None:
            self._on_shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Nothing is buffered."""
        return True


class FeedbackMetrics:
    """Feedback records as a histogram of scores and a counter of records (DESIGN.md §8).

    Args:
        meter_provider: where the instruments live; default the global one.
        span_attributes: the rated span's attributes copied onto the metrics (keep them
            low-cardinality); default ``OTEL_FEEDBACK_METRICS_SPAN_ATTRIBUTES``, else
            ``gen_ai.request.model``, ``gen_ai.provider.name`` and ``gen_ai.operation.name``.
        labels: labels kept as an attribute besides ``true``/``false``; default
            ``OTEL_FEEDBACK_METRICS_LABELS`` (none).
        max_remembered_spans: recently ended spans whose attributes are kept for late feedback.

    Creating one starts recording; :meth:`close` stops it. Add :attr:`span_processor` to
    your ``TracerProvider`` so late feedback gets the rated span's attributes too.
    """

    def __init__(
        self,
        meter_provider: otel_metrics.MeterProvider | None = None,
        *,
        span_attributes: Iterable[str] | None = None,
        labels: Iterable[str] | None = None,
        max_remembered_spans: int = 10_000,
    ) -> None:
        settings = get_settings()
        if isinstance(span_attributes, str) or isinstance(labels, str):
            raise TypeError("span_attributes and labels take a collection of strings")
        keys = settings.metrics_span_attributes if span_attributes is None else span_attributes
        self.span_attributes: tuple[str, ...] = tuple(dict.fromkeys(keys))
        """The rated span's attributes copied onto the metrics."""
        self._key_set = frozenset(self.span_attributes)
        allowed = settings.metrics_labels if labels is None else labels
        self.labels: frozenset[str] = frozenset((*names.METRIC_BOOL_LABELS, *allowed))
        """Labels kept as a metric attribute."""
        provider = meter_provider or otel_metrics.get_meter_provider()
        meter = provider.get_meter(names.SCOPE_NAME, names.VERSION)
        self._scores = meter.create_histogram(
            names.METRIC_SCORE,
            unit="1",
            description="Numeric and boolean feedback values (true = 1, false = 0)",
            explicit_bucket_boundaries_advisory=names.METRIC_SCORE_BOUNDARIES,
        )
        self._records = meter.create_counter(
            names.METRIC_RECORDS,
            unit="{record}",
            description="Feedback records, scored or not",
        )
        self.span_processor = SpanAttributeMemory(
            self.span_attributes, max_spans=max_remembered_spans, on_shutdown=self.close
        )
        """Add to the ``TracerProvider``: keeps rated spans' attributes for late feedback."""
        self._observer = self._observe  # one bound method, so that close() finds it
        self._closed = False
        self._warned: set[str] = set()
        add_record_observer(self._observer)

    def close(self) -> None:
        """Stop recording (idempotent). The instruments keep what they recorded."""
        if not self._closed:
            self._closed = True
            remove_record_observer(self._observer)

    def __enter__(self) -> FeedbackMetrics:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def attributes(self, feedback: Feedback, target: Target, span: ApiSpan | None) -> Found:
        """The metric attributes of one record (see the module's documentation)."""
        event = feedback.event
        attributes: Found = {names.EVALUATION_NAME: feedback.name}
        for key in _RECORD_KEYS:
            value = event.get(key)
            if value is not None:
                attributes[key] = value
        label = event.get(names.SCORE_LABEL)
        if isinstance(label, str) and label in self.labels:
            attributes[names.SCORE_LABEL] = label
        keys = self.span_attributes
        if keys:
            span_attributes = getattr(span, "attributes", None) if span is not None else None
            own = (
                _pick(span_attributes, keys, self._key_set)
                if isinstance(span_attributes, Mapping)
                else {}
            )
            for key, value in own.items():
                attributes.setdefault(key, value)
            if len(own) < len(keys):  # late feedback, or keys the span lacks
                remembered = self.span_processor.attributes_of(target.trace_id, target.span_id)
                for source in remembered:
                    for key, value in source.items():
                        attributes.setdefault(key, value)
        return attributes

    def _observe(self, feedback: Feedback, target: Target, span: ApiSpan | None) -> None:
        try:
            attributes = self.attributes(feedback, target, span)
            self._records.add(1, attributes)
            score = feedback.event.get(names.SCORE_VALUE)
            if isinstance(score, (int, float)) and not isinstance(score, bool):
                if score >= 0:
                    self._scores.record(score, attributes)
                else:
                    self._negative(feedback.name)
        except Exception:  # noqa: BLE001 - metrics must never break the host application
            count("metrics_error")
            logger.exception("feedback metrics could not record %r", feedback.name)


    def _negative(self, name: str) -> None:
        """A negative score: OpenTelemetry histograms take non-negative values only."""
        count("negative_score")
        if name not in self._warned and len(self._warned) < _MAX_WARNED:
            self._warned.add(name)
            logger.warning(
                "feedback %r has a negative score: it is counted in feedback.records but not "
                "in the feedback.score histogram, which takes values >= 0 (use a scale from 0)",
                name,
            )


def _pick(attributes: Mapping[str, Any], keys: tuple[str, ...], key_set: frozenset[str]) -> Found:
    """The scalar values of ``keys`` in ``attributes`` (arrays are not metric attributes).

    Missing keys are not looked up: ``Mapping.get`` on the SDK's attributes raises and
    catches a ``KeyError`` for each, which costs more than the whole rest.
    """
    present = key_set.intersection(attributes)
    found: Found = {}
    if present:
        for key in keys:
            if key in present:
                value = attributes.get(key)
                if isinstance(value, _SCALARS):
                    found[key] = value
    return found
