"""The durable outbox (DESIGN.md §11), proven over the wire: outages, kills, restarts, a full
or corrupt file, and two processes sharing one file lose no feedback record."""

from __future__ import annotations

import json
import logging
import signal
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from helpers_outbox import LOG_AND_WAIT, TcpGate, child_env, feedback_ids, run_flush, start_child
from helpers_wire import WireFactory
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

import otel_feedback as fb
from otel_feedback import outbox as durable
from otel_feedback.reporting import strict_mode
from otel_feedback.testing import OTLPReceiver


@pytest.fixture(autouse=True)
def _close_outboxes() -> Iterator[None]:
    yield
    durable.close()


def make_outbox(path: Path, endpoint: str, **options: object) -> fb.Outbox:
    """An outbox exporting over OTLP/HTTP to ``endpoint``, with quick retries."""
    exporter = OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces", timeout=1)
    settings: dict[str, object] = {
        "retry_initial_seconds": 0.1,
        "retry_max_seconds": 0.5,
        "poll_seconds": 0.2,
        **options,
    }
    return fb.Outbox(path, exporter, **settings)  # type: ignore[arg-type]


def token_of(provider: TracerProvider) -> str:
    with provider.get_tracer("tests").start_as_current_span("answer"):
        token = fb.current_feedback_token()
    assert token is not None
    return token


# -- outage -------------------------------------------------------------------------------------


def test_records_logged_during_an_outage_all_arrive(
    wires: WireFactory, otlp_receiver: OTLPReceiver, tmp_path: Path
) -> None:
    wire = wires("http")
    gate = TcpGate(otlp_receiver.http_port)  # the collector is down: connections are refused
    box = durable.install(make_outbox(tmp_path / "outbox.sqlite", gate.url))
    assert box is not None
    token = token_of(wire.provider)
    ids = [fb.log_feedback("rating", i % 5, target=token) for i in range(1000)]
    assert None not in ids
    assert len(set(ids)) == 1000
    time.sleep(3)  # the outage lasts a while; the sender keeps trying
    assert feedback_ids(otlp_receiver) == []
    assert box.pending() == 1000
    assert fb.diagnostics().get("outbox_export_failed", 0) >= 1
    gate.open()  # the collector is back, on the same address
    try:
        result = fb.flush(60)
    finally:
        gate.close()
    assert result.pending == 0
    assert result.sent == 1000
    assert set(feedback_ids(otlp_receiver)) == set(ids)


def test_refused_exports_are_retried_until_accepted(
    wires: WireFactory, otlp_receiver: OTLPReceiver, tmp_path: Path
) -> None:
    wire = wires("http")
    token = token_of(wire.provider)
    wire.one("answer")
    otlp_receiver.fail_next(3, http_status=400)  # not retryable by the exporter itself
    durable.install(make_outbox(tmp_path / "outbox.sqlite", otlp_receiver.http_endpoint))
    ids = [fb.log_feedback("thumbs_up", True, target=token) for _ in range(50)]
    assert fb.flush(30).pending == 0
    assert sorted(feedback_ids(otlp_receiver)) == sorted(ids)  # every one, once
    assert otlp_receiver.rejected_count() == 3
    assert fb.diagnostics()["outbox_export_failed"] == 3


class RefusesOne(SpanExporter):
    """Exports through ``inner``, except that any batch holding ``refused`` fails (as a
    collector refusing one record it finds invalid)."""

    def __init__(self, inner: SpanExporter, refused: str) -> None:
        self.inner = inner
        self.refused = refused

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if any((span.attributes or {}).get("feedback.id") == self.refused for span in spans):
            return SpanExportResult.FAILURE
        return self.inner.export(spans)

    def shutdown(self) -> None:
        self.inner.shutdown()


def test_a_record_refused_for_good_does_not_hold_back_the_others(
    wires: WireFactory, otlp_receiver: OTLPReceiver, tmp_path: Path
) -> None:
    wire = wires("http")
    token = token_of(wire.provider)
    path = tmp_path / "outbox.sqlite"
    down = TcpGate(otlp_receiver.http_port)
    box = durable.install(make_outbox(path, down.url))  # store them first, all together
    assert box is not None
    ids = [fb.log_feedback("rating", 1, target=token) for _ in range(40)]
    box.close()
    exporter = OTLPSpanExporter(endpoint=otlp_receiver.http_traces_endpoint, timeout=1)
    box = durable.install(
        fb.Outbox(path, RefusesOne(exporter, ids[0]), retry_initial_seconds=0.05,
                  retry_max_seconds=0.2, poll_seconds=0.2)
    )
    assert box is not None
    otlp_receiver.wait_for_spans(39, timeout=30, predicate=lambda span: span.name == "feedback")
    assert sorted(feedback_ids(otlp_receiver)) == sorted(ids[1:])
    deadline = time.monotonic() + 30
    while box.pending() != 1 and time.monotonic() < deadline:  # deleted once confirmed
        time.sleep(0.05)
    assert box.pending() == 1  # the refused one stays, retried; it is never dropped
    assert fb.diagnostics()["outbox_export_failed"] >= 1


