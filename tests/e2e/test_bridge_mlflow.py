"""The MLflow bridge against a real ``mlflow server``: each feedback once, as an assessment.

Spans go to MLflow over OTLP/HTTP (``/v1/traces`` with ``x-mlflow-experiment-id``); MLflow
makes the trace ``tr-<trace id>``. The bridge logs assessments through the MLflow client;
they are read back through MLflow's REST API and ``TracingClient``: on the right trace and
span, with name, value, source, rationale, and exactly once after resends.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bridge_scenario import rate_a_chat
from mlflow_backend import MLflowServer
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import otel_feedback as fb
from otel_feedback.bridges.mlflow import MLflowAssessmentExporter

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


class Rig:
    """A provider exporting to MLflow over OTLP/HTTP, with the bridge and an in-memory copy."""

    def __init__(self, server: MLflowServer) -> None:
        self.provider = TracerProvider(resource=Resource.create({"service.name": "bridge-e2e"}))
        self.provider.add_span_processor(fb.FeedbackSpanProcessor(tracer_provider=self.provider))
        self.bridge = MLflowAssessmentExporter(
            tracking_uri=server.tracking_uri, experiment_id=server.experiment_id
        )
        otlp = OTLPSpanExporter(
            endpoint=server.otlp_http_endpoint, headers=self.bridge.otlp_headers, timeout=10
        )
        self.provider.add_span_processor(BatchSpanProcessor(otlp))
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
def rig(mlflow_server: MLflowServer) -> Iterator[Rig]:
    made = Rig(mlflow_server)
    yield made
    made.provider.shutdown()


def _hex(span: Any) -> tuple[str, str]:
    context = span.get_span_context()
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"


def test_feedback_and_ground_truth_become_assessments_once(
    mlflow_server: MLflowServer, rig: Rig
) -> None:
    rated = rate_a_chat(rig.tracer)
    trace_id, chat_id, llm_id, token = rated.trace_id, rated.chat_id, rated.llm_id, rated.token
    fb.log_feedback("ground_truth", "Paris", target=token, source_id="annotator-7")
    rig.flush()

    assessments = mlflow_server.assessments(trace_id)
    by_name = {a["assessment_name"]: a for a in assessments}
    assert sorted(by_name) == ["correctness", "ground_truth", "thumbs_up", "user_rating"]
    assert len(assessments) == 4
    assert all(a["trace_id"] == f"tr-{trace_id}" for a in assessments)

    thumbs = by_name["thumbs_up"]
    assert thumbs["span_id"] == chat_id
    assert thumbs["feedback"] == {"value": False}
    assert thumbs["rationale"] == "wrong city"
    assert thumbs["source"] == {"source_type": "HUMAN", "source_id": "web_ui"}
    assert thumbs["metadata"]["feedback.id"]

    rating = by_name["user_rating"]
    assert rating["span_id"] == llm_id
    assert rating["feedback"] == {"value": 4}
    assert rating["rationale"] == "helpful"

    judge = by_name["correctness"]
    assert judge["source"] == {"source_type": "LLM_JUDGE", "source_id": "judge-model"}
    assert judge["feedback"] == {"value": 0.25}
    assert judge["rationale"] == "the answer names Lyon"
    assert judge["metadata"]["gen_ai.evaluation.score.label"] == "incorrect"

    truth = by_name["ground_truth"]
    assert "feedback" not in truth
    assert truth["expectation"] == {"value": "Paris"}
    assert truth["source"]["source_id"] == "annotator-7"

    # Resend: the same bridge, then a fresh bridge with no memory of what it wrote.
    spans = rig.spans()
    rig.bridge.export(spans)
    fresh = MLflowAssessmentExporter(tracking_uri=mlflow_server.tracking_uri)
    fresh.export(spans)
    assert fresh.force_flush(60_000)
    fresh.shutdown()
    rig.flush()
    again = mlflow_server.assessments(trace_id)
    assert sorted(a["assessment_id"] for a in again) == sorted(
        a["assessment_id"] for a in assessments
    )


def test_the_mlflow_client_sees_them(mlflow_server: MLflowServer, rig: Rig) -> None:
    from mlflow.tracing.client import TracingClient  # noqa: PLC0415 - takes seconds to import

    with rig.tracer.start_as_current_span("answer") as answer:
        token = fb.current_feedback_token()
    fb.log_feedback("thumbs_up", True, target=token, source_id="web_ui")
    rig.flush()
    trace_id, _ = _hex(answer)
    info = TracingClient(mlflow_server.tracking_uri).get_trace_info(f"tr-{trace_id}")
    [thumbs] = info.assessments
    assert thumbs.name == "thumbs_up"
    assert thumbs.value is True
    assert thumbs.source.source_id == "web_ui"


def test_mlflow_style_example_creates_real_assessments(mlflow_server: MLflowServer) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MLFLOW_"))}
    env.update(
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=mlflow_server.otlp_http_endpoint,
        OTEL_EXPORTER_OTLP_TRACES_HEADERS=f"x-mlflow-experiment-id={mlflow_server.experiment_id}",
        MLFLOW_TRACKING_URI=mlflow_server.tracking_uri,
    )
    result = subprocess.run(
        [sys.executable, str(REPO / "examples" / "mlflow_style.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [trace_id] = re.findall(r"tr-([0-9a-f]{32})", result.stdout)
    by_name = {a["assessment_name"]: a for a in mlflow_server.assessments(trace_id)}
    assert sorted(by_name) == [
        "expected_response",
        "faithfulness",
        "is_correct",
        "length_ok",
        "relevance",
    ]
    assert by_name["is_correct"]["feedback"] == {"value": True}
    assert by_name["relevance"]["source"]["source_type"] == "LLM_JUDGE"
    assert by_name["length_ok"]["source"]["source_type"] == "CODE"
    assert by_name["expected_response"]["expectation"]["value"].startswith("MLflow is")
    assert by_name["faithfulness"]["feedback"]["error"]["error_code"] == "RATE_LIMIT_EXCEEDED"
