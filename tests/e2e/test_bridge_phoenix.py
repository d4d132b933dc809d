"""The Phoenix bridge against a real Phoenix: each feedback once, as a native annotation.

Spans go to Phoenix over OTLP/gRPC; the bridge writes annotations through Phoenix's REST API
(via arize-phoenix-client). Read back with ``GET /v1/projects/<p>/span_annotations`` and
``.../trace_annotations``: the right span, name, score, label, explanation, annotator kind
and identifier, exactly once even after resends and a ``sync``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from bridge_scenario import rate_a_chat
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from phoenix_backend import PhoenixServer

import otel_feedback as fb
from otel_feedback.bridges.phoenix import PhoenixAnnotationExporter
from otel_feedback.cli import main as cli_main

pytestmark = pytest.mark.e2e


class Rig:
    """A provider exporting to Phoenix over OTLP, with the bridge and an in-memory copy."""

    def __init__(self, phoenix: PhoenixServer, project: str) -> None:
        self.provider = TracerProvider(
            resource=Resource.create(
                {"service.name": "bridge-e2e", "openinference.project.name": project}
            )
        )
        self.provider.add_span_processor(fb.FeedbackSpanProcessor(tracer_provider=self.provider))
        otlp = OTLPSpanExporter(endpoint=phoenix.otlp_grpc_endpoint, insecure=True, timeout=10)
        self.provider.add_span_processor(BatchSpanProcessor(otlp))
        self.bridge = PhoenixAnnotationExporter(phoenix.base_url, project=project)
        self.provider.add_span_processor(BatchSpanProcessor(self.bridge))
        self.memory = InMemorySpanExporter()
        self.provider.add_span_processor(SimpleSpanProcessor(self.memory))
        self.tracer = self.provider.get_tracer("bridge-e2e")

    def flush(self) -> None:
        assert self.provider.force_flush(60_000)
        assert self.bridge.force_flush(60_000)

    def spans(self) -> tuple[ReadableSpan, ...]:
        return self.memory.get_finished_spans()


@pytest.fixture
def project() -> str:
    return f"bridge-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def rig(phoenix: PhoenixServer, project: str) -> Iterator[Rig]:
    made = Rig(phoenix, project)
    yield made
    made.provider.shutdown()


def _span_annotations(phoenix: PhoenixServer, project: str, *span_ids: str) -> list[dict[str, Any]]:
    answer = phoenix.get_json(
        f"/v1/projects/{project}/span_annotations", {"span_ids": list(span_ids), "limit": 1000}
    )
    return list(answer["data"])


def _trace_annotations(phoenix: PhoenixServer, project: str, trace_id: str) -> list[dict[str, Any]]:
    answer = phoenix.get_json(
        f"/v1/projects/{project}/trace_annotations", {"trace_ids": [trace_id], "limit": 1000}
    )
    return list(answer["data"])


def _hex(span: Any) -> tuple[str, str]:
    context = span.get_span_context()
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"


def _ours(annotations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only what the bridge wrote (Phoenix may add its own annotations, e.g. notes)."""
    return [a for a in annotations if (a.get("metadata") or {}).get("feedback.id")]


