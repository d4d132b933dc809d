"""Feedback records as MLflow assessment entities (the live server is in tests/e2e)."""

from __future__ import annotations

from typing import Any

import pytest

from otel_feedback.bridges.mlflow import MLflowAssessmentExporter, assessment, mlflow_trace_id
from otel_feedback.bridges.records import FeedbackRecord


def _record(**changes: Any) -> FeedbackRecord:
    fields: dict[str, Any] = {
        "feedback_id": "f" * 32,
        "name": "thumbs_up",
        "trace_id": "a" * 32,
        "span_id": "b" * 16,
        "score": 0.0,
        "label": "false",
        "explanation": "wrong",
        "source_type": "HUMAN",
        "source_id": "web_ui",
        "kind": "explicit",
        "timestamp": "2026-11-30T12:00:00.250000Z",
        "value": False,
    }
    fields.update(changes)
    return FeedbackRecord(**fields)


def test_feedback() -> None:
    made = assessment(_record())
    assert made.name == "thumbs_up"
    assert made.feedback.value is False
    assert made.rationale == "wrong"
    assert made.span_id == "b" * 16
    assert (made.source.source_type, made.source.source_id) == ("HUMAN", "web_ui")
    assert made.metadata["feedback.id"] == "f" * 32
    assert made.metadata["feedback.kind"] == "explicit"
    assert made.create_time_ms == 1_796_040_000_250
    assert mlflow_trace_id("a" * 32) == "tr-" + "a" * 32


def test_ground_truth_is_an_expectation() -> None:
    made = assessment(_record(name="ground_truth", value={"city": "Paris"}, score=None))
    assert made.name == "ground_truth"
    assert made.expectation.value == {"city": "Paris"}
    assert made.feedback is None
    named = assessment(_record(name="ground_truth.expected_response", value="Paris"))
    assert (named.name, named.expectation.value) == ("expected_response", "Paris")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (4, 4),
        ("good", "good"),
        ({"a": 1, "b": "x"}, {"a": 1, "b": "x"}),
        (["a", "b"], ["a", "b"]),
        ({"a": {"b": 1}}, '{"a":{"b":1}}'),
        ([{"a": 1}], '[{"a":1}]'),
    ],
)
def test_feedback_values_mlflow_accepts(value: Any, expected: Any) -> None:
    assert assessment(_record(value=value, score=None)).feedback.value == expected


def test_a_failed_evaluation_is_feedback_with_an_error() -> None:
    made = assessment(
        _record(value=None, score=None, error_type="timeout", error_message="judge timed out")
    )
    assert made.feedback.error.error_code == "timeout"
    assert made.feedback.error.error_message == "judge timed out"


def test_trace_level_feedback_has_no_span_and_unknown_sources_default() -> None:
    made = assessment(_record(span_id=None, source_type=None, source_id=None, timestamp="bad"))
    assert made.span_id is None
    assert made.source.source_type == "HUMAN"
    assert made.create_time_ms != 1_796_040_000_250  # unparsable: MLflow's own clock


def test_the_exporter_tells_the_otlp_header() -> None:
    bridge = MLflowAssessmentExporter("http://127.0.0.1:1", experiment_id="7")
    assert bridge.otlp_headers == {"x-mlflow-experiment-id": "7"}
    bridge.shutdown()