def test_feedback_on_a_whole_trace_goes_through_the_outbox(
    otlp_receiver: OTLPReceiver, tmp_path: Path
) -> None:
    durable.install(make_outbox(tmp_path / "outbox.sqlite", otlp_receiver.http_endpoint))
    trace_id = "5b8efff798038103d269b633813fc60c"
    feedback_id = fb.log_feedback("coherence", 0.5, trace_id=trace_id)
    assert fb.flush(30).pending == 0
    [span] = otlp_receiver.spans
    assert (span.name, span.trace_id, span.parent_span_id) == ("feedback", trace_id, None)
    assert span.attributes["feedback.id"] == feedback_id
    assert span.attributes["feedback.coherence"] == 0.5


# -- crashes ------------------------------------------------------------------------------------

RESTART = """
import time
import otel_feedback as fb

fb.configure()
time.sleep(60)
"""

GRACEFUL = """
import signal, sys
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # what servers do: exit cleanly
"""


@pytest.mark.parametrize(
    ("how", "stop"),
    [
        ("SIGKILL", signal.SIGKILL),
        ("SIGTERM", signal.SIGTERM),
        ("SIGTERM, exiting cleanly", signal.SIGTERM),
    ],
)
def test_a_killed_process_loses_nothing(
    otlp_receiver: OTLPReceiver, tmp_path: Path, how: str, stop: signal.Signals
) -> None:
    path = tmp_path / "outbox.sqlite"
    down = TcpGate(otlp_receiver.http_port)  # never opened: the child's collector is down
    code = (GRACEFUL if "cleanly" in how else "") + LOG_AND_WAIT
    child = start_child(code, child_env(path, down.url, N="500"))
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line, child.communicate(timeout=30)[1]
    time.sleep(0.05)  # 50 ms after the last log_feedback returned
    child.send_signal(stop)
    returncode = child.wait(timeout=30)  # it stops promptly
    assert returncode == (0 if "cleanly" in how else -stop)
    logged = json.loads(line)
    # Its collector is down: failed exports, but no record refused or sent around the outbox.
    assert set(logged["diagnostics"]) <= {"export_failed", "outbox_export_failed"}
    ids = logged["ids"]
    assert len(set(ids)) == 500
    if stop is signal.SIGKILL:
        # The next start: configure() opens the outbox and sends what it holds.
        restarted = start_child(RESTART, child_env(path, otlp_receiver.http_endpoint))
        try:
            otlp_receiver.wait_for_spans(
                500, timeout=60, predicate=lambda span: span.name == "feedback"
            )
        finally:
            restarted.kill()
            restarted.wait(timeout=30)
    else:
        result = run_flush(path, otlp_receiver)  # the next process to open the outbox
        assert result["pending"] == 0
        assert result["diagnostics"] == {}
    assert set(feedback_ids(otlp_receiver)) == set(ids)


CRASH_AFTER_EXPORT = """
import json, os, signal, time
from opentelemetry.sdk.trace.export import SpanExporter
import otel_feedback as fb
from otel_feedback.configure import otlp_span_exporter

class CrashAfterExport(SpanExporter):
    def __init__(self):
        self.inner = otlp_span_exporter()
    def export(self, spans):
        result = self.inner.export(spans)
        print(json.dumps({"exported": len(spans), "result": result.name}), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # between the export and the delete

box = fb.Outbox(os.environ["OTEL_FEEDBACK_OUTBOX"], CrashAfterExport(), linger_seconds=1.0)
provider = fb.configure(outbox=box)
with provider.get_tracer("child").start_as_current_span("answer"):
    token = fb.current_feedback_token()
ids = [fb.log_feedback("rating", 1, target=token) for _ in range(20)]
print(json.dumps({"ids": ids}), flush=True)
time.sleep(60)
"""


