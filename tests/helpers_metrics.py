"""Helpers for the feedback-metrics tests: a traced app with metrics read in memory."""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    HistogramDataPoint,
    InMemoryMetricReader,
    NumberDataPoint,
)
from opentelemetry.sdk.trace import Tracer, TracerProvider

from otel_feedback import FeedbackSpanProcessor
from otel_feedback.conventions import METRIC_RECORDS, METRIC_SCORE, METRIC_SCORE_BOUNDARIES
from otel_feedback.metrics import FeedbackMetrics

Key = frozenset[tuple[str, Any]]


def key(attributes: Mapping[str, Any]) -> Key:
    """A hashable form of an attribute set."""
    return frozenset(attributes.items())


@dataclass
class MeteredApp:
    """A ``TracerProvider`` with the feedback processor, and feedback metrics read in memory."""

    tracer_provider: TracerProvider
    tracer: Tracer
    meter_provider: MeterProvider
    reader: InMemoryMetricReader
    metrics: FeedbackMetrics

    def points(self, name: str) -> dict[Key, Any]:
        """The data points of instrument ``name`` by attribute set."""
        found: dict[Key, Any] = {}
        data = self.reader.get_metrics_data()
        for resource_metrics in data.resource_metrics if data else ():
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.name == name:
                        for point in metric.data.data_points:
                            found[key(point.attributes or {})] = point
        return found

    def scores(self) -> dict[Key, HistogramDataPoint]:
        """``feedback.score`` points by attribute set."""
        return self.points(METRIC_SCORE)

    def records(self) -> dict[Key, int]:
        """``feedback.records`` counts by attribute set."""
        points: dict[Key, NumberDataPoint] = self.points(METRIC_RECORDS)
        return {attributes: int(point.value) for attributes, point in points.items()}


@contextmanager
def metered_app(*, span_memory: bool = True, **options: Any) -> Iterator[MeteredApp]:
    """A fresh :class:`MeteredApp`; ``options`` go to :class:`FeedbackMetrics`.

    With ``span_memory`` the metrics' span processor is added to the tracer provider (as
    ``configure(metrics=...)`` does). Everything is shut down afterwards.
    """
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(FeedbackSpanProcessor(tracer_provider=tracer_provider))
    metrics = FeedbackMetrics(meter_provider, **options)
    if span_memory:
        tracer_provider.add_span_processor(metrics.span_processor)
    try:
        yield MeteredApp(
            tracer_provider, tracer_provider.get_tracer("app"), meter_provider, reader, metrics
        )
    finally:
        metrics.close()
        tracer_provider.shutdown()
        meter_provider.shutdown()


def bucket_counts(values: list[float]) -> list[int]:
    """Exact counts per explicit bucket ``(b[i-1], b[i]]`` of ``feedback.score`` (+ overflow)."""
    counts = [0] * (len(METRIC_SCORE_BOUNDARIES) + 1)
    for value in values:
        counts[bisect.bisect_left(METRIC_SCORE_BOUNDARIES, value)] += 1
    return counts
