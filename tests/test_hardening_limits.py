"""Size limits: bytes per value, bytes per record, keys per call (README, Configuration).

What exceeds them is truncated or refused, logged and counted, so one oversized call never
breaks an export batch (gRPC refuses messages over 4 MiB by default) nor floods the export
queue with spill-over ``feedback`` spans.
"""

from __future__ import annotations

import logging

import pytest
from helpers_wire import Wire, WireFactory
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import otel_feedback as fb
from otel_feedback.errors import FlattenError, InvalidFeedbackError

KIB = 1024
GRPC_DEFAULT_MAX_MESSAGE = 4 * KIB * KIB


def set_limits(monkeypatch: pytest.MonkeyPatch, **values: int) -> None:
    for name, value in values.items():
        monkeypatch.setenv(f"OTEL_FEEDBACK_{name.upper()}", str(value))
    fb.reload_settings()


def test_defaults_are_documented_values() -> None:
    settings = fb.get_settings()
    assert settings.max_value_bytes == 64 * KIB
    assert settings.max_record_bytes == 256 * KIB
    assert settings.max_keys == 1000


def test_a_5_mb_value_does_not_break_the_batch_of_200_other_records(
    wires: WireFactory, caplog: pytest.LogCaptureFixture
) -> None:
    wire = wires("grpc", batch=True)
    recorder = InMemorySpanExporter()
    wire.provider.add_span_processor(SimpleSpanProcessor(recorder))
    tracer = wire.tracer
    with tracer.start_as_current_span("big"):
        assert fb.log_feedback("comment", "x" * 5_000_000, reason="y" * 5_000_000) is not None
    for index in range(200):
        with tracer.start_as_current_span(f"other-{index}"):
            fb.log_feedback("rating", index)
    wire.provider.force_flush()
    spans = recorder.get_finished_spans()
    assert len(spans) == 201
    size = len(encode_spans(spans).SerializeToString())
    assert size < GRPC_DEFAULT_MAX_MESSAGE
    received = wire.wait(201)
    assert len(received) == 201
    big = wire.receiver.span_by_name("big")
    assert big.attributes["feedback.comment"] == "x" * (64 * KIB)
    event = big.events_named(fb.EVENT_NAME)[0].attributes
    assert event["gen_ai.evaluation.explanation"] == "y" * (64 * KIB)
    counts = fb.diagnostics()
    assert counts == {"value_too_large": 1, "truncated_text": 1}
    assert any("OTEL_FEEDBACK_MAX_VALUE_BYTES" in message for message in caplog.messages)


def test_100000_keys_in_one_call_are_cut_to_max_keys(grpc_wire: Wire) -> None:
    """OTel keeps 128 attributes per span: 1,000 keys spill onto 7 feedback spans at most."""
    with grpc_wire.tracer.start_as_current_span("host"):
        fb.enrich_span(feedback={f"k{index}": index for index in range(100_000)})
    host = grpc_wire.one("host")
    spill = grpc_wire.receiver.spans_named(fb.FEEDBACK_SPAN_NAME)
    assert len(spill) <= 8
    kept = {**host.attributes}
    for span in spill:
        kept.update(span.attributes)
    feedback_keys = {key for key in kept if key.startswith("feedback.k")}
    assert feedback_keys == {f"feedback.k{index}" for index in range(1000)}
    counts = fb.diagnostics()
    assert counts["record_too_large"] == 1
    assert "internal_error" not in counts


def test_record_bytes_refuse_the_values_past_the_limit(
    grpc_wire: Wire, caplog: pytest.LogCaptureFixture
) -> None:
    """Ten values of 60 KiB: four fit in 256 KiB, the rest are refused (reported)."""
    value = {f"v{index}": "z" * (60 * KIB) for index in range(10)}
    with grpc_wire.tracer.start_as_current_span("host"):
        fb.enrich_span(metadata=value)
    host = grpc_wire.one("host")
    kept = sorted(key for key in host.attributes if key.startswith("metadata."))
    assert kept == [f"metadata.v{index}" for index in range(4)]
    assert fb.diagnostics() == {"record_too_large": 1}
    message = next(m for m in caplog.messages if m.startswith("record_too_large"))
    assert "kept the first 4, refused 6" in message
    with grpc_wire.tracer.start_as_current_span("strict"), pytest.raises(InvalidFeedbackError):
        fb.enrich_span(metadata=value, strict=True)


