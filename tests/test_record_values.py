"""What log_feedback accepts since the compat work (docs/DESIGN.md §5, §12, §13), over the wire:
programming errors raise TypeError in every mode; failed evaluations (error=); ISO 8601
timestamps; numeric-string scores; AI_JUDGE; client ids; metadata that is not a mapping;
OpenInference annotations on open and late spans; the late span's searchable fields."""

from __future__ import annotations

import pytest
from helpers_wire import Wire, hex_ids, only_event

import otel_feedback as fb
from otel_feedback.conventions import annotation_key


class AssessmentError:
    """The shape of MLflow's AssessmentError."""

    def __init__(self, error_code: str, error_message: str) -> None:
        self.error_code = error_code
        self.error_message = error_message


@pytest.mark.parametrize("strict", [None, False, True])
def test_unknown_keyword_raises_type_error_in_every_mode(
    grpc_wire: Wire, strict: bool | None
) -> None:
    with grpc_wire.tracer.start_as_current_span("host"):
        with pytest.raises(TypeError, match="rationale"):
            fb.log_feedback("rating", 1, rationale="MLflow's keyword", strict=strict)  # type: ignore[call-arg]
        with pytest.raises(TypeError):
            fb.log_feedback("rating")  # type: ignore[call-arg]
        with pytest.raises(TypeError, match="reasn"):
            fb.enrich_span(feedback={"a": 1}, reasn="typo")  # type: ignore[call-arg]
    assert fb.diagnostics() == {}


def test_opik_project_name_is_accepted(grpc_wire: Wire) -> None:
    with grpc_wire.tracer.start_as_current_span("host") as host:
        trace_id = hex_ids(host)[0]
    ids = fb.log_traces_feedback_scores(
        [{"id": trace_id, "name": "coherence", "value": 0.5}], project_name="demo"
    )
    assert ids[0] is not None


def test_unknown_score_key_is_reported_and_rejected_in_strict_mode(grpc_wire: Wire) -> None:
    with grpc_wire.tracer.start_as_current_span("host") as host:
        trace_id = hex_ids(host)[0]
    score = {"id": trace_id, "name": "q", "value": 1, "reasn": "typo"}
    assert fb.log_traces_feedback_scores([score])[0] is not None
    assert fb.diagnostics() == {"unknown_key": 1}
    with pytest.raises(fb.InvalidFeedbackError, match="reasn"):
        fb.log_traces_feedback_scores([score], strict=True)


@pytest.mark.parametrize("metadata", ["not-a-dict", ["a", "b"], 42])
def test_metadata_that_is_not_a_mapping_is_reported(
    grpc_wire: Wire, metadata: object
) -> None:
    with grpc_wire.tracer.start_as_current_span("host"):
        assert fb.log_feedback("rating", 4, metadata=metadata)  # type: ignore[arg-type]
        with pytest.raises(fb.InvalidFeedbackError, match="metadata"):
            fb.log_feedback("rating", 4, metadata=metadata, strict=True)  # type: ignore[arg-type]
    host = grpc_wire.one("host")
    assert host.attributes["feedback.rating"] == 4
    assert not any(key.startswith("feedback.metadata") for key in host.attributes)
    assert fb.diagnostics() == {"invalid_value": 1}


@pytest.mark.parametrize("source", ["AI_JUDGE", "ai-judge", "llm_judge"])
def test_ai_judge_is_llm_judge(grpc_wire: Wire, source: str) -> None:
    with grpc_wire.tracer.start_as_current_span("host"):
        fb.log_feedback("faithful", 0.9, source=source)
    event = only_event(grpc_wire.one("host"))
    assert event.attributes["feedback.source.type"] == "LLM_JUDGE"
    assert fb.diagnostics() == {}


def test_failed_evaluation_records_an_error_not_a_score(grpc_wire: Wire) -> None:
    with grpc_wire.tracer.start_as_current_span("host"):
        first = fb.log_feedback(
            "relevance", None, source="LLM_JUDGE", error=TimeoutError("judge timed out")
        )
        second = fb.log_feedback(
            "safety", None, error=AssessmentError("RATE_LIMIT", "429 from the judge")
        )
        third = fb.log_feedback("tone", None, error="unparseable answer")
    host = grpc_wire.one("host")
    events = {e.attributes["gen_ai.evaluation.name"]: e for e in host.events}
    assert [first, second, third] == [
        events[name].attributes["feedback.id"] for name in ("relevance", "safety", "tone")
    ]
    relevance = events["relevance"].attributes
    assert relevance["error.type"] == "TimeoutError"
    assert relevance["feedback.error"] == "judge timed out"
    assert "gen_ai.evaluation.score.value" not in relevance
    assert events["safety"].attributes["error.type"] == "RATE_LIMIT"
    assert events["safety"].attributes["feedback.error"] == "429 from the judge"
    assert events["tone"].attributes["error.type"] == "_OTHER"
    assert not any(key in host.attributes for key in ("feedback.relevance", "feedback.tone"))
    assert fb.diagnostics() == {}


@pytest.mark.parametrize(("value", "score"), [("0.5", 0.5), (" 3 ", 3.0), ("1e-2", 0.01)])
def test_numeric_string_gets_a_score(grpc_wire: Wire, value: str, score: float) -> None:
    with grpc_wire.tracer.start_as_current_span("host"):
        fb.log_feedback("quality", value)
    event = only_event(grpc_wire.one("host")).attributes
    assert event["gen_ai.evaluation.score.value"] == score
    assert event["gen_ai.evaluation.score.label"] == value