def test_a_resend_after_a_crash_is_the_same_span(
    otlp_receiver: OTLPReceiver, tmp_path: Path
) -> None:
    path = tmp_path / "outbox.sqlite"
    child = start_child(CRASH_AFTER_EXPORT, child_env(path, otlp_receiver.http_endpoint))
    out, err = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL, err
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    ids = lines[0]["ids"]
    assert lines[1] == {"exported": 20, "result": "SUCCESS"}
    first = {
        span.attributes["feedback.id"]: span
        for span in otlp_receiver.spans
        if span.name == "feedback"
    }
    assert set(first) == set(ids)
    assert run_flush(path, otlp_receiver)["pending"] == 0
    received = [span for span in otlp_receiver.spans if span.name == "feedback"]
    assert Counter(span.attributes["feedback.id"] for span in received) == dict.fromkeys(ids, 2)
    for span in received:  # the duplicate is the same span: a backend drops it by id
        original = first[span.attributes["feedback.id"]]
        assert (span.trace_id, span.span_id, span.parent_span_id) == (
            original.trace_id,
            original.span_id,
            original.parent_span_id,
        )
        assert span.start_time_unix_nano == original.start_time_unix_nano
        assert span.attributes == original.attributes
        assert span.events == original.events
        assert span.links == original.links
        assert span.resource_attributes == original.resource_attributes


# -- without the outbox -------------------------------------------------------------------------


