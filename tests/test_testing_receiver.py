"""The in-process OTLP receiver (otel_feedback.testing), proven with the real SDK exporters."""

from __future__ import annotations

import gzip
import http.client
import socket
import subprocess
import sys
import textwrap
import threading
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import grpc  # type: ignore[import-untyped]
import pytest
from google.rpc.error_details_pb2 import RetryInfo  # type: ignore[import-untyped]
from google.rpc.status_pb2 import Status as RpcStatus  # type: ignore[import-untyped]
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import (
    OTLPLogExporter as GrpcLogExporter,
)
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http import Compression as HttpCompression
from opentelemetry.exporter.otlp.proto.http._log_exporter import (
    OTLPLogExporter as HttpLogExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as ProtoResource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import LogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Link, SpanKind, Status, StatusCode, format_span_id, format_trace_id

from otel_feedback.testing import (
    OTLPReceiver,
    ReceivedEvent,
    ReceivedLink,
    ReceivedSpan,
)

Proto = Literal["grpc", "http"]
PROTOCOLS: tuple[Proto, ...] = ("grpc", "http")
PROTOBUF = "application/x-protobuf"
HANDMADE_TRACE_ID = bytes(range(1, 17))
HANDMADE_SPAN_ID = bytes(range(1, 9))


# --------------------------------------------------------------------------- helpers


def other(protocol: Proto) -> Proto:
    return "http" if protocol == "grpc" else "grpc"


def span_exporter(
    receiver: OTLPReceiver, protocol: Proto, compression: str | None = None
) -> SpanExporter:
    if protocol == "grpc":
        return GrpcSpanExporter(
            endpoint=receiver.grpc_endpoint,
            insecure=True,
            compression=grpc.Compression.Gzip if compression == "gzip" else None,
        )
    return HttpSpanExporter(
        endpoint=receiver.http_traces_endpoint,
        compression=HttpCompression(compression) if compression else None,
    )


def log_exporter(receiver: OTLPReceiver, protocol: Proto) -> LogRecordExporter:
    if protocol == "grpc":
        return GrpcLogExporter(endpoint=receiver.grpc_endpoint, insecure=True)
    return HttpLogExporter(endpoint=receiver.http_logs_endpoint)


@pytest.fixture
def tracer_provider_for() -> Iterator[Any]:
    """Builds TracerProviders exporting through one exporter each; shuts them down after."""
    providers: list[TracerProvider] = []

    def make(exporter: SpanExporter) -> TracerProvider:
        provider = TracerProvider(
            resource=Resource.create({"service.name": "svc", "deployment.environment": "test"})
        )
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        providers.append(provider)
        return provider

    yield make
    for provider in providers:
        provider.shutdown()


def handmade_span(name: str = "handmade") -> ProtoSpan:
    nested = AnyValue(
        array_value=ArrayValue(
            values=[AnyValue(array_value=ArrayValue(values=[AnyValue(double_value=1.5)]))]
        )
    )
    return ProtoSpan(
        trace_id=HANDMADE_TRACE_ID,
        span_id=HANDMADE_SPAN_ID,
        name=name,
        kind=ProtoSpan.SPAN_KIND_CLIENT,
        start_time_unix_nano=10,
        end_time_unix_nano=25,
        attributes=[
            KeyValue(
                key="kv",
                value=AnyValue(
                    kvlist_value=KeyValueList(
                        values=[KeyValue(key="inner", value=AnyValue(int_value=7))]
                    )
                ),
            ),
            KeyValue(key="raw", value=AnyValue(bytes_value=b"\x00\xff")),
            KeyValue(key="empty", value=AnyValue()),
            KeyValue(key="nested", value=nested),
        ],
    )


def handmade_request(*names: str) -> ExportTraceServiceRequest:
    return ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=ProtoResource(
                    attributes=[KeyValue(key="service.name", value=AnyValue(string_value="raw"))]
                ),
                scope_spans=[
                    ScopeSpans(
                        scope=InstrumentationScope(name="raw-scope", version="0.1"),
                        spans=[handmade_span(name) for name in names or ("handmade",)],
                    )
                ],
            )
        ]
    )


def post(
    receiver: OTLPReceiver,
    path: str,
    body: bytes,
    headers: dict[str, str] | None = None,
    connection: http.client.HTTPConnection | None = None,
) -> tuple[int, http.client.HTTPMessage, bytes]:
    conn = connection or http.client.HTTPConnection("127.0.0.1", receiver.http_port, timeout=10)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": PROTOBUF, **(headers or {})})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        if connection is None:
            conn.close()


