"""otel-feedback end to end: live, session, late and cross-process feedback read back from Phoenix.

Each test exports with the real OTLP exporters (gRPC and HTTP/protobuf) through
``FeedbackSpanProcessor`` + ``BatchSpanProcessor``, then reads the spans back through
Phoenix's REST API and checks attributes, events, the parent of every feedback span,
its place inside the rated span's lifetime, and Phoenix's session grouping.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from phoenix_backend import PhoenixServer

import otel_feedback as fb
from otel_feedback.conventions import RECORD_KEYS

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["grpc", "http"])
def provider(phoenix: PhoenixServer, request: pytest.FixtureRequest) -> Iterator[TracerProvider]:
    """A provider exporting to Phoenix over one OTLP protocol, with the feedback processor."""
    exporter = (
        GrpcSpanExporter(endpoint=phoenix.otlp_grpc_endpoint, insecure=True, timeout=10)
        if request.param == "grpc"
        else HttpSpanExporter(endpoint=phoenix.otlp_http_endpoint, timeout=10)
    )
    tracer_provider = TracerProvider(resource=Resource.create({"service.name": "e2e-feedback"}))
    tracer_provider.add_span_processor(fb.FeedbackSpanProcessor(tracer_provider=tracer_provider))
    tracer_provider.add_span_processor(BatchSpanProcessor(exporter))
    yield tracer_provider
    tracer_provider.shutdown()


def _hex_trace(span: Any) -> str:
    return format(span.get_span_context().trace_id, "032x")


def _hex_span(span: Any) -> str:
    return format(span.get_span_context().span_id, "016x")


def _by_name(spans: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for span in spans:
        grouped.setdefault(span["name"], []).append(span)
    return grouped


def _evaluation(span: dict[str, Any]) -> dict[str, Any]:
    [event] = [e for e in span["events"] if e["name"] == "gen_ai.evaluation.result"]
    attributes: dict[str, Any] = event["attributes"]
    return attributes


def test_live_session_and_late_feedback(phoenix: PhoenixServer, provider: TracerProvider) -> None:
    tracer = provider.get_tracer("e2e")
    session_id = f"e2e-{uuid.uuid4().hex[:10]}"
    with (
        fb.using_session(session_id, user_id="u-e2e"),
        tracer.start_as_current_span("chat") as chat,
        tracer.start_as_current_span("llm") as llm,
    ):
        with tracer.start_as_current_span("tool"):
            fb.enrich_session(feedback={"liked": True}, metadata={"channel": "web"})
        fb.enrich_span(
            feedback={
                "rating": 5,
                "step1": {"retry": True},
                "edits": [{"value": "NY"}],
                "tags": ["short", "right"],
            },
            metrics={"judge": {"relevance": 0.9}},
        )
        fb.log_feedback("copied", True, kind="implicit", source_id="web_ui")
        token = fb.current_feedback_token()
    fb.log_feedback(
        "user_rating",
        4,
        target=token,
        source="human",
        source_id="u-e2e",
        reason="helpful",
        label="good",
    )
    fb.log_feedback("coherence", 0.75, trace_id=_hex_trace(chat), source="LLM_JUDGE")
    provider.force_flush()

    trace_id = _hex_trace(chat)
    spans = _by_name(phoenix.wait_for_spans(trace_id=trace_id, count=5, timeout=60))
    [chat_span], [llm_span] = spans["chat"], spans["llm"]
    assert chat_span["attributes"]["feedback.liked"] is True
    assert chat_span["attributes"]["metadata.channel"] == "web"
    assert chat_span["attributes"]["session.id"] == session_id
    llm_attributes = llm_span["attributes"]
    assert llm_attributes["feedback.rating"] == 5
    assert llm_attributes["feedback.step1.retry"] is True
    assert llm_attributes["feedback.edits.0.value"] == "NY"
    assert llm_attributes["feedback.tags"] == ["short", "right"]
    assert llm_attributes["metrics.judge.relevance"] == 0.9
    assert llm_attributes["feedback.copied"] is True
    copied = _evaluation(llm_span)
    assert copied["feedback.kind"] == "implicit"
    assert copied["gen_ai.evaluation.score.value"] == 1.0

    late = {_evaluation(s)["gen_ai.evaluation.name"]: s for s in spans["feedback"]}
    rating, coherence = late["user_rating"], late["coherence"]
    assert rating["parent_id"] == _hex_span(llm)
    assert coherence["parent_id"] == _hex_span(chat)
    assert rating["attributes"]["feedback.user_rating"] == 4
    assert rating["attributes"]["session.id"] == session_id
    event = _evaluation(rating)
    assert event["gen_ai.evaluation.score.label"] == "good"
    assert event["gen_ai.evaluation.explanation"] == "helpful"
    assert event["feedback.source.type"] == "HUMAN"
    assert event["feedback.source.id"] == "u-e2e"
    assert len(event["feedback.id"]) == 32
    assert _evaluation(coherence)["feedback.source.type"] == "LLM_JUDGE"
    # Zero duration, inside the rated span: the trace's latency is unchanged.
    for span, parent in ((rating, llm_span), (coherence, chat_span)):
        assert span["start_time"] == span["end_time"]
        assert parent["start_time"] <= span["start_time"] <= parent["end_time"]

    session = phoenix.session(session_id)
    assert session is not None
    assert [t["trace_id"] for t in session["traces"]] == [trace_id]


def test_feedback_from_another_process(phoenix: PhoenixServer, provider: TracerProvider) -> None:
    tracer = provider.get_tracer("e2e")
    with fb.using_session(f"e2e-x-{uuid.uuid4().hex[:8]}"), tracer.start_as_current_span("answer"):
        token = fb.current_feedback_token()
        time.sleep(0.01)
    provider.force_flush()
    assert token is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf", OTEL_EXPORTER_OTLP_ENDPOINT=phoenix.base_url
    )
    frontend = (
        "import sys, otel_feedback as fb\n"
        "p = fb.configure(service_name='e2e-frontend')\n"
        "fb.log_feedback('thumbs_up', False, target=sys.argv[1], reason='too slow')\n"
        "fb.log_feedback('correction', {'city': 'Lyon', 'scores': [1, 2]}, target=sys.argv[1])\n"
        "p.shutdown()\n"
    )
    subprocess.run([sys.executable, "-c", frontend, token], env=env, check=True, timeout=120)

    parsed = fb.parse_feedback_token(token)
    spans = _by_name(phoenix.wait_for_spans(trace_id=parsed.trace_id_hex, count=3, timeout=60))
    [answer] = spans["answer"]
    late = {_evaluation(s)["gen_ai.evaluation.name"]: s for s in spans["feedback"]}
    assert set(late) == {"thumbs_up", "correction"}
    for span in late.values():
        assert span["parent_id"] == parsed.span_id_hex == answer["context"]["span_id"]
        assert answer["start_time"] <= span["start_time"] <= answer["end_time"]
    thumbs = _evaluation(late["thumbs_up"])
    assert thumbs["gen_ai.evaluation.score.value"] == 0.0
    assert thumbs["gen_ai.evaluation.score.label"] == "false"
    assert late["correction"]["attributes"]["feedback.correction.city"] == "Lyon"
    assert late["correction"]["attributes"]["feedback.correction.scores"] == [1, 2]
    attributes = late["correction"]["attributes"]
    fields = {key: value for key, value in attributes.items() if key not in RECORD_KEYS}
    assert fb.unflatten(fields, prefix="feedback") == {
        "correction": {"city": "Lyon", "scores": [1, 2]}
    }
    assert attributes["feedback.source.type"] == "HUMAN"
    assert attributes["gen_ai.evaluation.name"] == "correction"


def test_demo_app_reads_feedback_back(phoenix: PhoenixServer) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        OTEL_EXPORTER_OTLP_ENDPOINT=phoenix.base_url,
        PHOENIX_BASE_URL=phoenix.base_url,
    )
    result = subprocess.run(
        [sys.executable, str(REPO / "examples" / "demo_app.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 of them late feedback spans" in result.stdout
    assert "feedback.rating=5" in result.stdout
    assert 'feedback.corrections.0.value="Lyon"' in result.stdout
    assert "event regenerated=True (implicit, HUMAN)" in result.stdout
    # The demo ends with its feedback as numbers per model, and a chart.
    assert "Feedback as numbers" in result.stdout
    assert "demo-model-1" in result.stdout
    assert "feedback.thumbs_up" in result.stdout
    assert (REPO / ".demo" / "feedback-stats.png").stat().st_size > 0