def test_without_outbox_export_failures_are_counted_and_logged(
    otlp_receiver: OTLPReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    otlp_receiver.fail_next(100, http_status=400)
    exporter = OTLPSpanExporter(endpoint=otlp_receiver.http_traces_endpoint, timeout=2)
    provider = fb.configure(set_global=False, exporter=exporter)
    try:
        token = token_of(provider)
        with caplog.at_level(logging.WARNING, logger="otel_feedback"):
            assert fb.log_feedback("rating", 1, target=token) is not None
            provider.force_flush()
    finally:
        provider.shutdown()
    assert fb.diagnostics()["export_failed"] == 2  # the answer span and the feedback span
    assert "could not be exported" in caplog.text
    assert otlp_receiver.spans == []


# -- the size bound -----------------------------------------------------------------------------


def test_a_full_outbox_refuses_loudly_and_sends_directly(
    wires: WireFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    wire = wires("http")
    down = TcpGate(wire.receiver.http_port)  # the outbox's collector is down: it fills up
    box = durable.install(make_outbox(tmp_path / "outbox.sqlite", down.url, max_records=5))
    assert box is not None
    token = token_of(wire.provider)
    stored = [fb.log_feedback("rating", 3, target=token) for _ in range(5)]
    assert box.pending() == 5
    with caplog.at_level(logging.WARNING, logger="otel_feedback"):
        refused = fb.log_feedback("rating", 2, target=token)
    assert refused is not None
    assert fb.diagnostics() == {"outbox_full": 1, "outbox_fallback": 1} | {
        key: value for key, value in fb.diagnostics().items() if key == "outbox_export_failed"
    }
    assert "is full" in caplog.text
    assert refused in caplog.text
    # Refused by the outbox, not dropped: it went out directly through the provider.
    assert wire.one("feedback").attributes["feedback.id"] == refused
    with pytest.raises(fb.OutboxFullError):
        fb.log_feedback("rating", 2, target=token, strict=True)
    assert box.pending() == 5
    assert set(stored).isdisjoint({refused})


def test_the_byte_bound(wires: WireFactory, tmp_path: Path) -> None:
    wire = wires("http")
    down = TcpGate(wire.receiver.http_port)
    box = durable.install(make_outbox(tmp_path / "outbox.sqlite", down.url, max_bytes=2500))
    assert box is not None
    token = token_of(wire.provider)
    fb.log_feedback("comment", "fine", target=token)
    assert box.pending() == 1
    fb.log_feedback("comment", "x" * 2000, target=token)
    assert box.pending() == 1
    assert fb.diagnostics()["outbox_full"] == 1


# -- corrupt or unusable files ------------------------------------------------------------------


def test_a_corrupt_file_is_moved_aside(
    wires: WireFactory, otlp_receiver: OTLPReceiver, tmp_path: Path
) -> None:
    wire = wires("http")
    path = tmp_path / "outbox.sqlite"
    garbage = b"this is not a SQLite database\n" * 200
    path.write_bytes(garbage)
    box = durable.install(make_outbox(path, otlp_receiver.http_endpoint))
    assert box is not None
    [aside] = tmp_path.glob("outbox.sqlite.corrupt-*")
    assert aside.read_bytes() == garbage  # kept for inspection, not deleted
    assert fb.diagnostics() == {"outbox_corrupt": 1}
    feedback_id = fb.log_feedback("rating", 5, target=token_of(wire.provider))
    assert fb.flush(30).pending == 0
    assert feedback_ids(otlp_receiver) == [feedback_id]


def test_an_unusable_path_falls_back_to_direct_export(
    wires: WireFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wire = wires("http")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("OTEL_FEEDBACK_OUTBOX", str(blocker / "outbox.sqlite"))
    fb.reload_settings()
    token = token_of(wire.provider)
    with caplog.at_level(logging.WARNING, logger="otel_feedback"):
        first = fb.log_feedback("rating", 4, target=token)
        second = fb.log_feedback("rating", 5, target=token)
    assert "cannot use the outbox" in caplog.text
    assert str(blocker) in caplog.text
    assert fb.diagnostics() == {"outbox_unavailable": 1, "outbox_fallback": 2}
    wire.wait_named("feedback", 2)
    assert sorted(feedback_ids(wire.receiver)) == sorted([first, second])
    with strict_mode(True), pytest.raises(fb.OutboxError, match="cannot use the outbox"):
        durable.install(tmp_path)  # a directory


def test_an_unreadable_record_is_set_aside(
    wires: WireFactory, otlp_receiver: OTLPReceiver, tmp_path: Path
) -> None:
    wire = wires("http")
    path = tmp_path / "outbox.sqlite"
    down = TcpGate(otlp_receiver.http_port)
    box = durable.install(make_outbox(path, down.url))
    assert box is not None
    good = fb.log_feedback("rating", 1, target=token_of(wire.provider))
    box.close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO outbox (data, created_ns) VALUES (?, 0)", (b"{not json",))
    durable.install(make_outbox(path, otlp_receiver.http_endpoint))
    assert fb.flush(30).pending == 0
    assert feedback_ids(otlp_receiver) == [good]
    assert fb.diagnostics()["outbox_unreadable"] == 1
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT data FROM outbox_unreadable").fetchall() == [(b"{not json",)]


# -- sharing ------------------------------------------------------------------------------------

LOG_AND_FLUSH = """
import json, os
import otel_feedback as fb

provider = fb.configure()
with provider.get_tracer("child").start_as_current_span("answer"):
    token = fb.current_feedback_token()
ids = [fb.log_feedback("rating", 2, target=token) for _ in range(int(os.environ["N"]))]
result = fb.flush(60)
print(json.dumps({"ids": ids, "pending": result.pending, "diagnostics": fb.diagnostics()}))
"""


class Stuck(SpanExporter):
    """An export that hangs until released (a collector that accepted the connection and
    never answered), then reports success."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.entered.set()
        self.release.wait(30)
        return SpanExportResult.SUCCESS


def test_an_expired_lease_is_taken_over(
    wires: WireFactory, otlp_receiver: OTLPReceiver, tmp_path: Path
) -> None:
    wire = wires("http")
    token = token_of(wire.provider)
    path = tmp_path / "outbox.sqlite"
    stuck = Stuck()
    first = fb.Outbox(path, stuck, lease_seconds=0.5, poll_seconds=0.1)
    durable.install(first)
    ids = [fb.log_feedback("rating", 3, target=token) for _ in range(30)]
    assert first.flush(0).pending == 30
    assert stuck.entered.wait(30)  # the first sender holds every row, and hangs
    second = make_outbox(path, otlp_receiver.http_endpoint, lease_seconds=0.5)
    try:
        assert second.flush(30).pending == 0  # it took the rows over once the lease expired
    finally:
        stuck.release.set()
    assert sorted(feedback_ids(otlp_receiver)) == sorted(ids)
    first.close()
    second.close()


def test_two_processes_share_one_outbox(otlp_receiver: OTLPReceiver, tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    env = child_env(path, otlp_receiver.http_endpoint, N="300")
    children = [start_child(LOG_AND_FLUSH, env) for _ in range(2)]
    results = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    ids = {feedback_id for result in results for feedback_id in result["ids"]}
    assert len(ids) == 600
    for result in results:  # export failures are retried (a loaded machine times some out)
        assert set(result["diagnostics"]) <= {"outbox_export_failed", "export_failed"}, result
    assert all(result["pending"] == 0 for result in results)
    assert set(feedback_ids(otlp_receiver)) == ids