def post_spans(receiver: OTLPReceiver, *names: str) -> None:
    status, _, body = post(receiver, "/v1/traces", handmade_request(*names).SerializeToString())
    assert status == 200, body


# --------------------------------------------------------------------------- spans


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_sdk_spans_round_trip(
    otlp_receiver: OTLPReceiver, tracer_provider_for: Any, protocol: Proto
) -> None:
    provider: TracerProvider = tracer_provider_for(span_exporter(otlp_receiver, protocol))
    tracer = provider.get_tracer("feedback-tests", "1.2.3")
    linked = tracer.start_span("linked")
    linked.end()
    linked_ctx = linked.get_span_context()

    start, end = 1_700_000_000_000_000_000, 1_700_000_000_500_000_000
    with tracer.start_as_current_span(
        "parent",
        kind=SpanKind.SERVER,
        links=[Link(linked_ctx, {"link.reason": "rated"})],
        start_time=start,
        end_on_exit=False,
    ) as parent:
        parent.set_attributes(
            {
                "s": "text",
                "b": True,
                "i": 42,
                "f": 0.75,
                "ts": ("a", "b"),
                "ti": (1, 2, 3),
            }
        )
        parent.add_event(
            "gen_ai.evaluation.result",
            {"gen_ai.evaluation.name": "rating", "gen_ai.evaluation.score.value": 4.0},
            timestamp=start + 1,
        )
        parent.set_status(Status(StatusCode.ERROR, "boom"))
        with tracer.start_as_current_span("child"):
            pass
    parent.end(end_time=end)

    spans = otlp_receiver.wait_for_spans(3)
    assert [span.name for span in spans] == ["linked", "child", "parent"]
    received = otlp_receiver.span_by_name("parent")
    child = otlp_receiver.span_by_name("child")
    ctx = parent.get_span_context()

    assert received.trace_id == format_trace_id(ctx.trace_id)
    assert received.span_id == format_span_id(ctx.span_id)
    assert received.parent_span_id is None
    assert child.trace_id == received.trace_id
    assert child.parent_span_id == received.span_id
    assert received.kind == SpanKind.SERVER.value + 1 == 2  # OTLP numbering is the API's + 1
    assert child.kind == 1
    assert (received.start_time_unix_nano, received.end_time_unix_nano) == (start, end)
    assert received.duration_ns == 500_000_000

    assert received.attributes == {
        "s": "text",
        "b": True,
        "i": 42,
        "f": 0.75,
        "ts": ("a", "b"),
        "ti": (1, 2, 3),
    }
    assert type(received.attributes["b"]) is bool
    assert type(received.attributes["i"]) is int
    assert type(received.attributes["f"]) is float

    assert received.events == [
        ReceivedEvent(
            "gen_ai.evaluation.result",
            start + 1,
            {"gen_ai.evaluation.name": "rating", "gen_ai.evaluation.score.value": 4.0},
        )
    ]
    assert received.events_named("gen_ai.evaluation.result") == received.events
    assert received.events_named("other") == []
    assert received.links == [
        ReceivedLink(
            format_trace_id(linked_ctx.trace_id),
            format_span_id(linked_ctx.span_id),
            {"link.reason": "rated"},
        )
    ]
    assert (received.status_code, received.status_message) == (2, "boom")
    assert child.status_code == 0

    for span in spans:
        assert span.protocol == protocol
        assert span.resource_attributes["service.name"] == "svc"
        assert span.resource_attributes["deployment.environment"] == "test"
        assert (span.scope_name, span.scope_version) == ("feedback-tests", "1.2.3")
    assert otlp_receiver.spans_in_trace(received.trace_id.upper()) == [child, received]
    # SimpleSpanProcessor exports each span in its own request.
    assert otlp_receiver.export_count(protocol, signal="traces") == 3
    assert otlp_receiver.export_count(protocol, signal="logs") == 0
    assert otlp_receiver.export_count(other(protocol)) == 0
    assert otlp_receiver.rejected_count() == 0


@pytest.mark.parametrize(
    ("protocol", "compression"), [("grpc", "gzip"), ("http", "gzip"), ("http", "deflate")]
)
def test_compressed_sdk_exports_are_decoded(
    otlp_receiver: OTLPReceiver, tracer_provider_for: Any, protocol: Proto, compression: str
) -> None:
    exporter = span_exporter(otlp_receiver, protocol, compression)
    provider: TracerProvider = tracer_provider_for(exporter)
    with provider.get_tracer("t").start_as_current_span("zipped") as span:
        span.set_attribute("payload", "x" * 10_000)
    [received] = otlp_receiver.wait_for_spans(1)
    assert received.attributes["payload"] == "x" * 10_000
    assert received.protocol == protocol
    assert otlp_receiver.errors == []


