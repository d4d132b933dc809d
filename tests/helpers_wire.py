"""Helpers for tests that prove otel-feedback on decoded OTLP wire data.

A :class:`Wire` is one fresh pipeline: an SDK ``TracerProvider`` holding a
``FeedbackSpanProcessor`` and an OTLP exporter (gRPC or HTTP/protobuf) pointed at an
in-process :class:`~otel_feedback.testing.OTLPReceiver`. The ``wires`` fixture in
``conftest.py`` builds them and shuts every provider down after the test, so no processor
lingers in otel-feedback's process-wide registry.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from opentelemetry.exporter.otlp.proto.grpc._log_exporter import (
    OTLPLogExporter as GrpcLogExporter,
)
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http._log_exporter import (
    OTLPLogExporter as HttpLogExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import LogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits, SpanProcessor, Tracer, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import format_span_id, format_trace_id

from otel_feedback import FeedbackSpanProcessor
from otel_feedback.processor import active_processors
from otel_feedback.testing import OTLPReceiver, ReceivedEvent, ReceivedSpan

Proto = Literal["grpc", "http"]
PROTOCOLS: tuple[Proto, ...] = ("grpc", "http")
EVENT = "gen_ai.evaluation.result"
SRC = str(Path(__file__).resolve().parents[1] / "src")

# Every attribute docs/DESIGN.md §3 lists for the gen_ai.evaluation.result event.
EVENT_KEYS = (
    "gen_ai.evaluation.name",
    "gen_ai.evaluation.score.value",
    "gen_ai.evaluation.score.label",
    "gen_ai.evaluation.explanation",
    "feedback.id",
    "feedback.value",
    "feedback.source.type",
    "feedback.source.id",
    "feedback.kind",
    "feedback.timestamp",
)


def span_exporter(receiver: OTLPReceiver, protocol: Proto) -> SpanExporter:
    """An OTLP span exporter of ``protocol`` pointed at ``receiver``."""
    if protocol == "grpc":
        return GrpcSpanExporter(endpoint=receiver.grpc_endpoint, insecure=True, timeout=10)
    return HttpSpanExporter(endpoint=receiver.http_traces_endpoint, timeout=10)


def log_exporter(receiver: OTLPReceiver, protocol: Proto) -> LogRecordExporter:
    """An OTLP log exporter of ``protocol`` pointed at ``receiver``."""
    if protocol == "grpc":
        return GrpcLogExporter(endpoint=receiver.grpc_endpoint, insecure=True, timeout=10)
    return HttpLogExporter(endpoint=receiver.http_logs_endpoint, timeout=10)


def hex_ids(span: Any) -> tuple[str, str]:
    """(trace id, span id) of an SDK/API span as lowercase hex."""
    context = span.get_span_context()
    return format_trace_id(context.trace_id), format_span_id(context.span_id)


@dataclass
class Wire:
    """A TracerProvider + FeedbackSpanProcessor exporting to an in-process receiver."""

    receiver: OTLPReceiver
    protocol: Proto
    provider: TracerProvider
    processor: FeedbackSpanProcessor
    export_processor: SpanProcessor
    logger_provider: LoggerProvider | None = None
    closed: bool = field(default=False)

    @property
    def tracer(self) -> Tracer:
        return self.provider.get_tracer("tests")  # type: ignore[return-value]

    def wait(self, count: int = 1, **kwargs: Any) -> list[ReceivedSpan]:
        return self.receiver.wait_for_spans(count, timeout=kwargs.pop("timeout", 20), **kwargs)

    def wait_named(self, name: str, count: int = 1) -> list[ReceivedSpan]:
        return self.wait(count, predicate=lambda span: span.name == name)

    def one(self, name: str) -> ReceivedSpan:
        """Wait for the span called ``name``; fail unless exactly one arrived."""
        self.wait_named(name)
        return self.receiver.span_by_name(name)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.provider.shutdown()
            if self.logger_provider is not None:
                self.logger_provider.shutdown()


class WireFactory:
    """Builds :class:`Wire` pipelines; :meth:`close_all` shuts every one down."""

    def __init__(self, receiver: OTLPReceiver) -> None:
        self.receiver = receiver
        self.built: list[Wire] = []

    def __call__(
        self,
        protocol: Proto = "grpc",
        *,
        limits: SpanLimits | None = None,
        batch: bool = False,
        feedback_first: bool = True,
        emit_log_records: bool = False,
        receiver: OTLPReceiver | None = None,
        resource: Resource | None = None,
        **processor_kwargs: Any,
    ) -> Wire:
        target = receiver or self.receiver
        provider = TracerProvider(span_limits=limits, resource=resource)
        logger_provider = None
        if emit_log_records:
            logger_provider = LoggerProvider()
            logger_provider.add_log_record_processor(
                SimpleLogRecordProcessor(log_exporter(target, protocol))
            )
        processor = FeedbackSpanProcessor(
            tracer_provider=provider,
            emit_log_records=emit_log_records,
            logger_provider=logger_provider,
            **processor_kwargs,
        )
        exporter = span_exporter(target, protocol)
        export: SpanProcessor = (
            BatchSpanProcessor(
                exporter,
                max_queue_size=200_000,
                max_export_batch_size=1_000,
                schedule_delay_millis=20,
            )
            if batch
            else SimpleSpanProcessor(exporter)
        )
        first, second = (processor, export) if feedback_first else (export, processor)
        provider.add_span_processor(first)
        provider.add_span_processor(second)
        wire = Wire(target, protocol, provider, processor, export, logger_provider)
        self.built.append(wire)
        return wire

    def close_all(self) -> None:
        for wire in self.built:
            wire.close()


def no_processor_lingers() -> bool:
    """True when no FeedbackSpanProcessor is left registered (all were shut down)."""
    return not active_processors()


# -- assertions on decoded wire data ------------------------------------------------------


def only_event(span: ReceivedSpan, name: str = EVENT) -> ReceivedEvent:
    events = span.events_named(name)
    assert len(events) == 1, f"expected one {name!r} event on {span.name!r}, got {span.events}"
    return events[0]


def assert_late_feedback_span(
    feedback: ReceivedSpan, target: ReceivedSpan, *, inside: bool = True
) -> None:
    """The shape docs/DESIGN.md §3 gives a late ``feedback`` span for ``target``."""
    assert feedback.name == "feedback"
    assert feedback.trace_id == target.trace_id
    assert feedback.parent_span_id == target.span_id
    assert [(link.trace_id, link.span_id) for link in feedback.links] == [
        (target.trace_id, target.span_id)
    ]
    assert feedback.duration_ns == 0
    assert feedback.scope_name == "otel_feedback"
    if inside:
        assert (
            target.start_time_unix_nano
            <= feedback.start_time_unix_nano
            <= target.end_time_unix_nano
        ), "the feedback span must sit inside the target's lifetime"


def feedback_spans(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
    return [span for span in spans if span.name == "feedback"]


# -- subprocesses -----------------------------------------------------------------------------


def run_python(code: str, env: dict[str, str] | None = None, timeout: float = 60) -> Any:
    """Run ``code`` in a fresh interpreter; it must print one JSON document last."""
    full_env = {
        key: value for key, value in os.environ.items() if not key.startswith(("OTEL_", "PYTEST"))
    }
    full_env["PYTHONPATH"] = SRC + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.update(env or {})
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"subprocess failed:\n{result.stdout}\n{result.stderr}"
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines, f"subprocess printed nothing:\n{result.stderr}"
    return json.loads(lines[-1])


# A subprocess preamble: its OWN TracerProvider exporting to the receiver given in env.
SUBPROCESS_PIPELINE = """
import json, os
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
import otel_feedback as fb

def _exporter():
    if os.environ["WIRE_PROTOCOL"] == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        return OTLPSpanExporter(endpoint=os.environ["WIRE_ENDPOINT"], insecure=True, timeout=10)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    return OTLPSpanExporter(endpoint=os.environ["WIRE_ENDPOINT"], timeout=10)

provider = TracerProvider()
processor = fb.FeedbackSpanProcessor(tracer_provider=provider)
provider.add_span_processor(processor)
provider.add_span_processor(SimpleSpanProcessor(_exporter()))
"""


def subprocess_env(receiver: OTLPReceiver, protocol: Proto, **extra: str) -> dict[str, str]:
    endpoint = receiver.grpc_endpoint if protocol == "grpc" else receiver.http_traces_endpoint
    return {"WIRE_PROTOCOL": protocol, "WIRE_ENDPOINT": endpoint, **extra}
