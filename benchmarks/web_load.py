"""Load on ``POST /feedback`` over loopback: a served endpoint and a keep-alive HTTP client.

Used by ``benchmarks/web.py`` (30 s) and by the suite's short load test. The client is plain
asyncio on raw HTTP/1.1 keep-alive connections, a closed loop (each connection sends its next
request when the previous answer arrived), so the rate found is the highest the server
sustains with that many connections in flight.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from otel_feedback.token import FeedbackToken, now_ns

SRC = str(Path(__file__).resolve().parents[1] / "src")


@contextmanager
def served(
    env: dict[str, str],
    *options: str,
    timeout: float = 60,
    stop: signal.Signals = signal.SIGINT,
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Run ``otel-feedback serve --port 0 OPTIONS`` with ``env``; yield (process, base URL).

    On exit the server is stopped with ``stop`` (it flushes its spans) and waited for.
    """
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "PYTEST"))}
    full_env["PYTHONPATH"] = SRC + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.update(env)
    with tempfile.TemporaryFile(mode="w+") as errors:  # uvicorn's log; read if it fails
        process = subprocess.Popen(
            [sys.executable, "-m", "otel_feedback.cli", "serve", "--port", "0", *options],
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            if "listening on " not in line:
                process.kill()
                process.wait(timeout=timeout)
                errors.seek(0)
                raise RuntimeError(f"otel-feedback serve did not start: {line!r}\n{errors.read()}")
            yield process, line.rpartition("listening on ")[2]
        finally:
            if process.poll() is None:
                process.send_signal(stop)
                try:
                    process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def signed_bodies(secret: str, count: int, *, seed: int = 7) -> list[bytes]:
    """``count`` request bodies, each one record with a token for a different random span."""
    rng = random.Random(seed)
    bodies = []
    for index in range(count):
        token = FeedbackToken(
            rng.getrandbits(128) | 1,
            rng.getrandbits(64) | 1,
            now_ns(),
            session_id=f"load-{index % 50}",
        ).encode(secret)
        record = {"token": token, "name": "thumbs_up", "value": index % 3 != 0,
                  "reason": "load test", "kind": "explicit"}
        bodies.append(json.dumps(record).encode())
    return bodies


@dataclass
class LoadResult:
    """What a load run saw."""

    seconds: float
    connections: int
    latencies_s: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0

    @property
    def requests(self) -> int:
        return len(self.latencies_s)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        """Latency at ``fraction`` (0.5 = median), in milliseconds."""
        ordered = sorted(self.latencies_s)
        if not ordered:
            return float("nan")
        index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
        return ordered[index] * 1000

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)

    def summary(self) -> str:
        return (
            f"{self.requests} requests in {self.seconds:.1f} s = {self.rate:.0f}/s over "
            f"{self.connections} connections; p50 {self.percentile(0.5):.2f} ms, "
            f"p99 {self.percentile(0.99):.2f} ms; statuses {dict(sorted(self.statuses.items()))}"
            f"; connection errors {self.errors}"
        )


def run_load(
    base_url: str, bodies: Sequence[bytes], *, seconds: float, connections: int = 16
) -> LoadResult:
    """Post ``bodies`` (cycled) to ``base_url``/feedback for ``seconds`` on ``connections``."""
    return asyncio.run(_load(base_url, bodies, seconds, connections))


async def _load(
    base_url: str, bodies: Sequence[bytes], seconds: float, connections: int
) -> LoadResult:
    host_port = base_url.removeprefix("http://").rstrip("/")
    host, _, port = host_port.rpartition(":")
    result = LoadResult(seconds=seconds, connections=connections)
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(
            _connection(host.strip("[]"), int(port), host_port, bodies, i, deadline, result)
            for i in range(connections)
        )
    )
    result.seconds = time.perf_counter() - started
    return result


async def _connection(
    host: str,
    port: int,
    host_header: str,
    bodies: Sequence[bytes],
    offset: int,
    deadline: float,
    result: LoadResult,
) -> None:
    requests = [
        b"POST /feedback HTTP/1.1\r\nHost: " + host_header.encode() + b"\r\n"
        b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode()
        + b"\r\n\r\n" + body
        for body in bodies
    ]
    index = offset
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            request = requests[index % len(requests)]
            index += 17
            sent = time.perf_counter()
            writer.write(request)
            try:
                status = await _read_response(reader)
            except (ConnectionError, asyncio.IncompleteReadError):
                result.errors += 1
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            result.latencies_s.append(time.perf_counter() - sent)
            result.statuses[status] += 1
    finally:
        writer.close()


async def _read_response(reader: asyncio.StreamReader) -> int:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("closed")
    status = int(status_line.split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status