# --------------------------------------------------------------------------- logs


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_sdk_log_records_round_trip(otlp_receiver: OTLPReceiver, protocol: Proto) -> None:
    provider = LoggerProvider(resource=Resource.create({"service.name": "svc"}))
    provider.add_log_record_processor(
        SimpleLogRecordProcessor(log_exporter(otlp_receiver, protocol))
    )
    logger = provider.get_logger("feedback-logs")
    tracer = TracerProvider().get_tracer("t")
    try:
        with tracer.start_as_current_span("target") as target:
            logger.emit(
                event_name="gen_ai.evaluation.result",
                body={"score": 0.5, "labels": ["good"]},
                attributes={"gen_ai.evaluation.name": "rating", "feedback.id": "abc"},
                severity_number=SeverityNumber.INFO,
                timestamp=1_700_000_000_000_000_000,
            )
        logger.emit(body="plain line")
        first, second = otlp_receiver.wait_for_logs(2)
    finally:
        provider.shutdown()

    ctx = target.get_span_context()
    assert first.event_name == "gen_ai.evaluation.result"
    assert first.body == {"score": 0.5, "labels": ("good",)}
    assert first.attributes == {"gen_ai.evaluation.name": "rating", "feedback.id": "abc"}
    assert first.trace_id == format_trace_id(ctx.trace_id)
    assert first.span_id == format_span_id(ctx.span_id)
    assert first.time_unix_nano == 1_700_000_000_000_000_000
    assert first.observed_time_unix_nano > 0
    assert first.severity_number == SeverityNumber.INFO.value
    assert first.resource_attributes["service.name"] == "svc"
    assert first.scope_name == "feedback-logs"

    assert (second.event_name, second.body) == ("", "plain line")
    assert (second.trace_id, second.span_id) == (None, None)
    assert {first.protocol, second.protocol} == {protocol}
    assert otlp_receiver.logs_by_event_name("gen_ai.evaluation.result") == [first]
    assert otlp_receiver.export_count(protocol, signal="logs") == 2
    assert otlp_receiver.export_count(signal="traces") == 0


def test_http_logs_endpoint_takes_raw_protobuf(otlp_receiver: OTLPReceiver) -> None:
    request = ExportLogsServiceRequest(
        resource_logs=[
            ResourceLogs(
                scope_logs=[
                    ScopeLogs(
                        log_records=[
                            LogRecord(
                                event_name="e",
                                body=AnyValue(bytes_value=b"\x01"),
                                trace_id=bytes(16),  # all-zero ids mean "no id"
                                span_id=HANDMADE_SPAN_ID,
                            )
                        ]
                    )
                ]
            )
        ]
    )
    status, _, _ = post(otlp_receiver, "/v1/logs", request.SerializeToString())
    assert status == 200
    [record] = otlp_receiver.logs
    assert (record.event_name, record.body) == ("e", b"\x01")
    assert (record.trace_id, record.span_id) == (None, HANDMADE_SPAN_ID.hex())


# --------------------------------------------------------------------------- raw HTTP


def _chunked(data: bytes) -> Iterator[bytes]:
    yield data[:5]
    yield data[5:]