def test_log_feedback_keeps_its_record_fields_when_metadata_is_too_large(
    grpc_wire: Wire,
) -> None:
    with grpc_wire.tracer.start_as_current_span("host"):
        feedback_id = fb.log_feedback(
            "rating", 4, reason="ok", metadata={f"m{index}": index for index in range(5000)}
        )
    assert feedback_id is not None
    event = grpc_wire.one("host").events_named(fb.EVENT_NAME)[0].attributes
    assert event["gen_ai.evaluation.name"] == "rating"
    assert event["gen_ai.evaluation.explanation"] == "ok"
    assert event["feedback.id"] == feedback_id
    assert fb.diagnostics()["record_too_large"] == 1


def test_limits_come_from_the_environment(
    grpc_wire: Wire, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_limits(monkeypatch, max_value_bytes=10, max_keys=3, max_record_bytes=10_000)
    with grpc_wire.tracer.start_as_current_span("host"):
        fb.enrich_span(feedback={"a": "é" * 20, "b": 1, "c": 2, "d": 3})
    host = grpc_wire.one("host")
    assert host.attributes["feedback.a"] == "é" * 5  # 10 bytes, cut at a character boundary
    assert "feedback.d" not in host.attributes
    assert fb.diagnostics() == {"value_too_large": 1, "record_too_large": 1}


@pytest.mark.parametrize("name", ["MAX_VALUE_BYTES", "MAX_RECORD_BYTES", "MAX_KEYS"])
@pytest.mark.parametrize("raw", ["0", "-5", "lots", "1.5"])
def test_invalid_limit_settings_keep_the_default(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, name: str, raw: str
) -> None:
    monkeypatch.setenv(f"OTEL_FEEDBACK_{name}", raw)
    with caplog.at_level(logging.WARNING, "otel_feedback"):
        settings = fb.reload_settings()
    assert getattr(settings, name.lower()) == getattr(fb.Settings(), name.lower())
    assert any(f"OTEL_FEEDBACK_{name}" in message for message in caplog.messages)


def test_arrays_count_towards_the_value_limit() -> None:
    out = fb.flatten({"ints": list(range(100_000)), "strs": ["ab"] * 40_000}, prefix="f")
    assert out["f.ints"] == tuple(range(8192))  # 8 bytes a number
    assert out["f.strs"] == ("ab",) * (32 * KIB)
    assert fb.diagnostics() == {"value_too_large": 2}
    with pytest.raises(FlattenError):
        fb.flatten({"ints": list(range(100_000))}, strict=True)


def test_keys_longer_than_the_value_limit_are_dropped() -> None:
    out = fb.flatten({"k" * (64 * KIB + 1): 1, "ok": 2}, prefix="f")
    assert out == {"f.ok": 2}
    assert fb.diagnostics() == {"invalid_key": 1}


def test_a_value_of_exactly_the_limit_is_kept_whole() -> None:
    exact = "é" * (32 * KIB)  # 65,536 bytes
    assert fb.flatten({"v": exact}, prefix="f") == {"f.v": exact}
    cut = fb.flatten({"v": exact + "a"}, prefix="f")["f.v"]
    assert cut == exact
    assert fb.diagnostics() == {"value_too_large": 1}


def test_json_kept_beyond_the_depth_limit_is_cut_too() -> None:
    deep = {"a": {"b": {"c": {"d": {"e": {"f": {"g": "x" * 70_000}}}}}}}
    out = fb.flatten(deep, prefix="f")
    text = out["f.a.b.c.d.e.f"]
    assert isinstance(text, str)
    assert len(text) == 64 * KIB
    assert text.startswith('{"g":"xxx')
    assert fb.diagnostics() == {"value_too_large": 1, "depth_limit": 1}
