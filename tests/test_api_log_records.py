"""Feedback as OTel log records (``emit_log_records=True``), decoded from the wire."""

from __future__ import annotations

import pytest
from helpers_wire import PROTOCOLS, Proto, WireFactory, hex_ids

import otel_feedback as fb


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_log_record_for_live_and_late_feedback(wires: WireFactory, protocol: Proto) -> None:
    wire = wires(protocol, emit_log_records=True)
    with wire.tracer.start_as_current_span("chat") as span:
        live_id = fb.log_feedback("thumbs_up", True, source_id="web_ui", reason="nice")
        token = fb.current_feedback_token()
    late_id = fb.log_feedback("rating", {"stars": 3}, target=token, label="ok")
    trace_id, span_id = hex_ids(span)
    records = {
        record.attributes["feedback.id"]: record
        for record in wire.receiver.wait_for_logs(2, timeout=20)
    }
    assert set(records) == {live_id, late_id}
    for record in records.values():
        assert record.event_name == "gen_ai.evaluation.result"
        assert record.trace_id == trace_id
        assert record.span_id == span_id, "the log record is parented to the rated span"
        assert record.scope_name == "otel_feedback"
        assert record.protocol == protocol
    live = records[live_id].attributes
    assert live["gen_ai.evaluation.name"] == "thumbs_up"
    assert live["gen_ai.evaluation.score.value"] == 1.0
    assert live["gen_ai.evaluation.score.label"] == "true"
    assert live["gen_ai.evaluation.explanation"] == "nice"
    assert live["feedback.source.type"] == "HUMAN"
    assert live["feedback.source.id"] == "web_ui"
    assert live["feedback.kind"] == "explicit"
    assert live["feedback.thumbs_up"] is True
    assert "feedback.timestamp" in live
    late = records[late_id].attributes
    assert late["gen_ai.evaluation.name"] == "rating"
    assert late["gen_ai.evaluation.score.label"] == "ok"
    assert late["feedback.value.stars"] == 3
    assert late["feedback.rating.stars"] == 3
    chat = wire.one("chat")
    late_record = records[late_id]
    assert chat.start_time_unix_nano <= late_record.time_unix_nano <= chat.end_time_unix_nano
    assert late_record.observed_time_unix_nano >= late_record.time_unix_nano


def test_no_log_records_by_default(wires: WireFactory) -> None:
    wire = wires("grpc")
    with wire.tracer.start_as_current_span("chat"):
        fb.log_feedback("rating", 1)
    wire.one("chat")
    assert wire.receiver.logs == []
    assert wire.receiver.export_count(signal="logs") == 0


def test_enrich_span_emits_no_log_record(wires: WireFactory) -> None:
    wire = wires("grpc", emit_log_records=True)
    with wire.tracer.start_as_current_span("chat"):
        fb.enrich_span(feedback={"x": 1})
        fb.log_feedback("rating", 1)
    [record] = wire.receiver.wait_for_logs(1, timeout=20)
    assert record.attributes["gen_ai.evaluation.name"] == "rating"
    # SimpleLogRecordProcessor exports synchronously: nothing else is on its way.
    assert len(wire.receiver.logs) == 1