@pytest.mark.parametrize("encoding", ["identity", "gzip", "deflate", "raw-deflate", "chunked"])
def test_http_decodes_every_value_type_and_encoding(
    otlp_receiver: OTLPReceiver, encoding: str
) -> None:
    data = handmade_request().SerializeToString()
    conn = http.client.HTTPConnection("127.0.0.1", otlp_receiver.http_port, timeout=10)
    headers = {"Content-Type": PROTOBUF}
    body: bytes | Iterator[bytes] = data
    if encoding == "gzip":
        body, headers["Content-Encoding"] = gzip.compress(data), "gzip"
    elif encoding == "deflate":
        body, headers["Content-Encoding"] = zlib.compress(data), "deflate"
    elif encoding == "raw-deflate":
        packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        body, headers["Content-Encoding"] = packer.compress(data) + packer.flush(), "deflate"
    elif encoding == "chunked":
        body = _chunked(data)
    try:
        conn.request("POST", "/v1/traces", body=body, headers=headers, encode_chunked=True)
        response = conn.getresponse()
        answer = response.read()
    finally:
        conn.close()

    assert response.status == 200
    assert response.headers["Content-Type"] == PROTOBUF
    assert ExportTraceServiceResponse.FromString(answer) == ExportTraceServiceResponse()
    [span] = otlp_receiver.spans
    assert span == ReceivedSpan(
        trace_id="0102030405060708090a0b0c0d0e0f10",
        span_id="0102030405060708",
        parent_span_id=None,
        name="handmade",
        kind=3,
        start_time_unix_nano=10,
        end_time_unix_nano=25,
        attributes={"kv": {"inner": 7}, "raw": b"\x00\xff", "empty": None, "nested": ((1.5,),)},
        events=[],
        links=[],
        status_code=0,
        status_message="",
        dropped_attributes_count=0,
        dropped_events_count=0,
        dropped_links_count=0,
        resource_attributes={"service.name": "raw"},
        scope_name="raw-scope",
        scope_version="0.1",
        protocol="http",
    )


def test_http_unknown_path_is_404_and_keeps_the_connection_usable(
    otlp_receiver: OTLPReceiver,
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", otlp_receiver.http_port, timeout=10)
    try:
        data = handmade_request().SerializeToString()
        status, _, body = post(otlp_receiver, "/v1/profiles", data, connection=conn)
        assert status == 404
        assert b"/v1/traces" in body
        # The 404's request body was drained: the same connection serves the next request.
        status, _, _ = post(otlp_receiver, "/v1/traces", data, connection=conn)
        assert status == 200
    finally:
        conn.close()
    assert len(otlp_receiver.spans) == 1


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Content-Type": "application/json"}, b"JSON is not supported"),
        ({"Content-Type": "text/plain"}, b"unsupported Content-Type 'text/plain'"),
        ({"Content-Encoding": "br"}, b"unsupported Content-Encoding 'br'"),
    ],
)
def test_http_unsupported_media_is_415(
    otlp_receiver: OTLPReceiver, headers: dict[str, str], expected: bytes
) -> None:
    status, _, body = post(otlp_receiver, "/v1/traces", b'{"resourceSpans": []}', headers)
    assert status == 415
    assert expected in body
    assert otlp_receiver.export_count() == 0


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"\xff\xff\xff", {}),
        (b"not gzip", {"Content-Encoding": "gzip"}),
    ],
)
def test_http_malformed_body_is_400_with_status(
    otlp_receiver: OTLPReceiver, body: bytes, headers: dict[str, str]
) -> None:
    status, response_headers, answer = post(otlp_receiver, "/v1/traces", body, headers)
    assert status == 400
    assert response_headers["Content-Type"] == PROTOBUF
    assert RpcStatus.FromString(answer).code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert otlp_receiver.spans == []
    assert otlp_receiver.export_count() == 0


def test_undecodable_protobuf_is_reported_in_errors_and_timeouts(
    otlp_receiver: OTLPReceiver,
) -> None:
    status, _, _ = post(otlp_receiver, "/v1/traces", b"\xff\xff\xff")
    assert status == 400
    [error] = otlp_receiver.errors
    assert "not a valid protobuf export request" in error
    with pytest.raises(TimeoutError, match="malformed request: http traces"):
        otlp_receiver.wait_for_spans(1, timeout=0.01)


# --------------------------------------------------------------------------- waiting


def test_wait_timeout_lists_what_arrived(otlp_receiver: OTLPReceiver) -> None:
    post_spans(otlp_receiver, "only")
    with pytest.raises(TimeoutError) as excinfo:
        otlp_receiver.wait_for_spans(2, timeout=0.01)
    message = str(excinfo.value)
    assert "waiting for 2 span(s);" in message
    assert "1 matched, 1 received in total" in message
    assert "'only' trace=0102030405060708090a0b0c0d0e0f10 span=0102030405060708 via http" in message
    assert "accepted export requests: http traces=1" in message

    with pytest.raises(TimeoutError, match="matching the predicate; 0 matched, 1 received"):
        otlp_receiver.wait_for_spans(predicate=lambda span: span.name == "missing", timeout=0.01)
    with pytest.raises(TimeoutError, match=r"1 log record\(s\); 0 matched, 0 received in total\."):
        otlp_receiver.wait_for_logs(timeout=0.01)


