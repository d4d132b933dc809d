"""``configure()``: a ready ``TracerProvider`` from the standard ``OTEL_*`` variables."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from otel_feedback import outbox as durable
from otel_feedback.errors import NotConfiguredError
from otel_feedback.exportwatch import WatchedSpanExporter
from otel_feedback.processor import FeedbackSpanProcessor
from otel_feedback.reporting import report

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk.metrics.export import MetricExporter

    from otel_feedback.outbox import Outbox

_HTTP_PROTOCOLS = ("http/protobuf", "http")


def _protocol(signal: str) -> str:
    value = os.environ.get(f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL") or os.environ.get(
        "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"
    )
    protocol = value.strip().lower()
    if protocol in ("grpc", *_HTTP_PROTOCOLS):
        return protocol
    fallback = "http/protobuf" if protocol.startswith("http") else "grpc"
    report(
        "invalid_configuration",
        NotConfiguredError(
            f"OTLP protocol {value!r} is not supported by the Python OTLP exporters; "
            f"set OTEL_EXPORTER_OTLP_PROTOCOL to grpc or http/protobuf (using {fallback})"
        ),
    )
    return fallback


def otlp_span_exporter() -> SpanExporter:
    """An OTLP span exporter for ``OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL`` (default gRPC).

    Endpoint, headers, timeout, compression and TLS come from the usual ``OTEL_*`` variables.
    """
    if _protocol("TRACES") in _HTTP_PROTOCOLS:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter as HttpSpanExporter,
        )

        return HttpSpanExporter()
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # noqa: PLC0415
        OTLPSpanExporter as GrpcSpanExporter,
    )

    return GrpcSpanExporter()


def configure(
    *,
    service_name: str | None = None,
    exporter: SpanExporter | None = None,
    span_processor: SpanProcessor | None = None,
    set_global: bool = True,
    emit_log_records: bool = False,
    resource: Resource | None = None,
    bridges: Sequence[SpanExporter] = (),
    metrics: bool | MeterProvider = False,
    span_processors: Sequence[SpanProcessor] = (),
    outbox: Outbox | str | os.PathLike[str] | None = None,
) -> TracerProvider:
    """Build a ``TracerProvider`` with :class:`FeedbackSpanProcessor` and an OTLP exporter.

    The exporter follows ``OTEL_EXPORTER_OTLP_*`` (gRPC unless ``..._PROTOCOL=http/protobuf``)
    and is batched; pass ``exporter`` or a whole ``span_processor`` to choose otherwise.
    ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` are honoured (``service_name``
    wins). With ``emit_log_records``, each feedback is also an OTel log record, exported
    over OTLP through a ``LoggerProvider`` set up here. With ``metrics=True`` every feedback
    record also updates the feedback metrics (:mod:`otel_feedback.metrics`), exported over
    OTLP through a ``MeterProvider`` set up here (``OTEL_METRIC_EXPORT_INTERVAL`` applies);
    pass a ``MeterProvider`` instead to record into yours. The providers built here become
    the global ones unless ``set_global=False``. ``bridges`` are more span exporters (e.g.
    :class:`otel_feedback.bridges.phoenix.PhoenixAnnotationExporter`), each in its own
    ``BatchSpanProcessor`` beside the OTLP one. ``span_processors`` (e.g.
    :class:`otel_feedback.scoring.OnlineScorer`) are added before the exporter, so at
    shutdown they flush what they record before the exporter stops. Spans of a failed
    export are counted (``export_failed`` in :func:`otel_feedback.diagnostics`) and logged.
    ``outbox`` (a path, or an :class:`~otel_feedback.outbox.Outbox`) keeps late feedback in
    a durable outbox until it is exported (default: ``OTEL_FEEDBACK_OUTBOX``, if set, opened
    here so that what a crash left in it is sent at once).
    """
    attributes = {"service.name": service_name} if service_name else {}
    provider_resource = Resource.create(attributes)
    if resource is not None:
        provider_resource = provider_resource.merge(resource)
    meter_provider = _meter_provider(provider_resource, metrics, set_global)
    provider = TracerProvider(resource=provider_resource)
    logger_provider = _logger_provider(provider_resource, set_global) if emit_log_records else None
    feedback_processor = FeedbackSpanProcessor(
        tracer_provider=provider,
        emit_log_records=emit_log_records,
        logger_provider=logger_provider,
    )
    provider.add_span_processor(feedback_processor)
    if meter_provider is not None:
        from otel_feedback.metrics import FeedbackMetrics  # noqa: PLC0415 - only when wanted

        provider.add_span_processor(FeedbackMetrics(meter_provider).span_processor)
    for extra in span_processors:
        provider.add_span_processor(extra)
    provider.add_span_processor(
        span_processor or BatchSpanProcessor(WatchedSpanExporter(exporter or otlp_span_exporter()))
    )
    for bridge in bridges:
        provider.add_span_processor(BatchSpanProcessor(bridge))
    if outbox is not None:
        durable.install(outbox)
    else:
        durable.current()  # open OTEL_FEEDBACK_OUTBOX now: what a crash left is sent at start
    if set_global:
        trace.set_tracer_provider(provider)
    return provider


def _logger_provider(resource: Resource, set_global: bool) -> LoggerProvider:
    from opentelemetry import _logs  # noqa: PLC0415 - only when log records are wanted
    from opentelemetry.sdk._logs import LoggerProvider  # noqa: PLC0415
    from opentelemetry.sdk._logs.export import (  # noqa: PLC0415
        BatchLogRecordProcessor,
        LogRecordExporter,
    )

    if _protocol("LOGS") in _HTTP_PROTOCOLS:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import (  # noqa: PLC0415
            OTLPLogExporter as HttpLogExporter,
        )

        log_exporter: LogRecordExporter = HttpLogExporter()
    else:
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import (  # noqa: PLC0415
            OTLPLogExporter as GrpcLogExporter,
        )

        log_exporter = GrpcLogExporter()
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(log_exporter))
    if set_global:
        _logs.set_logger_provider(logger_provider)
    return logger_provider


def otlp_metric_exporter() -> MetricExporter:
    """An OTLP metric exporter for ``OTEL_EXPORTER_OTLP_(METRICS_)PROTOCOL`` (default gRPC)."""
    if _protocol("METRICS") in _HTTP_PROTOCOLS:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import (  # noqa: PLC0415
            OTLPMetricExporter as HttpMetricExporter,
        )

        return HttpMetricExporter()
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (  # noqa: PLC0415
        OTLPMetricExporter as GrpcMetricExporter,
    )

    return GrpcMetricExporter()


def _meter_provider(
    resource: Resource, metrics: bool | MeterProvider, set_global: bool
) -> MeterProvider | None:
    """``metrics`` itself, a new one exporting over OTLP (``True``), or ``None`` (``False``)."""
    from opentelemetry import metrics as otel_metrics  # noqa: PLC0415 - only when wanted

    if metrics is False:
        return None
    if isinstance(metrics, otel_metrics.MeterProvider):
        return metrics
    if metrics is not True:
        raise TypeError(f"metrics= takes True or a MeterProvider, not {type(metrics).__name__}")
    from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider  # noqa: PLC0415
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader  # noqa: PLC0415

    reader = PeriodicExportingMetricReader(otlp_metric_exporter())
    meter_provider = SdkMeterProvider(resource=resource, metric_readers=[reader])
    if set_global:
        otel_metrics.set_meter_provider(meter_provider)
    return meter_provider
