"""An in-process OTLP receiver for tests and benchmarks.

:class:`OTLPReceiver` listens on ``127.0.0.1`` (a free port per transport) for
OTLP/gRPC and OTLP/HTTP (protobuf) trace and log exports, decodes what arrives into
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

Only ``grpcio`` and ``opentelemetry-proto`` are needed, both of which come with
``opentelemetry-exporter-otlp``; the HTTP side is the standard library's
:class:`http.server.ThreadingHTTPServer`. All threads are daemon threads or idle
pool workers, so a receiver that was never stopped does not keep the interpreter alive.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import math
import socket
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, TypeVar

import grpc  # type: ignore[import-untyped]
from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

__all__ = [
    "OTLPProtocol",
    "OTLPReceiver",
    "ReceivedEvent",
    "ReceivedLink",
    "ReceivedLogRecord",
    "ReceivedSpan",
    "Signal",
]

_logger = logging.getLogger(__name__)

OTLPProtocol = Literal["grpc", "http"]
"""The transport that delivered an export: ``"grpc"`` or ``"http"`` (protobuf)."""

Signal = Literal["traces", "logs"]
"""The OTLP signal of an export request."""

_HOST = "127.0.0.1"
_MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # the OTLP/HTTP exporter's default request limit
_HTTP_PATHS: dict[str, Signal] = {"/v1/traces": "traces", "/v1/logs": "logs"}
_PROTOBUF = "application/x-protobuf"
_RETRY_INFO_KEY = "google.rpc.retryinfo-bin"
_DESCRIBE_AT_MOST = 20


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class ReceivedEvent:
    """A span event as received."""

    name: str
    time_unix_nano: int
    attributes: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ReceivedLink:
    """A span link as received; ids are lowercase hex."""

    trace_id: str
    span_id: str
    attributes: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ReceivedSpan:
    """A span as received, with ids as lowercase hex and attributes decoded to Python.

    ``kind`` is the OTLP ``SpanKind`` number, which is the API's ``SpanKind.value + 1``
    (``1`` internal, ``2`` server, ``3`` client, ``4`` producer, ``5`` consumer).
    ``status_code`` is ``0`` unset, ``1`` ok, ``2`` error. Attribute values are
    ``str``/``bool``/``int``/``float``/``bytes``, arrays become tuples and key-value
    lists become dicts.
    """

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: int
    start_time_unix_nano: int
    end_time_unix_nano: int
    attributes: dict[str, Any]
    events: list[ReceivedEvent]
    links: list[ReceivedLink]
    status_code: int
    status_message: str
    dropped_attributes_count: int
    dropped_events_count: int
    dropped_links_count: int
    resource_attributes: dict[str, Any]
    scope_name: str
    scope_version: str
    protocol: OTLPProtocol

    @property
    def duration_ns(self) -> int:
        """End minus start time, in nanoseconds."""
        return self.end_time_unix_nano - self.start_time_unix_nano

    def events_named(self, name: str) -> list[ReceivedEvent]:
        """The span's events called ``name``, in order."""
        return [event for event in self.events if event.name == name]


@dataclass(frozen=True, slots=True)
class ReceivedLogRecord:
    """A log record as received; ``trace_id``/``span_id`` are hex or ``None`` when unset."""

    event_name: str
    body: Any
    attributes: dict[str, Any]
    trace_id: str | None
    span_id: str | None
    time_unix_nano: int
    observed_time_unix_nano: int
    severity_number: int
    severity_text: str
    resource_attributes: dict[str, Any]
    scope_name: str
    protocol: OTLPProtocol


# --------------------------------------------------------------------------- decoding


def _decode_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        return value.double_value
    if kind == "array_value":
        return tuple(_decode_value(item) for item in value.array_value.values)
    if kind == "kvlist_value":
        return _decode_attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return bytes(value.bytes_value)
    raise ValueError(f"unsupported AnyValue field {kind!r} (only used by the profiles signal)")


