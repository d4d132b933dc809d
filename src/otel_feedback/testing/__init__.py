"""An in-process OTLP receiver for tests and benchmarks (extra ``otel-feedback[testing]``).

:class:`OTLPReceiver` listens on ``127.0.0.1`` (a free port per transport) for
OTLP/gRPC and OTLP/HTTP (protobuf) trace, log and metric exports, decodes what arrives into
plain frozen dataclasses and lets a test wait for it::

    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from otel_feedback.testing import OTLPReceiver

    with OTLPReceiver() as receiver:
        provider = TracerProvider()
        exporter = OTLPSpanExporter(endpoint=receiver.grpc_endpoint, insecure=True)
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        with provider.get_tracer("t").start_as_current_span("chat") as span:
            span.set_attribute("feedback.rating", 5)
        [received] = receiver.wait_for_spans(1)
        assert received.attributes["feedback.rating"] == 5

It needs ``grpcio``, ``protobuf`` and ``opentelemetry-proto`` (the ``[testing]`` extra); the
runtime package never imports it. Modules: :mod:`.received` (the results and their decoding
with protobuf's JSON mapping), :mod:`.grpc_service`, :mod:`.http_service` (the two
transports) and :mod:`.receiver` (the receiver itself). All threads are daemon threads or
idle pool workers, so a receiver that was never stopped does not keep the interpreter alive.
"""

from otel_feedback.testing.received import (
    OTLPProtocol,
    ReceivedEvent,
    ReceivedLink,
    ReceivedLogRecord,
    ReceivedMetricPoint,
    ReceivedSpan,
    Signal,
)
from otel_feedback.testing.receiver import OTLPReceiver

__all__ = [
    "OTLPProtocol",
    "OTLPReceiver",
    "ReceivedEvent",
    "ReceivedLink",
    "ReceivedLogRecord",
    "ReceivedMetricPoint",
    "ReceivedSpan",
    "Signal",
]