def test_live_and_late_feedback_become_span_annotations_once(
    phoenix: PhoenixServer, rig: Rig, project: str
) -> None:
    rated = rate_a_chat(rig.tracer)
    chat_id, llm_id = rated.chat_id, rated.llm_id
    rig.flush()

    on_chat = _ours(_span_annotations(phoenix, project, chat_id))
    on_llm = _ours(_span_annotations(phoenix, project, llm_id))
    assert [a["name"] for a in on_chat] == ["thumbs_up"]
    [thumbs] = on_chat
    assert thumbs["span_id"] == chat_id
    assert thumbs["annotator_kind"] == "HUMAN"
    assert thumbs["result"] == {"score": 0.0, "label": "false", "explanation": "wrong city"}
    assert thumbs["identifier"] == thumbs["metadata"]["feedback.id"]
    assert thumbs["metadata"]["feedback.source.id"] == "web_ui"

    by_name = {a["name"]: a for a in on_llm}
    assert sorted(by_name) == ["correctness", "user_rating"]
    assert len(on_llm) == 2
    rating, judge = by_name["user_rating"], by_name["correctness"]
    assert rating["annotator_kind"] == "HUMAN"
    assert rating["result"]["score"] == 4.0
    assert rating["result"]["explanation"] == "helpful"
    assert judge["annotator_kind"] == "LLM"
    assert judge["result"] == {
        "score": 0.25,
        "label": "incorrect",
        "explanation": "the answer names Lyon",
    }
    assert judge["metadata"]["feedback.source.type"] == "LLM_JUDGE"

    # Resend everything: again through the same bridge, and through a fresh one that has no
    # memory of what was written. Phoenix upserts by identifier = feedback.id.
    spans = rig.spans()
    rig.bridge.export(spans)
    fresh = PhoenixAnnotationExporter(phoenix.base_url, project=project)
    fresh.export(spans)
    assert fresh.force_flush(60_000)
    fresh.shutdown()
    rig.flush()
    again = _ours(_span_annotations(phoenix, project, chat_id, llm_id))
    assert sorted(a["name"] for a in again) == ["correctness", "thumbs_up", "user_rating"]
    assert {a["id"] for a in again} == {a["id"] for a in on_chat + on_llm}


def test_feedback_on_an_unknown_root_becomes_a_trace_annotation(
    phoenix: PhoenixServer, rig: Rig, project: str
) -> None:
    # The answer comes from a service without the feedback processor: its root is unknown
    # here, so the feedback span has no parent and rates the trace as a whole.
    elsewhere = TracerProvider(resource=Resource.create({"openinference.project.name": project}))
    otlp = OTLPSpanExporter(endpoint=phoenix.otlp_grpc_endpoint, insecure=True, timeout=10)
    elsewhere.add_span_processor(BatchSpanProcessor(otlp))
    with elsewhere.get_tracer("elsewhere").start_as_current_span("answer") as answer:
        pass
    elsewhere.shutdown()
    trace_id, _ = _hex(answer)
    fb.log_feedback(
        "coherence",
        0.75,
        trace_id=trace_id,
        source="CODE",
        reason="consistent",
        tracer_provider=rig.provider,
    )
    rig.flush()
    [feedback_span] = [s for s in rig.spans() if s.name == "feedback"]
    assert feedback_span.parent is None
    annotations = _ours(_trace_annotations(phoenix, project, trace_id))
    assert len(annotations) == 1
    [coherence] = annotations
    assert coherence["trace_id"] == trace_id
    assert coherence["name"] == "coherence"
    assert coherence["annotator_kind"] == "CODE"
    assert coherence["result"]["score"] == 0.75
    assert coherence["result"]["explanation"] == "consistent"


def test_sync_writes_stored_feedback_once(
    phoenix: PhoenixServer, project: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Feedback that reached Phoenix before any bridge was set up: plain OTLP only.
    provider = TracerProvider(resource=Resource.create({"openinference.project.name": project}))
    provider.add_span_processor(fb.FeedbackSpanProcessor(tracer_provider=provider))
    otlp = OTLPSpanExporter(endpoint=phoenix.otlp_grpc_endpoint, insecure=True, timeout=10)
    provider.add_span_processor(BatchSpanProcessor(otlp))
    tracer = provider.get_tracer("bridge-e2e")
    with tracer.start_as_current_span("chat") as chat:
        token = fb.current_feedback_token()
    fb.log_feedback("thumbs_up", True, target=token, source_id="web_ui")
    provider.shutdown()
    trace_id, chat_id = _hex(chat)
    phoenix.wait_for_spans(trace_id=trace_id, count=2, project=project)
    assert _ours(_span_annotations(phoenix, project, chat_id)) == []

    url = f"phoenix://{phoenix.host}:{phoenix.port}/{project}"
    assert cli_main(["sync", url]) == 0
    assert cli_main(["sync", url]) == 0
    output = capsys.readouterr().out
    assert "1 feedback record(s) found, 1 written" in output
    [thumbs] = _ours(_span_annotations(phoenix, project, chat_id))
    assert thumbs["name"] == "thumbs_up"
    assert thumbs["result"]["score"] == 1.0
    assert thumbs["result"]["label"] == "true"