@pytest.mark.parametrize("value", ["nan", "inf", "good", ""])
def test_non_numeric_or_non_finite_strings_get_no_score(grpc_wire: Wire, value: str) -> None:
    with grpc_wire.tracer.start_as_current_span("host"):
        fb.log_feedback("quality", value)
    event = only_event(grpc_wire.one("host")).attributes
    assert "gen_ai.evaluation.score.value" not in event


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2026-11-30T12:00:00Z", "2026-11-30T12:00:00.000000Z"),
        ("2026-11-30T13:00:00.250000+01:00", "2026-11-30T12:00:00.250000Z"),
        ("2026-11-30T12:00:00", "2026-11-30T12:00:00.000000Z"),
    ],
)
def test_iso_timestamps_are_kept(grpc_wire: Wire, given: str, expected: str) -> None:
    with grpc_wire.tracer.start_as_current_span("host"):
        fb.log_feedback("rating", 5, timestamp=given)
    event = only_event(grpc_wire.one("host")).attributes
    assert event["feedback.timestamp"] == expected
    assert fb.diagnostics() == {}


def test_bad_timestamp_string_is_reported_and_replaced(grpc_wire: Wire) -> None:
    with grpc_wire.tracer.start_as_current_span("host"):
        assert fb.log_feedback("rating", 5, timestamp="yesterday")
    assert fb.diagnostics() == {"invalid_timestamp": 1}


def test_client_feedback_id_is_the_record_id(grpc_wire: Wire) -> None:
    client_id = "0f" * 16
    with grpc_wire.tracer.start_as_current_span("host"):
        assert fb.log_feedback("rating", 5, feedback_id=client_id) == client_id
        dashed = "12345678-1234-4234-8234-123456789abc"
        assert fb.log_feedback("rating", 4, feedback_id=dashed) == dashed.replace("-", "")
        fresh = fb.log_feedback("rating", 3, feedback_id="not-an-id")
    assert fresh is not None
    assert len(fresh) == 32
    assert fb.diagnostics() == {"invalid_id": 1}


def test_open_span_gets_one_annotation_per_record_without_clobbering(grpc_wire: Wire) -> None:
    with grpc_wire.tracer.start_as_current_span(
        "host", attributes={annotation_key(0, "name"): "set-by-the-app"}
    ):
        first = fb.log_feedback("thumbs_up", True, source_id="web_ui", reason="clear")
        second = fb.log_feedback(
            "faithful", 0.8, source="LLM_JUDGE", label="good", metadata={"model": "judge-1"}
        )
    attributes = grpc_wire.one("host").attributes
    assert attributes[annotation_key(0, "name")] == "set-by-the-app"
    assert attributes[annotation_key(1, "name")] == "thumbs_up"
    assert attributes[annotation_key(1, "score")] == 1.0
    assert attributes[annotation_key(1, "label")] == "true"
    assert attributes[annotation_key(1, "explanation")] == "clear"
    assert attributes[annotation_key(1, "annotator_kind")] == "HUMAN"
    assert attributes[annotation_key(1, "identifier")] == first
    assert attributes[annotation_key(2, "name")] == "faithful"
    assert attributes[annotation_key(2, "annotator_kind")] == "LLM"
    assert attributes[annotation_key(2, "label")] == "good"
    assert attributes[annotation_key(2, "identifier")] == second
    assert attributes[annotation_key(2, "metadata")] == '{"model": "judge-1"}'


def test_late_span_is_searchable_and_annotated(grpc_wire: Wire) -> None:
    with grpc_wire.tracer.start_as_current_span("answer"):
        token = fb.current_feedback_token()
    feedback_id = fb.log_feedback(
        "thumbs_up", False, target=token, source_id="web_ui", reason="wrong city"
    )
    late = grpc_wire.one("feedback").attributes
    assert late["feedback.thumbs_up"] is False
    assert late["gen_ai.evaluation.name"] == "thumbs_up"
    assert late["gen_ai.evaluation.explanation"] == "wrong city"
    assert late["feedback.source.type"] == "HUMAN"
    assert late["feedback.source.id"] == "web_ui"
    assert late["feedback.id"] == feedback_id
    assert late["feedback.kind"] == "explicit"
    assert late[annotation_key(0, "name")] == "thumbs_up"
    assert late[annotation_key(0, "score")] == 0.0
    assert late[annotation_key(0, "identifier")] == feedback_id


def test_span_id_alone_reaches_a_tracked_span(grpc_wire: Wire) -> None:
    with grpc_wire.tracer.start_as_current_span("root") as root:
        with grpc_wire.tracer.start_as_current_span("child") as child:
            assert fb.current_feedback_token() is not None  # tracks the child
        with grpc_wire.tracer.start_as_current_span("untracked") as untracked:
            pass
        span_ids = [hex_ids(root)[1], hex_ids(child)[1], hex_ids(untracked)[1]]
        results = fb.log_spans_feedback_scores(
            [{"id": span_id, "name": "quality", "value": 1} for span_id in span_ids]
        )
    assert all(results[:2])
    assert results[2] is None, "an ended span nobody tracked needs trace_id= too"
    assert fb.diagnostics().get("invalid_target") == 1
    spans = grpc_wire.wait(4)
    assert grpc_wire.one("root").attributes["feedback.quality"] == 1
    late = [span for span in spans if span.name == "feedback"]
    assert [span.parent_span_id for span in late] == [hex_ids(child)[1]]