def _decode_attributes(attributes: Iterable[KeyValue]) -> dict[str, Any]:
    return {kv.key: _decode_value(kv.value) for kv in attributes}


def _hex_or_none(raw: bytes) -> str | None:
    """Hex of an id, or ``None`` for an absent (empty or all-zero) id."""
    return raw.hex() if raw.strip(b"\0") else None


def _decode_spans(
    request: trace_service_pb2.ExportTraceServiceRequest, protocol: OTLPProtocol
) -> list[ReceivedSpan]:
    spans: list[ReceivedSpan] = []
    for resource_spans in request.resource_spans:
        resource = _decode_attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            spans.extend(
                ReceivedSpan(
                    trace_id=bytes(span.trace_id).hex(),
                    span_id=bytes(span.span_id).hex(),
                    parent_span_id=_hex_or_none(span.parent_span_id),
                    name=span.name,
                    kind=int(span.kind),
                    start_time_unix_nano=span.start_time_unix_nano,
                    end_time_unix_nano=span.end_time_unix_nano,
                    attributes=_decode_attributes(span.attributes),
                    events=[
                        ReceivedEvent(
                            name=event.name,
                            time_unix_nano=event.time_unix_nano,
                            attributes=_decode_attributes(event.attributes),
                        )
                        for event in span.events
                    ],
                    links=[
                        ReceivedLink(
                            trace_id=bytes(link.trace_id).hex(),
                            span_id=bytes(link.span_id).hex(),
                            attributes=_decode_attributes(link.attributes),
                        )
                        for link in span.links
                    ],
                    status_code=int(span.status.code),
                    status_message=span.status.message,
                    dropped_attributes_count=span.dropped_attributes_count,
                    dropped_events_count=span.dropped_events_count,
                    dropped_links_count=span.dropped_links_count,
                    resource_attributes=dict(resource),
                    scope_name=scope_spans.scope.name,
                    scope_version=scope_spans.scope.version,
                    protocol=protocol,
                )
                for span in scope_spans.spans
            )
    return spans


