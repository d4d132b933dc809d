"""Export failures made visible: a span exporter wrapper that counts and logs them.

The SDK's ``BatchSpanProcessor`` logs a failed export at most as an exporter warning and then
forgets the spans: feedback on them is lost without a trace in :func:`otel_feedback.diagnostics`.
:func:`otel_feedback.configure` wraps the exporter it builds in :class:`WatchedSpanExporter`,
so every span of a failed export is counted (``export_failed``) and each failure is logged.
(With the durable outbox, late feedback is retried instead; see :mod:`otel_feedback.outbox`.)
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from otel_feedback.conventions import FEEDBACK_SPAN_NAME, SCOPE_NAME
from otel_feedback.reporting import count, logger


class WatchedSpanExporter(SpanExporter):
    """``exporter``, with the spans of every failed export counted and logged."""

    def __init__(self, exporter: SpanExporter) -> None:
        self.exporter = exporter

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Export through the wrapped exporter; count and log a failure (or an exception)."""
        try:
            result = self.exporter.export(spans)
        except Exception:  # noqa: BLE001 - a raising exporter is a failed export
            logger.exception("the span exporter %r raised", self.exporter)
            result = SpanExportResult.FAILURE
        if result is not SpanExportResult.SUCCESS:
            feedback = sum(
                1
                for span in spans
                if span.name == FEEDBACK_SPAN_NAME
                and span.instrumentation_scope is not None
                and span.instrumentation_scope.name == SCOPE_NAME
            )
            count("export_failed", len(spans))
            logger.warning(
                "%d span(s) could not be exported and are lost (%d of them late feedback "
                "spans); set OTEL_FEEDBACK_OUTBOX to keep late feedback until it is delivered",
                len(spans),
                feedback,
            )
        return result

    def shutdown(self) -> None:
        """Shut the wrapped exporter down."""
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Flush the wrapped exporter."""
        return self.exporter.force_flush(timeout_millis)
