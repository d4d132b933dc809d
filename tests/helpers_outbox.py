"""Helpers for the durable-outbox tests: a TCP gate to take a collector "down" and "up" again
on the same port, and child processes that log feedback through an outbox."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

from helpers_wire import SRC

from otel_feedback.testing import OTLPReceiver


class TcpGate:
    """A TCP forwarder on a fixed 127.0.0.1 port to ``target_port``.

    :meth:`close` stops listening and cuts every connection, so a client sees what it sees
    when a collector is down (connection refused); :meth:`open` listens on the same port
    again. Starts closed.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port: int = probe.getsockname()[1]
        probe.close()
        self._lock = threading.Lock()
        self._server: socket.socket | None = None
        self._sockets: list[socket.socket] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def open(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        with self._lock:
            self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def close(self) -> None:
        with self._lock:
            server, self._server = self._server, None
            sockets, self._sockets = self._sockets, []
        if server is not None:
            with contextlib.suppress(OSError):
                server.shutdown(socket.SHUT_RDWR)
            server.close()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._server is not server:
                    client.close()
                    upstream.close()
                    return
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def child_env(outbox: Path, endpoint: str, **extra: str) -> dict[str, str]:
    """Environment of a child process: its outbox, and OTLP/HTTP to ``endpoint``."""
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("OTEL_", "PYTEST"))
    }
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    env.update(
        OTEL_FEEDBACK_OUTBOX=str(outbox),
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL="http/protobuf",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"{endpoint}/v1/traces",
        OTEL_EXPORTER_OTLP_TRACES_TIMEOUT="2",
        OTEL_BSP_SCHEDULE_DELAY="50",
        **extra,
    )
    return env


def start_child(code: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


# A child that logs N late records (by token) and says so, then keeps running until killed.
LOG_AND_WAIT = """
import json, os, sys, time
import otel_feedback as fb

provider = fb.configure()
tracer = provider.get_tracer("child")
with tracer.start_as_current_span("answer"):
    token = fb.current_feedback_token()
ids = [fb.log_feedback("rating", i % 5, target=token) for i in range(int(os.environ["N"]))]
print(json.dumps({"ids": ids, "diagnostics": fb.diagnostics()}), flush=True)
time.sleep(120)
"""

# The next process to open the outbox: it only flushes.
FLUSH = """
import json, os
import otel_feedback as fb

result = fb.flush(float(os.environ.get("FLUSH_SECONDS", "30")))
print(json.dumps({"sent": result.sent, "pending": result.pending,
                  "diagnostics": fb.diagnostics()}), flush=True)
"""


def run_flush(outbox: Path, receiver: OTLPReceiver) -> Any:
    """Open ``outbox`` in a fresh process exporting to ``receiver`` and flush it."""
    import json  # noqa: PLC0415

    process = start_child(FLUSH, child_env(outbox, receiver.http_endpoint))
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def feedback_ids(receiver: OTLPReceiver) -> list[str]:
    """``feedback.id`` of every late ``feedback`` span received (duplicates included)."""
    return [
        str(span.attributes["feedback.id"])
        for span in receiver.spans
        if span.name == "feedback" and "feedback.id" in span.attributes
    ]
