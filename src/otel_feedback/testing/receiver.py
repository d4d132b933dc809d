"""The receiver: both transports, what arrived, waiting for it, and fault injection."""

from __future__ import annotations

import logging
import math
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import grpc  # type: ignore[import-untyped]
from google.rpc import error_details_pb2  # type: ignore[import-untyped]
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from otel_feedback.testing.grpc_service import start_grpc_server
from otel_feedback.testing.http_service import HTTPService, status_bytes
from otel_feedback.testing.received import (
    OTLPProtocol,
    ReceivedLogRecord,
    ReceivedMetricPoint,
    ReceivedSpan,
    Signal,
    decode_logs,
    decode_metrics,
    decode_spans,
    describe_log,
    describe_metric,
    describe_span,
)

_logger = logging.getLogger("otel_feedback.testing")

_HOST = "127.0.0.1"
_RETRY_INFO_KEY = "google.rpc.retryinfo-bin"
_DESCRIBE_AT_MOST = 20


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
        return status_bytes(code, self.message)

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


_Item = TypeVar("_Item", ReceivedSpan, ReceivedLogRecord, ReceivedMetricPoint)
_Request = (
    trace_service_pb2.ExportTraceServiceRequest
    | logs_service_pb2.ExportLogsServiceRequest
    | metrics_service_pb2.ExportMetricsServiceRequest
)


# --------------------------------------------------------------------------- receiver


class OTLPReceiver:
    """An in-process OTLP/gRPC and OTLP/HTTP (protobuf) receiver for traces, logs, metrics.

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
        self._metrics: list[ReceivedMetricPoint] = []
        self._accepted: Counter[tuple[OTLPProtocol, Signal]] = Counter()
        self._rejected: Counter[tuple[OTLPProtocol, Signal]] = Counter()
        self._errors: list[str] = []
        self._failures_left = 0
        self._failure = _Failure(grpc.StatusCode.UNAVAILABLE, 503, 0.0)
        self._grpc_server: Any = None
        self._grpc_executor: ThreadPoolExecutor | None = None
        self._grpc_port: int | None = None
        self._http_server: HTTPService | None = None
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
        self._grpc_server, self._grpc_port = start_grpc_server(self, self._grpc_executor, _HOST)

    def _start_http(self) -> None:
        server = HTTPService(self, _HOST)
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

    @property
    def http_metrics_endpoint(self) -> str:
        """``http://127.0.0.1:PORT/v1/metrics``, for the OTLP/HTTP metric exporter."""
        return f"{self.http_endpoint}/v1/metrics"

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
    def metrics(self) -> list[ReceivedMetricPoint]:
        """A snapshot of every metric data point received so far, in arrival order."""
        with self._cond:
            return list(self._metrics)

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
            self._metrics.clear()
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
            self._spans, count, predicate, timeout, what="span", describe=describe_span
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
            self._logs, count, predicate, timeout, what="log record", describe=describe_log
        )

    def wait_for_metrics(
        self,
        count: int = 1,
        *,
        predicate: Callable[[ReceivedMetricPoint], bool] | None = None,
        timeout: float = 10.0,
    ) -> list[ReceivedMetricPoint]:
        """Block until at least ``count`` metric data points (matching ``predicate``) have
        arrived; returns all matching points so far. Raises :class:`TimeoutError` otherwise.
        """
        return self._wait(
            self._metrics, count, predicate, timeout, what="metric point",
            describe=describe_metric,
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
        request: _Request,
    ) -> _Failure | None:
        """Store one decoded export request, or return the injected failure to answer.

        Raises :class:`ValueError` for requests that cannot be decoded.
        """
        try:
            spans: list[ReceivedSpan] = []
            records: list[ReceivedLogRecord] = []
            points: list[ReceivedMetricPoint] = []
            if isinstance(request, trace_service_pb2.ExportTraceServiceRequest):
                spans = decode_spans(request, protocol)
            elif isinstance(request, logs_service_pb2.ExportLogsServiceRequest):
                records = decode_logs(request, protocol)
            else:
                points = decode_metrics(request, protocol)
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
            self._metrics.extend(points)
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
        request: _Request,
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