def _decode_logs(
    request: logs_service_pb2.ExportLogsServiceRequest, protocol: OTLPProtocol
) -> list[ReceivedLogRecord]:
    records: list[ReceivedLogRecord] = []
    for resource_logs in request.resource_logs:
        resource = _decode_attributes(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            records.extend(
                ReceivedLogRecord(
                    event_name=record.event_name,
                    body=_decode_value(record.body),
                    attributes=_decode_attributes(record.attributes),
                    trace_id=_hex_or_none(record.trace_id),
                    span_id=_hex_or_none(record.span_id),
                    time_unix_nano=record.time_unix_nano,
                    observed_time_unix_nano=record.observed_time_unix_nano,
                    severity_number=int(record.severity_number),
                    severity_text=record.severity_text,
                    resource_attributes=dict(resource),
                    scope_name=scope_logs.scope.name,
                    protocol=protocol,
                )
                for record in scope_logs.log_records
            )
    return records


def _describe_span(span: ReceivedSpan) -> str:
    return f"{span.name!r} trace={span.trace_id} span={span.span_id} via {span.protocol}"


def _describe_log(record: ReceivedLogRecord) -> str:
    body = repr(record.body)
    if len(body) > 60:
        body = body[:57] + "..."
    return f"event_name={record.event_name!r} body={body} via {record.protocol}"


# --------------------------------------------------------------------------- failures


@dataclass(frozen=True, slots=True)
class _Failure:
    grpc_code: Any  # grpc.StatusCode
    http_status: int
    retry_after: float | None

    @property
    def message(self) -> str:
        return "failure injected by OTLPReceiver.fail_next()"

    def status_bytes(self) -> bytes:
        code: int = self.grpc_code.value[0]
        return _status_bytes(code, self.message)

    def retry_info_bytes(self) -> bytes | None:
        if self.retry_after is None:
            return None
        info = error_details_pb2.RetryInfo()
        seconds = math.floor(self.retry_after)
        info.retry_delay.seconds = seconds
        info.retry_delay.nanos = round((self.retry_after - seconds) * 1e9)
        data: bytes = info.SerializeToString()
        return data

    def retry_after_header(self) -> str | None:
        # HTTP's Retry-After takes whole seconds only.
        return None if self.retry_after is None else str(math.ceil(self.retry_after))


_Item = TypeVar("_Item", ReceivedSpan, ReceivedLogRecord)


# --------------------------------------------------------------------------- receiver


class OTLPReceiver:
    """An in-process OTLP/gRPC and OTLP/HTTP (protobuf) receiver for traces and logs.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. Results stay
    readable after :meth:`stop`. A receiver can be started once.
    """

    def __init__(self, *, max_workers: int = 4) -> None:
        """Create a stopped receiver; ``max_workers`` sizes the gRPC thread pool."""
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self._max_workers = max_workers
        self._cond = threading.Condition()  # guards everything below
        self._state: Literal["new", "running", "stopped"] = "new"
        self._spans: list[ReceivedSpan] = []
        self._logs: list[ReceivedLogRecord] = []
        self._accepted: Counter[tuple[OTLPProtocol, Signal]] = Counter()
        self._rejected: Counter[tuple[OTLPProtocol, Signal]] = Counter()
        self._errors: list[str] = []
        self._failures_left = 0
        self._failure = _Failure(grpc.StatusCode.UNAVAILABLE, 503, 0.0)
        self._grpc_server: Any = None
        self._grpc_executor: ThreadPoolExecutor | None = None
        self._grpc_port: int | None = None
        self._http_server: _HTTPServer | None = None
        self._http_thread: threading.Thread | None = None

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> OTLPReceiver:
        """Bind both servers to free ports on 127.0.0.1 and start serving; returns self."""
        with self._cond:
            if self._state != "new":
                raise RuntimeError(f"OTLPReceiver can be started once (it is {self._state})")
            self._state = "running"
        try:
            self._start_grpc()
            self._start_http()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_grpc(self) -> None:
        self._grpc_executor = ThreadPoolExecutor(
            max_workers=self._max_workers, thread_name_prefix="otlp-receiver-grpc"
        )
        server = grpc.server(
            self._grpc_executor,
            options=[
                ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
                ("grpc.so_reuseport", 0),
            ],
        )
        self._grpc_server = server
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(  # type: ignore[no-untyped-call]
            _TraceServicer(self), server
        )
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(  # type: ignore[no-untyped-call]
            _LogsServicer(self), server
        )
        port: int = server.add_insecure_port(f"{_HOST}:0")
        if not port:
            raise RuntimeError("OTLPReceiver: could not bind a gRPC port on 127.0.0.1")
        server.start()
        self._grpc_port = port

    def _start_http(self) -> None:
        server = _HTTPServer(self)
        self._http_server = server
        self._http_thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="otlp-receiver-http",
            daemon=True,
        )
        self._http_thread.start()

    def stop(self) -> None:
        """Shut both servers down (in-flight calls are cancelled); idempotent."""
        with self._cond:
            if self._state == "stopped":
                return
            self._state = "stopped"
            self._cond.notify_all()
        if self._http_server is not None:
            if self._http_thread is not None:
                self._http_server.shutdown()
                self._http_thread.join(timeout=5)
            self._http_server.server_close()
            self._http_server.close_connections()
        if self._grpc_server is not None:
            self._grpc_server.stop(grace=None).wait(timeout=5)
        if self._grpc_executor is not None:
            self._grpc_executor.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> OTLPReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        with self._cond:
            counts = f"spans={len(self._spans)} logs={len(self._logs)}"
            if self._state != "running":
                return f"<OTLPReceiver {self._state} {counts}>"
        return f"<OTLPReceiver grpc={self.grpc_endpoint} http={self.http_endpoint} {counts}>"

    # ----------------------------------------------------------------- endpoints

    def _require_started(self) -> None:
        if self._state == "new":
            raise RuntimeError("OTLPReceiver is not started: use `with OTLPReceiver()` or start()")

    @property
    def grpc_port(self) -> int:
        """The gRPC port."""
        self._require_started()
        assert self._grpc_port is not None
        return self._grpc_port

    @property
    def http_port(self) -> int:
        """The HTTP port."""
        self._require_started()
        assert self._http_server is not None
        return self._http_server.port

    @property
    def grpc_endpoint(self) -> str:
        """``http://127.0.0.1:PORT``, for ``OTLPSpanExporter(endpoint=..., insecure=True)``."""
        return f"http://{_HOST}:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        """``http://127.0.0.1:PORT``, the base URL (``OTEL_EXPORTER_OTLP_ENDPOINT``)."""
        return f"http://{_HOST}:{self.http_port}"

    @property
    def http_traces_endpoint(self) -> str:
        """``http://127.0.0.1:PORT/v1/traces``, for the OTLP/HTTP span exporter."""
        return f"{self.http_endpoint}/v1/traces"

    @property
    def http_logs_endpoint(self) -> str:
        """``http://127.0.0.1:PORT/v1/logs``, for the OTLP/HTTP log exporter."""
        return f"{self.http_endpoint}/v1/logs"

    # ----------------------------------------------------------------- results

    @property
    def spans(self) -> list[ReceivedSpan]:
        """A snapshot of every span received so far, in arrival order."""
        with self._cond:
            return list(self._spans)

    @property
    def logs(self) -> list[ReceivedLogRecord]:
        """A snapshot of every log record received so far, in arrival order."""
        with self._cond:
            return list(self._logs)

    @property
    def errors(self) -> list[str]:
        """Why malformed export requests were refused (400 / INVALID_ARGUMENT)."""
        with self._cond:
            return list(self._errors)

    def export_count(
        self, protocol: OTLPProtocol | None = None, *, signal: Signal | None = None
    ) -> int:
        """How many export requests were accepted, optionally for one protocol/signal."""
        with self._cond:
            return _count(self._accepted, protocol, signal)

    def rejected_count(
        self, protocol: OTLPProtocol | None = None, *, signal: Signal | None = None
    ) -> int:
        """How many export requests were refused by :meth:`fail_next`."""
        with self._cond:
            return _count(self._rejected, protocol, signal)

    def spans_named(self, name: str) -> list[ReceivedSpan]:
        """The received spans called ``name``."""
        return [span for span in self.spans if span.name == name]

    def span_by_name(self, name: str) -> ReceivedSpan:
        """The one received span called ``name``; :class:`LookupError` unless exactly one."""
        spans = self.spans
        found = [span for span in spans if span.name == name]
        if len(found) != 1:
            names = sorted({span.name for span in spans})
            raise LookupError(
                f"expected exactly one span named {name!r}, found {len(found)}; "
                f"received span names: {names}"
            )
        return found[0]

    def spans_in_trace(self, trace_id: str) -> list[ReceivedSpan]:
        """The received spans of one trace (``trace_id`` as hex, any case)."""
        trace_id = trace_id.lower()
        return [span for span in self.spans if span.trace_id == trace_id]

    def logs_by_event_name(self, event_name: str) -> list[ReceivedLogRecord]:
        """The received log records whose ``event_name`` is ``event_name``."""
        return [record for record in self.logs if record.event_name == event_name]

    def clear(self) -> None:
        """Forget received spans, logs, counts and errors (a pending fail_next stays)."""
        with self._cond:
            self._spans.clear()
            self._logs.clear()
            self._accepted.clear()
            self._rejected.clear()
            self._errors.clear()

    def wait_for_spans(
        self,
        count: int = 1,
        *,
        predicate: Callable[[ReceivedSpan], bool] | None = None,
        timeout: float = 10.0,
    ) -> list[ReceivedSpan]:
        """Block until at least ``count`` spans (matching ``predicate``) have arrived.

        Returns all matching spans received so far, in arrival order (possibly more than
        ``count``). Raises :class:`TimeoutError` listing what did arrive otherwise.
        """
        return self._wait(
            self._spans, count, predicate, timeout, what="span", describe=_describe_span
        )

    def wait_for_logs(
        self,
        count: int = 1,
        *,
        predicate: Callable[[ReceivedLogRecord], bool] | None = None,
        timeout: float = 10.0,
    ) -> list[ReceivedLogRecord]:
        """Block until at least ``count`` log records (matching ``predicate``) have arrived.

        Returns all matching records received so far (possibly more than ``count``).
        Raises :class:`TimeoutError` listing what did arrive otherwise.
        """
        return self._wait(
            self._logs, count, predicate, timeout, what="log record", describe=_describe_log
        )

    def _wait(
        self,
        items: list[_Item],
        count: int,
        predicate: Callable[[_Item], bool] | None,
        timeout: float,
        *,
        what: str,
        describe: Callable[[_Item], str],
    ) -> list[_Item]:
        if count < 0:
            raise ValueError("count must not be negative")
        found: list[_Item] = []

        def enough() -> bool:
            nonlocal found
            found = [item for item in items if predicate is None or predicate(item)]
            return len(found) >= count

        with self._cond:
            if self._cond.wait_for(enough, timeout=timeout):
                return found
            received = [describe(item) for item in items]
            accepted = dict(self._accepted)
            rejected = dict(self._rejected)
            errors = list(self._errors)
        matching = " matching the predicate" if predicate is not None else ""
        lines = [
            f"OTLPReceiver: timed out after {timeout:g} s waiting for {count} {what}(s)"
            f"{matching}; {len(found)} matched, {len(received)} received in total"
            + (":" if received else "."),
        ]
        lines += [f"  - {text}" for text in received[:_DESCRIBE_AT_MOST]]
        if len(received) > _DESCRIBE_AT_MOST:
            lines.append(f"  ... and {len(received) - _DESCRIBE_AT_MOST} more")
        lines.append(f"accepted export requests: {_format_counts(accepted)}")
        if rejected:
            lines.append(f"requests refused by fail_next(): {_format_counts(rejected)}")
        lines += [f"malformed request: {error}" for error in errors]
        raise TimeoutError("\n".join(lines))

    # ----------------------------------------------------------------- fault injection

    def fail_next(
        self,
        count: int = 1,
        *,
        grpc_code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE,
        http_status: int = 503,
        retry_after: float | None = 0.0,
    ) -> None:
        """Refuse the next ``count`` valid export requests, whatever their protocol or signal.

        gRPC calls fail with ``grpc_code``, HTTP requests get ``http_status`` (both
        retryable for the SDK exporters by default). ``retry_after`` seconds are sent as
        gRPC ``RetryInfo`` and as HTTP ``Retry-After`` (rounded up to whole seconds), which
        the SDK exporters honour instead of their exponential backoff; ``None`` sends
        neither. Refused requests store nothing. Replaces any pending injection;
        ``count=0`` cancels it.
        """
        if count < 0:
            raise ValueError("count must not be negative")
        if retry_after is not None and not (retry_after >= 0 and math.isfinite(retry_after)):
            raise ValueError("retry_after must be a finite number of seconds >= 0, or None")
        if not 400 <= http_status <= 599:
            raise ValueError("http_status must be a 4xx or 5xx status")
        with self._cond:
            self._failures_left = count
            self._failure = _Failure(grpc_code, http_status, retry_after)

    # ----------------------------------------------------------------- ingestion

    def _ingest(
        self,
        signal: Signal,
        protocol: OTLPProtocol,
        request: trace_service_pb2.ExportTraceServiceRequest
        | logs_service_pb2.ExportLogsServiceRequest,
    ) -> _Failure | None:
        """Store one decoded export request, or return the injected failure to answer.

        Raises :class:`ValueError` for requests that cannot be decoded.
        """
        try:
            if isinstance(request, trace_service_pb2.ExportTraceServiceRequest):
                spans = _decode_spans(request, protocol)
                records: list[ReceivedLogRecord] = []
            else:
                spans = []
                records = _decode_logs(request, protocol)
        except ValueError as exc:
            self._record_error(f"{protocol} {signal}: {exc}")
            raise
        with self._cond:
            if self._failures_left > 0:
                self._failures_left -= 1
                self._rejected[(protocol, signal)] += 1
                return self._failure
            self._spans.extend(spans)
            self._logs.extend(records)
            self._accepted[(protocol, signal)] += 1
            self._cond.notify_all()
        return None

    def _record_error(self, message: str) -> None:
        _logger.debug("OTLPReceiver refused a request: %s", message)
        with self._cond:
            self._errors.append(message)
            self._cond.notify_all()

    def _grpc_export(
        self,
        signal: Signal,
        request: trace_service_pb2.ExportTraceServiceRequest
        | logs_service_pb2.ExportLogsServiceRequest,
        context: grpc.ServicerContext,
    ) -> None:
        try:
            failure = self._ingest(signal, "grpc", request)
        except ValueError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            return
        if failure is not None:
            retry_info = failure.retry_info_bytes()
            if retry_info is not None:
                context.set_trailing_metadata(((_RETRY_INFO_KEY, retry_info),))
            context.abort(failure.grpc_code, failure.message)


