"""The Phoenix bridge over real HTTP, against a small scripted server on 127.0.0.1.

Phoenix's own behaviour is covered by tests/e2e/test_bridge_phoenix.py; these tests pin the
bridge's side: 404 (span not ingested yet) is retried until it succeeds, a refusal (422) is
counted and not retried, an unreachable server is given up after ``max_wait`` and counted,
and none of it ever raises into the application or blocks ``export``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import otel_feedback as fb
from otel_feedback.bridges.phoenix import PhoenixAnnotationExporter, annotation, base_url
from otel_feedback.bridges.records import FeedbackRecord
from otel_feedback.cli import main as cli_main


class ScriptedPhoenix:
    """Answers POST /v1/span_annotations with the next status of ``statuses`` (then 200)."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.bodies: list[dict[str, Any]] = []
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                scripted.bodies.append(json.loads(self.rfile.read(length)))
                status = scripted.statuses.pop(0) if scripted.statuses else 200
                payload = {"data": [{"id": "1"}]} if status == 200 else {"detail": "no"}
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def scripted() -> Iterator[ScriptedPhoenix]:
    server = ScriptedPhoenix()
    yield server
    server.close()


def _record(name: str = "thumbs_up", span_id: str | None = "b" * 16) -> FeedbackRecord:
    return FeedbackRecord(
        feedback_id=name.ljust(32, "0")[:32],
        name=name,
        trace_id="a" * 32,
        span_id=span_id,
        score=0.0,
        label="false",
        explanation="wrong",
        source_type="LLM_JUDGE",
        source_id="judge",
        value=False,
    )


def test_annotation_body() -> None:
    body = annotation(_record())
    assert body["span_id"] == "b" * 16
    assert "trace_id" not in body
    assert body["annotator_kind"] == "LLM"
    assert body["identifier"] == body["metadata"]["feedback.id"]
    assert body["result"] == {"score": 0.0, "label": "false", "explanation": "wrong"}
    trace_level = annotation(_record(span_id=None))
    assert trace_level["trace_id"] == "a" * 32
    assert "span_id" not in trace_level


def test_base_url_accepts_the_otlp_url() -> None:
    assert base_url("http://127.0.0.1:6006/v1/traces") == "http://127.0.0.1:6006"
    assert base_url("http://127.0.0.1:6006/") == "http://127.0.0.1:6006"


def test_not_ingested_yet_is_retried_until_written(scripted: ScriptedPhoenix) -> None:
    scripted.statuses = [404, 404]
    bridge = PhoenixAnnotationExporter(scripted.url, max_wait=60)
    bridge._worker._first_backoff = 0.01  # keep the test fast; the policy is the same
    assert bridge.submit([_record()]) == 1
    assert bridge.force_flush(30_000)
    assert len(scripted.bodies) == 3
    assert bridge._worker.counts["delivered"] == 1
    assert "bridge_gave_up" not in fb.diagnostics()
    bridge.shutdown()


def test_one_missing_span_does_not_hold_back_the_batch(scripted: ScriptedPhoenix) -> None:
    # The batch is refused (404), then each record is tried alone: one 404, one 200.
    scripted.statuses = [404, 404]
    bridge = PhoenixAnnotationExporter(scripted.url, max_wait=60)
    bridge._worker._first_backoff = 0.01
    bridge.submit([_record("late"), _record("ready", span_id="c" * 16)])
    assert bridge.force_flush(30_000)
    sent = [[item["name"] for item in body["data"]] for body in scripted.bodies]
    assert sent[0] == ["late", "ready"]
    assert sent[1:3] == [["late"], ["ready"]]
    assert sent[3] == ["late"]
    assert bridge._worker.counts["delivered"] == 2
    bridge.shutdown()


def test_a_refusal_is_counted_and_not_retried(scripted: ScriptedPhoenix) -> None:
    scripted.statuses = [422]
    bridge = PhoenixAnnotationExporter(scripted.url, max_wait=60)
    bridge.submit([_record()])
    assert bridge.force_flush(30_000)
    assert len(scripted.bodies) == 1
    assert fb.diagnostics()["bridge_failed"] == 1
    bridge.shutdown()


def test_an_unreachable_phoenix_is_given_up_and_counted() -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        port = closed.server_address[1]
    bridge = PhoenixAnnotationExporter(f"http://127.0.0.1:{port}", max_wait=0.3)
    bridge._worker._first_backoff = 0.05
    bridge.submit([_record()])
    assert bridge.force_flush(30_000)
    assert fb.diagnostics()["bridge_gave_up"] == 1
    bridge.shutdown()


def test_records_after_shutdown_are_dropped_and_counted(scripted: ScriptedPhoenix) -> None:
    bridge = PhoenixAnnotationExporter(scripted.url)
    bridge.shutdown()
    assert bridge.submit([_record()]) == 0
    assert fb.diagnostics()["bridge_dropped"] == 1
    assert scripted.bodies == []


def test_resubmitting_a_written_record_is_a_no_op(scripted: ScriptedPhoenix) -> None:
    bridge = PhoenixAnnotationExporter(scripted.url)
    bridge.submit([_record()])
    assert bridge.force_flush(30_000)
    assert bridge.submit([_record()]) == 0
    assert len(scripted.bodies) == 1
    bridge.shutdown()


@pytest.mark.parametrize("store", ["http://127.0.0.1:6006", "phoenix://", "mlflow://x:1"])
def test_sync_rejects_what_is_not_a_phoenix_store(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["sync", store]) == 2
    assert "phoenix://HOST:PORT[/PROJECT]" in capsys.readouterr().out


def test_sync_reports_an_unreachable_phoenix(capsys: pytest.CaptureFixture[str]) -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        port = closed.server_address[1]
    assert cli_main(["sync", f"phoenix://127.0.0.1:{port}/p"]) == 1
    assert "could not read spans" in capsys.readouterr().out
