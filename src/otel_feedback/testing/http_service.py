"""The OTLP/HTTP (protobuf) side of the receiver, on the standard library's HTTP server.

``POST /v1/traces``, ``/v1/logs`` and ``/v1/metrics`` with ``Content-Type: application/x-protobuf``,
optionally gzip- or deflate-compressed, as the SDK's OTLP/HTTP exporters send them.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import socket
import threading
import zlib
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
from google.rpc import status_pb2  # type: ignore[import-untyped]
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from otel_feedback.testing.received import Signal

_logger = logging.getLogger("otel_feedback.testing")

PROTOBUF = "application/x-protobuf"
_PATHS: dict[str, Signal] = {
    "/v1/traces": "traces",
    "/v1/logs": "logs",
    "/v1/metrics": "metrics",
}
_REQUESTS: dict[str, Any] = {
    "traces": trace_service_pb2.ExportTraceServiceRequest,
    "logs": logs_service_pb2.ExportLogsServiceRequest,
    "metrics": metrics_service_pb2.ExportMetricsServiceRequest,
}
_RESPONSES: dict[str, Any] = {
    "traces": trace_service_pb2.ExportTraceServiceResponse,
    "logs": logs_service_pb2.ExportLogsServiceResponse,
    "metrics": metrics_service_pb2.ExportMetricsServiceResponse,
}


def status_bytes(code: int, message: str) -> bytes:
    """A serialized ``google.rpc.Status``, the OTLP/HTTP error body."""
    data: bytes = status_pb2.Status(code=code, message=message).SerializeToString()
    return data


class HTTPService(ThreadingHTTPServer):
    """Serves OTLP/HTTP for one receiver; remembers open connections to close on stop."""

    daemon_threads = True

    def __init__(self, receiver: Any, host: str) -> None:
        super().__init__((host, 0), _Handler)
        self.receiver = receiver
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    @property
    def port(self) -> int:
        """The port bound."""
        port: int = self.server_address[1]
        return port

    def track(self, connection: socket.socket, *, open_: bool) -> None:
        """Remember (or forget) a keep-alive connection."""
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


class _Refused(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's pooled session expects
    server: HTTPService

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
            body = self._body()  # always drained, so the connection stays usable
            signal = _PATHS.get(self.path.split("?", 1)[0])
            if signal is None:
                raise _Refused(
                    HTTPStatus.NOT_FOUND,
                    f"no OTLP endpoint at {self.path!r}; this receiver serves POST "
                    + " and ".join(_PATHS),
                )
            self._check_content_type()
            request = self._parse(signal, self._decompress(body))
        except _Refused as refused:
            self._refuse(refused.status, refused.message)
            return
        try:
            failure = self.server.receiver._ingest(signal, "http", request)
        except ValueError as exc:
            self._send(HTTPStatus.BAD_REQUEST, status_bytes(3, str(exc)), PROTOBUF)
            return
        if failure is not None:
            header = failure.retry_after_header()
            self._send(
                failure.http_status,
                failure.status_bytes(),
                PROTOBUF,
                {"Retry-After": header} if header is not None else None,
            )
            return
        self._send(HTTPStatus.OK, _RESPONSES[signal]().SerializeToString(), PROTOBUF)

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._chunked_body()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            raise _Refused(HTTPStatus.BAD_REQUEST, "invalid Content-Length") from None
        return self.rfile.read(length) if length > 0 else b""

    def _chunked_body(self) -> bytes:
        """A ``Transfer-Encoding: chunked`` body (what a streaming client sends)."""
        chunks: list[bytes] = []
        try:
            while size := int(self.rfile.readline(65537).split(b";", 1)[0].strip(), 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
        except ValueError:
            self.close_connection = True
            raise _Refused(HTTPStatus.BAD_REQUEST, "invalid chunked encoding") from None
        while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return b"".join(chunks)

    def _check_content_type(self) -> None:
        content_type = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if content_type == PROTOBUF:
            return
        if content_type == "application/json":
            raise _Refused(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                "OTLP/HTTP JSON is not supported by otel_feedback.testing.OTLPReceiver; "
                f"send Content-Type: {PROTOBUF}",
            )
        raise _Refused(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            f"unsupported Content-Type {content_type!r}; send Content-Type: {PROTOBUF}",
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
            message = f"cannot decode {encoding} body: {exc}"
            raise _Refused(HTTPStatus.BAD_REQUEST, message) from None
        raise _Refused(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            f"unsupported Content-Encoding {encoding!r}; use gzip, deflate or none",
        )

    def _parse(self, signal: Signal, data: bytes) -> Any:
        request = _REQUESTS[signal]()
        try:
            request.ParseFromString(data)
        except DecodeError as exc:
            message = f"http {signal}: body is not a valid protobuf export request ({exc})"
            self.server.receiver._record_error(message)
            raise _Refused(HTTPStatus.BAD_REQUEST, message) from None
        return request

    def _refuse(self, status: HTTPStatus, message: str) -> None:
        if status == HTTPStatus.BAD_REQUEST:
            self._send(status, status_bytes(3, message), PROTOBUF)
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