def _count(
    counter: Counter[tuple[OTLPProtocol, Signal]],
    protocol: OTLPProtocol | None,
    signal: Signal | None,
) -> int:
    return sum(
        n
        for (proto, sig), n in counter.items()
        if (protocol is None or proto == protocol) and (signal is None or sig == signal)
    )


def _format_counts(counts: dict[tuple[OTLPProtocol, Signal], int]) -> str:
    if not counts:
        return "none"
    return ", ".join(f"{proto} {sig}={n}" for (proto, sig), n in sorted(counts.items()))


# --------------------------------------------------------------------------- gRPC


class _TraceServicer(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, receiver: OTLPReceiver) -> None:
        self._receiver = receiver

    def Export(
        self,
        request: trace_service_pb2.ExportTraceServiceRequest,
        context: grpc.ServicerContext,
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        self._receiver._grpc_export("traces", request, context)
        return trace_service_pb2.ExportTraceServiceResponse()


class _LogsServicer(logs_service_pb2_grpc.LogsServiceServicer):
    def __init__(self, receiver: OTLPReceiver) -> None:
        self._receiver = receiver

    def Export(
        self,
        request: logs_service_pb2.ExportLogsServiceRequest,
        context: grpc.ServicerContext,
    ) -> logs_service_pb2.ExportLogsServiceResponse:
        self._receiver._grpc_export("logs", request, context)
        return logs_service_pb2.ExportLogsServiceResponse()


# --------------------------------------------------------------------------- HTTP


class _HTTPServer(ThreadingHTTPServer):
    """Serves OTLP/HTTP for one receiver; remembers open connections to close on stop."""

    daemon_threads = True

    def __init__(self, receiver: OTLPReceiver) -> None:
        super().__init__((_HOST, 0), _HTTPHandler)
        self.receiver = receiver
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    @property
    def port(self) -> int:
        port: int = self.server_address[1]
        return port

    def track(self, connection: socket.socket, *, open_: bool) -> None:
        with self._connections_lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self) -> None:
        """Unblock keep-alive handler threads so nothing is served after stop()."""
        with self._connections_lock:
            connections = list(self._connections)
            self._connections.clear()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _BadRequest(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _HTTPHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's pooled session expects
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, open_=True)

    def finish(self) -> None:
        self.server.track(self.connection, open_=False)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        _logger.debug("OTLPReceiver HTTP: " + format, *args)

    def do_POST(self) -> None:
        try:
            body = self._read_body()  # always drained, so the connection stays usable
            signal = _HTTP_PATHS.get(self.path.split("?", 1)[0])
            if signal is None:
                raise _BadRequest(
                    HTTPStatus.NOT_FOUND,
                    f"no OTLP endpoint at {self.path!r}; this receiver serves POST "
                    + " and ".join(_HTTP_PATHS),
                )
            self._check_content_type()
            data = self._decompress(body)
            request = self._parse(signal, data)
        except _BadRequest as exc:
            self._refuse(exc.status, exc.message)
            return
        receiver = self.server.receiver
        try:
            failure = receiver._ingest(signal, "http", request)
        except ValueError as exc:
            self._send(HTTPStatus.BAD_REQUEST, _status_bytes(3, str(exc)), _PROTOBUF)
            return
        if failure is not None:
            header = failure.retry_after_header()
            self._send(
                failure.http_status,
                failure.status_bytes(),
                _PROTOBUF,
                extra_headers={"Retry-After": header} if header is not None else None,
            )
            return
        response: trace_service_pb2.ExportTraceServiceResponse | (
            logs_service_pb2.ExportLogsServiceResponse
        )
        if signal == "traces":
            response = trace_service_pb2.ExportTraceServiceResponse()
        else:
            response = logs_service_pb2.ExportLogsServiceResponse()
        self._send(HTTPStatus.OK, response.SerializeToString(), _PROTOBUF)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            raise _BadRequest(HTTPStatus.BAD_REQUEST, "invalid Content-Length") from None
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        try:
            while True:
                size = int(self.rfile.readline(65537).split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # skip trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
        except ValueError:
            self.close_connection = True
            raise _BadRequest(HTTPStatus.BAD_REQUEST, "invalid chunked encoding") from None

    def _check_content_type(self) -> None:
        content_type = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if content_type == _PROTOBUF:
            return
        if content_type == "application/json":
            raise _BadRequest(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                "OTLP/HTTP JSON is not supported by otel_feedback.testing.OTLPReceiver; "
                f"send Content-Type: {_PROTOBUF}",
            )
        raise _BadRequest(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            f"unsupported Content-Type {content_type!r}; send Content-Type: {_PROTOBUF}",
        )

    def _decompress(self, body: bytes) -> bytes:
        encoding = self.headers.get("Content-Encoding", "").strip().lower()
        try:
            if encoding in ("", "identity", "none"):
                return body
            if encoding == "gzip":
                return gzip.decompress(body)
            if encoding == "deflate":
                try:
                    return zlib.decompress(body)  # zlib-wrapped, as the SDK sends it
                except zlib.error:
                    return zlib.decompress(body, -zlib.MAX_WBITS)  # raw deflate
        except (OSError, EOFError, zlib.error) as exc:
            raise _BadRequest(
                HTTPStatus.BAD_REQUEST, f"cannot decode {encoding} body: {exc}"
            ) from None
        raise _BadRequest(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            f"unsupported Content-Encoding {encoding!r}; use gzip, deflate or none",
        )

    def _parse(
        self, signal: Signal, data: bytes
    ) -> trace_service_pb2.ExportTraceServiceRequest | logs_service_pb2.ExportLogsServiceRequest:
        request: trace_service_pb2.ExportTraceServiceRequest | (
            logs_service_pb2.ExportLogsServiceRequest
        )
        if signal == "traces":
            request = trace_service_pb2.ExportTraceServiceRequest()
        else:
            request = logs_service_pb2.ExportLogsServiceRequest()
        try:
            request.ParseFromString(data)
        except DecodeError as exc:
            message = f"http {signal}: body is not a valid protobuf export request ({exc})"
            self.server.receiver._record_error(message)
            raise _BadRequest(HTTPStatus.BAD_REQUEST, message) from None
        return request

    def _refuse(self, status: HTTPStatus, message: str) -> None:
        if status == HTTPStatus.BAD_REQUEST:
            self._send(status, _status_bytes(3, message), _PROTOBUF)
        else:
            self._send(status, message.encode(), "text/plain; charset=utf-8")

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        extra_headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def _status_bytes(code: int, message: str) -> bytes:
    """A serialized ``google.rpc.Status``, the OTLP/HTTP error body."""
    data: bytes = status_pb2.Status(code=code, message=message).SerializeToString()
    return data