def test_wait_returns_every_match_and_blocks_until_arrival(otlp_receiver: OTLPReceiver) -> None:
    post_spans(otlp_receiver, "a", "b", "a")
    assert [span.name for span in otlp_receiver.wait_for_spans(1)] == ["a", "b", "a"]
    assert len(otlp_receiver.wait_for_spans(2, predicate=lambda s: s.name == "a")) == 2
    assert otlp_receiver.wait_for_spans(0, predicate=lambda s: s.name == "zzz") == []
    with pytest.raises(ValueError, match="count"):
        otlp_receiver.wait_for_spans(-1)

    def send_late() -> None:
        time.sleep(0.05)  # most likely after the wait below has begun; either order passes
        post_spans(otlp_receiver, "late")

    sender = threading.Thread(target=send_late)
    sender.start()
    try:
        late = otlp_receiver.wait_for_spans(1, predicate=lambda s: s.name == "late", timeout=10)
    finally:
        sender.join()
    assert [span.name for span in late] == ["late"]


def test_name_and_trace_helpers(otlp_receiver: OTLPReceiver) -> None:
    post_spans(otlp_receiver, "twin", "twin", "single")
    assert otlp_receiver.span_by_name("single").name == "single"
    assert len(otlp_receiver.spans_named("twin")) == 2
    with pytest.raises(LookupError, match="found 2"):
        otlp_receiver.span_by_name("twin")
    with pytest.raises(LookupError, match=r"found 0; received span names: \['single', 'twin'\]"):
        otlp_receiver.span_by_name("missing")
    assert len(otlp_receiver.spans_in_trace(HANDMADE_TRACE_ID.hex().upper())) == 3
    assert otlp_receiver.spans_in_trace("ff" * 16) == []

    otlp_receiver.clear()
    assert otlp_receiver.spans == []
    assert otlp_receiver.export_count() == 0


def test_concurrent_exports_over_both_protocols_are_all_recorded(
    otlp_receiver: OTLPReceiver,
) -> None:
    channel = grpc.insecure_channel(f"127.0.0.1:{otlp_receiver.grpc_port}")
    stub = TraceServiceStub(channel)  # type: ignore[no-untyped-call]

    def send(use_grpc: bool) -> None:
        for _ in range(10):
            if use_grpc:
                stub.Export(handmade_request("c"), timeout=10)
            else:
                post_spans(otlp_receiver, "c")

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            for future in [pool.submit(send, i % 2 == 0) for i in range(8)]:
                future.result()  # re-raises a sender's failure
    finally:
        channel.close()
    assert len(otlp_receiver.wait_for_spans(80)) == 80
    assert otlp_receiver.export_count("grpc") == 40
    assert otlp_receiver.export_count("http") == 40


# --------------------------------------------------------------------------- fault injection


def test_fail_next_over_grpc_sends_unavailable_with_retry_info(otlp_receiver: OTLPReceiver) -> None:
    channel = grpc.insecure_channel(f"127.0.0.1:{otlp_receiver.grpc_port}")
    stub = TraceServiceStub(channel)  # type: ignore[no-untyped-call]
    try:
        otlp_receiver.fail_next(1, retry_after=1.5)
        with pytest.raises(grpc.RpcError) as excinfo:
            stub.Export(handmade_request(), timeout=10)
        error: Any = excinfo.value
        assert error.code() == grpc.StatusCode.UNAVAILABLE
        info = RetryInfo.FromString(dict(error.trailing_metadata())["google.rpc.retryinfo-bin"])
        assert (info.retry_delay.seconds, info.retry_delay.nanos) == (1, 500_000_000)
        assert otlp_receiver.spans == []

        stub.Export(handmade_request(), timeout=10)  # the injection is used up
    finally:
        channel.close()
    assert len(otlp_receiver.spans) == 1
    assert otlp_receiver.rejected_count("grpc", signal="traces") == 1
    assert otlp_receiver.export_count("grpc") == 1


def test_fail_next_over_http_sends_status_and_retry_after(otlp_receiver: OTLPReceiver) -> None:
    data = handmade_request().SerializeToString()
    otlp_receiver.fail_next(2, http_status=429, retry_after=1.5)
    status, headers, body = post(otlp_receiver, "/v1/traces", data)
    assert (status, headers["Retry-After"]) == (429, "2")  # whole seconds, rounded up
    assert RpcStatus.FromString(body).code == grpc.StatusCode.UNAVAILABLE.value[0]

    otlp_receiver.fail_next(1, retry_after=None)  # replaces the pending injection
    status, headers, _ = post(otlp_receiver, "/v1/traces", data)
    assert (status, headers["Retry-After"]) == (503, None)

    otlp_receiver.fail_next(3)
    otlp_receiver.fail_next(0)  # cancels
    assert post(otlp_receiver, "/v1/traces", data)[0] == 200
    assert otlp_receiver.rejected_count("http") == 2
    assert otlp_receiver.export_count("http") == 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_sdk_exporter_retries_through_an_injected_failure(
    otlp_receiver: OTLPReceiver, protocol: Proto
) -> None:
    tracer = TracerProvider().get_tracer("t")
    span = tracer.start_span("retried")
    span.end()
    assert isinstance(span, ReadableSpan)
    exporter = span_exporter(otlp_receiver, protocol)
    otlp_receiver.fail_next(1)  # retry_after=0: the exporter retries at once
    try:
        assert exporter.export([span]) == SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    assert [s.name for s in otlp_receiver.spans] == ["retried"]
    assert otlp_receiver.rejected_count(protocol) == 1
    assert otlp_receiver.export_count(protocol) == 1


def test_fail_next_validates_arguments(otlp_receiver: OTLPReceiver) -> None:
    with pytest.raises(ValueError, match="count"):
        otlp_receiver.fail_next(-1)
    with pytest.raises(ValueError, match="retry_after"):
        otlp_receiver.fail_next(1, retry_after=-1.0)
    with pytest.raises(ValueError, match="http_status"):
        otlp_receiver.fail_next(1, http_status=200)


# --------------------------------------------------------------------------- lifecycle


def test_lifecycle_endpoints_and_stop() -> None:
    receiver = OTLPReceiver()
    with pytest.raises(RuntimeError, match="not started"):
        _ = receiver.grpc_endpoint
    assert "new" in repr(receiver)
    receiver.start()
    conn = http.client.HTTPConnection("127.0.0.1", receiver.http_port, timeout=10)
    try:
        with pytest.raises(RuntimeError, match="started once"):
            receiver.start()
        port = receiver.http_port
        assert receiver.grpc_endpoint == f"http://127.0.0.1:{receiver.grpc_port}"
        assert receiver.http_endpoint == f"http://127.0.0.1:{port}"
        assert receiver.http_traces_endpoint == f"http://127.0.0.1:{port}/v1/traces"
        assert receiver.http_logs_endpoint == f"http://127.0.0.1:{port}/v1/logs"
        assert f"http=http://127.0.0.1:{port}" in repr(receiver)
        data = handmade_request().SerializeToString()
        assert post(receiver, "/v1/traces", data, connection=conn)[0] == 200
    finally:
        receiver.stop()
    receiver.stop()  # idempotent
    with pytest.raises(RuntimeError, match="started once"):
        receiver.start()

    assert len(receiver.spans) == 1  # results outlive stop()
    assert "stopped spans=1" in repr(receiver)
    # The kept-alive connection was closed by stop(): nothing is served any more.
    with pytest.raises((OSError, http.client.HTTPException)):
        post(receiver, "/v1/traces", data, connection=conn)
    conn.close()
    assert len(receiver.spans) == 1


def test_receiver_validates_max_workers() -> None:
    with pytest.raises(ValueError, match="max_workers"):
        OTLPReceiver(max_workers=0)


def test_forgotten_receiver_does_not_block_interpreter_exit() -> None:
    code = textwrap.dedent(
        """
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as G
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as H
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from otel_feedback.testing import OTLPReceiver

        receiver = OTLPReceiver().start()
        provider = TracerProvider()
        provider.add_span_processor(
            SimpleSpanProcessor(G(endpoint=receiver.grpc_endpoint, insecure=True)))
        provider.add_span_processor(SimpleSpanProcessor(H(endpoint=receiver.http_traces_endpoint)))
        with provider.get_tracer("t").start_as_current_span("s"):
            pass
        receiver.wait_for_spans(2)
        print("exported", len(receiver.spans))
        """
    )
    # A hang would raise subprocess.TimeoutExpired; the limit is far above the normal run.
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "exported 2" in result.stdout


def test_connection_refused_after_stop() -> None:
    with OTLPReceiver() as receiver:
        port = receiver.http_port
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_the_runtime_package_never_imports_the_test_receiver() -> None:
    """``otel_feedback.testing`` (and gRPC/protobuf) load only when a test asks for them."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    code = (
        "import sys, otel_feedback, otel_feedback.api, otel_feedback.delivery, "
        "otel_feedback.configure\n"
        "print(sorted(m for m in ('otel_feedback.testing', 'grpc', 'google.protobuf') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
