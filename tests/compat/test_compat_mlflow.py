"""MLflow's documented snippets and its own assessment tests, on otel_feedback.compat.mlflow.

``import mlflow`` became ``import otel_feedback.compat.mlflow as mlflow`` (and the same for
``mlflow.entities``); everything else is MLflow code. Assertions are on the OTLP wire data.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from helpers_wire import Wire, assert_late_feedback_span, feedback_spans, only_event

import otel_feedback as fb
import otel_feedback.compat.mlflow as mlflow  # noqa: PLR0402 - the documented form
from otel_feedback.compat.mlflow.entities import (
    AssessmentSource,
    AssessmentSourceType,
    Expectation,
    Feedback,
    SpanType,
)
from otel_feedback.testing import ReceivedSpan


def _by_name(spans: list[ReceivedSpan]) -> dict[str, ReceivedSpan]:
    """Late feedback spans by the evaluation name of their event."""
    return {
        only_event(span).attributes["gen_ai.evaluation.name"]: span
        for span in feedback_spans(spans)
    }


@mlflow.trace
def my_app(input: str) -> str:
    return input + "_output"


# -- documented snippets --------------------------------------------------------------------


def test_logging_assessments_snippet(global_wire: Wire) -> None:
    # docs: genai/tracing/concepts/log-assessment
    my_app(input="hello")
    trace_id = mlflow.get_last_active_trace_id()
    assert trace_id is not None
    mlflow.log_feedback(
        trace_id=trace_id,
        name="human_rating",
        value=4,
        rationale="Human evaluator rating",
        source=AssessmentSource(
            source_type=AssessmentSourceType.HUMAN, source_id="evaluator@company.com"
        ),
    )
    mlflow.log_feedback(
        trace_id=trace_id,
        name="llm_judge_score",
        value=0.85,
        rationale="LLM judge evaluation",
        source=AssessmentSource(
            source_type=AssessmentSourceType.LLM_JUDGE, source_id="gpt-4o-mini"
        ),
        metadata={"temperature": "0.1", "model_version": "2024-01"},
    )
    mlflow.log_feedback(
        trace_id=trace_id,
        name="quality_metrics",
        value={"accuracy": 0.95, "completeness": 0.88},
        source=AssessmentSource(
            source_type=AssessmentSourceType.HUMAN, source_id="expert_evaluator"
        ),
    )
    spans = global_wire.wait(4)
    app = global_wire.receiver.span_by_name("my_app")
    assert trace_id == f"tr-{app.trace_id}"
    late = _by_name(spans)
    for span in late.values():
        assert_late_feedback_span(span, app)
    human = only_event(late["human_rating"]).attributes
    assert (human["feedback.source.type"], human["feedback.source.id"]) == (
        "HUMAN",
        "evaluator@company.com",
    )
    assert human["gen_ai.evaluation.explanation"] == "Human evaluator rating"
    assert human["gen_ai.evaluation.score.value"] == 4.0
    judge = only_event(late["llm_judge_score"]).attributes
    assert judge["feedback.source.type"] == "LLM_JUDGE"
    assert judge["feedback.metadata.model_version"] == "2024-01"
    assert late["quality_metrics"].attributes["feedback.quality_metrics.accuracy"] == 0.95


def test_collect_user_feedback_snippet(global_wire: Wire) -> None:
    # docs: genai/tracing/collect-user-feedback (the trace id pasted as the UI shows it)
    my_app(input="hi")
    app = global_wire.one("my_app")
    feedback = mlflow.log_feedback(
        trace_id=f"tr-{app.trace_id}",
        name="user_satisfaction",
        value=True,
        rationale="User indicated response was helpful",
        source=AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id="user_123"),
    )
    [late] = feedback_spans(global_wire.wait(2))
    event = only_event(late).attributes
    assert feedback.assessment_id == "a-" + event["feedback.id"]
    assert feedback.trace_id == f"tr-{app.trace_id}"
    assert event["gen_ai.evaluation.score.label"] == "true"
    assert late.attributes["feedback.user_satisfaction"] is True


def test_log_assessment_with_feedback_and_expectation_objects(global_wire: Wire) -> None:
    # docs: mlflow.log_assessment API reference
    my_app(input="q")
    trace_id = mlflow.get_last_active_trace_id()
    assert trace_id is not None
    feedback = Feedback(
        name="faithfulness",
        value=0.9,
        rationale="The model is faithful to the input.",
        metadata={"model": "gpt-4o-mini"},
    )
    mlflow.log_assessment(trace_id=trace_id, assessment=feedback)
    source = AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id="john@example.com")
    expectation = Expectation(name="expected_answer", value=42, source=source)
    mlflow.log_assessment(trace_id=trace_id, assessment=expectation)
    late = _by_name(global_wire.wait(3))
    faithful = only_event(late["faithfulness"]).attributes
    assert (faithful["feedback.source.type"], faithful["feedback.source.id"]) == (
        "CODE",
        "default",
    ), "MLflow's default source of a feedback"
    assert faithful["feedback.metadata.model"] == "gpt-4o-mini"
    expected = late["ground_truth.expected_answer"]
    assert expected.attributes["feedback.ground_truth.expected_answer"] == 42
    assert only_event(expected).attributes["feedback.source.id"] == "john@example.com"
    assert feedback.assessment_id
    assert expectation.assessment_id


def test_log_expectation_defaults_to_a_human_source(global_wire: Wire) -> None:
    my_app(input="q")
    trace_id = mlflow.get_last_active_trace_id()
    assert trace_id is not None
    mlflow.log_expectation(
        trace_id=trace_id,
        name="expected_facts",
        value=["Paris is the capital", "It is in France"],
        metadata={"difficulty": "easy"},
    )
    [late] = feedback_spans(global_wire.wait(2))
    assert late.attributes["feedback.ground_truth.expected_facts"] == (
        "Paris is the capital",
        "It is in France",
    )
    event = only_event(late).attributes
    assert event["feedback.source.type"] == "HUMAN"
    assert event["feedback.metadata.difficulty"] == "easy"


def test_override_feedback_snippet(global_wire: Wire) -> None:
    my_app(input="q")
    trace_id = mlflow.get_last_active_trace_id()
    assert trace_id is not None
    llm_feedback = mlflow.log_feedback(
        trace_id=trace_id,
        name="relevance",
        value=0.6,
        source=AssessmentSource(source_type=AssessmentSourceType.LLM_JUDGE, source_id="gpt-4"),
        rationale="Response partially addresses the question",
    )
    corrected = mlflow.override_feedback(
        trace_id=trace_id,
        assessment_id=llm_feedback.assessment_id,
        value=0.9,
        rationale="Response fully addresses the question with good examples",
        source=AssessmentSource(
            source_type=AssessmentSourceType.HUMAN, source_id="expert_reviewer@company.com"
        ),
        metadata={"override_reason": "LLM underestimated relevance"},
    )
    assert corrected is not None
    assert corrected.overrides == llm_feedback.assessment_id
    assert llm_feedback.valid is False
    assert corrected.valid is True
    first, second = sorted(
        feedback_spans(global_wire.wait(3)), key=lambda span: span.attributes["feedback.timestamp"]
    )
    assert second.attributes["feedback.relevance"] == 0.9
    event = only_event(second).attributes
    assert event["feedback.metadata.overrides"] == only_event(first).attributes["feedback.id"]
    assert event["feedback.source.type"] == "HUMAN"


def test_mlflow_module_attributes_are_reachable() -> None:
    assert mlflow.entities.feedback.FeedbackSource is AssessmentSource
    assert mlflow.entities.SpanType.LLM == "LLM"
    assert mlflow.entities.AssessmentError(error_code="X").error_code == "X"
    assert callable(mlflow.trace)
    assert callable(mlflow.get_current_active_span)


# -- MLflow's own assessment tests (tests/tracing/test_assessment.py), translated --------------


def test_legacy_ai_judge_source_type_is_llm_judge(global_wire: Wire) -> None:
    with pytest.warns(FutureWarning, match="AI_JUDGE"):
        source = AssessmentSource(source_type="AI_JUDGE", source_id="judge")
    assert source.source_type == "LLM_JUDGE"
    assert AssessmentSource(source_type="llm_judge").source_type == "LLM_JUDGE"
    my_app(input="q")
    trace_id = mlflow.get_last_active_trace_id()
    assert trace_id is not None
    mlflow.log_feedback(trace_id=trace_id, name="judged", value=1, source=source)
    [late] = feedback_spans(global_wire.wait(2))
    assert only_event(late).attributes["feedback.source.type"] == "LLM_JUDGE"


def test_invalid_source_type_is_reported() -> None:
    source = AssessmentSource(source_type="ROBOT")
    assert source.source_type == "SOURCE_TYPE_UNSPECIFIED"
    assert fb.diagnostics()["invalid_value"] == 1


def test_feedback_without_value_or_error_is_dropped(global_wire: Wire) -> None:
    my_app(input="q")
    trace_id = mlflow.get_last_active_trace_id()
    assert trace_id is not None
    feedback = mlflow.log_feedback(trace_id=trace_id, name="empty")
    assert feedback.assessment_id is None
    assert fb.diagnostics()["invalid_value"] == 1


def test_feedback_on_a_span_of_the_trace(global_wire: Wire) -> None:
    @mlflow.trace(span_type=SpanType.AGENT)
    def agent(question: str) -> str:
        return retrieve(question)

    @mlflow.trace(name="retriever", span_type=SpanType.RETRIEVER)
    def retrieve(question: str) -> str:
        ids["span"] = mlflow.get_current_active_span().span_id  # type: ignore[union-attr]
        return "doc"

    ids: dict[str, str] = {}
    agent("q")
    trace_id = mlflow.get_last_active_trace_id()
    assert trace_id is not None
    mlflow.log_feedback(
        trace_id=trace_id.removeprefix("tr-"), span_id=ids["span"], name="doc_relevant", value=False
    )
    spans = global_wire.wait(3)
    retriever = global_wire.receiver.span_by_name("retriever")
    assert retriever.attributes["openinference.span.kind"] == "RETRIEVER"
    assert (
        global_wire.receiver.span_by_name("agent").attributes["openinference.span.kind"] == "AGENT"
    )
    [late] = feedback_spans(spans)
    assert_late_feedback_span(late, retriever)


def test_bad_trace_id_is_reported_and_strict_mode_raises(
    global_wire: Wire, monkeypatch: pytest.MonkeyPatch
) -> None:
    feedback = mlflow.log_feedback(trace_id="tr-not-hex", name="x", value=1)
    assert feedback.assessment_id is None
    assert fb.diagnostics()["invalid_target"] == 1
    monkeypatch.setenv(fb.STRICT_ENV, "true")
    fb.reload_settings()
    with pytest.raises(fb.InvalidTargetError):
        mlflow.log_feedback(trace_id="tr-not-hex", name="x", value=1)


def test_override_of_an_unknown_assessment_is_reported() -> None:
    assert (
        mlflow.override_feedback(trace_id="tr-" + "1" * 32, assessment_id="a-unknown", value=1)
        is None
    )
    assert fb.diagnostics()["invalid_target"] == 1


# -- tracing API ------------------------------------------------------------------------------


def test_start_span_and_active_span(global_wire: Wire) -> None:
    with mlflow.start_span(name="parent", span_type=SpanType.CHAIN) as parent:
        parent.set_inputs({"question": "2+2?"})
        active = mlflow.get_current_active_span()
        assert active is not None
        assert active.span_id == parent.span_id
        assert mlflow.get_active_trace_id() == parent.trace_id
        with mlflow.start_span(
            name="llm", span_type=SpanType.CHAT_MODEL, attributes={"model": {"name": "gpt"}}
        ) as child:
            child.set_outputs({"answer": "4"})
        parent.set_outputs("4")
    assert mlflow.get_current_active_span() is None
    assert mlflow.get_last_active_trace_id() == parent.trace_id
    root, llm = global_wire.one("parent"), global_wire.one("llm")
    assert parent.trace_id == f"tr-{root.trace_id}"
    assert parent.span_id == root.span_id
    assert llm.parent_span_id == root.span_id
    assert llm.attributes["openinference.span.kind"] == "LLM"
    assert llm.attributes["model.name"] == "gpt"
    assert json.loads(root.attributes["input.value"]) == {"question": "2+2?"}
    assert root.attributes["output.value"] == "4"


def test_update_current_trace_sets_session_and_user(global_wire: Wire) -> None:
    @mlflow.trace
    def chat(message: str) -> str:
        return step(message)

    @mlflow.trace
    def step(message: str) -> str:
        mlflow.update_current_trace(
            tags={"env": "prod"},
            metadata={"mlflow.trace.session": "session-1", "mlflow.trace.user": "user-1"},
        )
        return "ok"

    chat("hi")
    root = global_wire.one("chat")
    assert root.attributes["session.id"] == "session-1"
    assert root.attributes["user.id"] == "user-1"
    assert root.attributes["metadata.env"] == "prod"


def test_trace_generator_with_output_reducer(global_wire: Wire) -> None:
    @mlflow.trace(output_reducer="".join)
    def stream() -> Iterator[str]:
        yield "a"
        yield "b"

    assert list(stream()) == ["a", "b"]
    assert global_wire.one("stream").attributes["output.value"] == "ab"


def test_a_failed_judge_is_recorded_with_its_error(global_wire: Wire) -> None:
    # docs: log_assessment, "log an error information during the feedback generation"
    my_app(input="q")
    trace_id = mlflow.get_last_active_trace_id()
    assert trace_id is not None
    error = mlflow.entities.AssessmentError(
        error_code="RATE_LIMIT_EXCEEDED", error_message="Rate limit for the judge exceeded."
    )
    logged = mlflow.log_assessment(
        trace_id=trace_id, assessment=Feedback(trace_id=trace_id, name="faithfulness", error=error)
    )
    mlflow.log_feedback(trace_id=trace_id, name="toxicity", error=TimeoutError("judge timed out"))
    assert logged.assessment_id is not None
    late = _by_name(global_wire.wait(3))
    faithful = only_event(late["faithfulness"]).attributes
    assert faithful["error.type"] == "RATE_LIMIT_EXCEEDED"
    assert faithful["feedback.error"] == "Rate limit for the judge exceeded."
    assert "gen_ai.evaluation.score.value" not in faithful
    toxicity = only_event(late["toxicity"]).attributes
    assert toxicity["error.type"] == "TimeoutError"
    assert toxicity["feedback.error"] == "judge timed out"


def test_bad_inputs_never_raise_into_the_application(global_wire: Wire) -> None:
    my_app(input="q")
    trace_id = mlflow.get_last_active_trace_id()
    assert trace_id is not None
    with_bad_metadata = mlflow.log_feedback(
        trace_id=trace_id,
        name="x",
        value=1,
        metadata="not-a-dict",  # type: ignore[arg-type]
    )
    assert with_bad_metadata.assessment_id is not None, "kept, without the bad metadata"
    assert mlflow.log_feedback(trace_id="", name="x", value=1).assessment_id is None
    assert mlflow.log_assessment(trace_id, {"name": "x"}) == {"name": "x"}  # type: ignore[arg-type]
    counts = fb.diagnostics()
    assert counts["invalid_target"] == 1
    assert counts["invalid_value"] == 2  # the metadata, the dict given as an assessment
    assert sum(counts.values()) == 3, counts
    assert "internal_error" not in counts


def test_feedback_inside_the_trace_is_on_the_root_span(global_wire: Wire) -> None:
    @mlflow.trace
    def chat(message: str) -> str:
        trace_id = mlflow.get_active_trace_id()
        assert trace_id is not None
        mlflow.log_feedback(
            trace_id=trace_id,
            name="guardrail_passed",
            value=True,
            source=AssessmentSource(source_type="CODE", source_id="guard"),
        )
        return "hi"

    chat("hello")
    span = global_wire.one("chat")
    assert span.attributes["feedback.guardrail_passed"] is True
    assert only_event(span).attributes["feedback.source.id"] == "guard"
    assert not feedback_spans(global_wire.receiver.spans), "written on the open span itself"


# -- MLflow's tests/tracing/test_assessment.py, translated ----------------------------------

_HUMAN = AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id="bob@example.com")
_LLM = AssessmentSource(source_type=AssessmentSourceType.LLM_JUDGE, source_id="gpt-4o-mini")


def _one_trace() -> str:
    my_app(input="q")
    trace_id = mlflow.get_last_active_trace_id()
    assert trace_id is not None
    return trace_id


def test_log_feedback_fields(global_wire: Wire) -> None:
    trace_id = _one_trace()
    feedback = mlflow.log_feedback(
        trace_id=trace_id,
        name="faithfulness",
        value=1.0,
        source=_LLM,
        rationale="This answer is very faithful.",
        metadata={"model": "gpt-4o-mini"},
    )
    assert (feedback.name, feedback.value, feedback.error, feedback.span_id) == (
        "faithfulness",
        1.0,
        None,
        None,
    )
    assert feedback.source == _LLM
    assert feedback.rationale == "This answer is very faithful."
    assert feedback.create_time_ms is not None
    assert feedback.last_update_time_ms is not None
    [late] = feedback_spans(global_wire.wait(2))
    event = only_event(late).attributes
    assert event["feedback.source.id"] == "gpt-4o-mini"
    assert event["feedback.metadata.model"] == "gpt-4o-mini"


def test_log_feedback_with_value_and_error(global_wire: Wire) -> None:
    trace_id = _one_trace()
    error = mlflow.entities.AssessmentError(
        error_code="RATE_LIMIT_EXCEEDED", error_message="Rate limit for the judge exceeded."
    )
    feedback = mlflow.log_feedback(
        trace_id=trace_id, name="faithfulness", source=_LLM, value=0.5, error=error
    )
    assert feedback.value == 0.5
    assert feedback.error == error
    [late] = feedback_spans(global_wire.wait(2))
    event = only_event(late).attributes
    assert event["gen_ai.evaluation.score.value"] == 0.5
    assert event["error.type"] == "RATE_LIMIT_EXCEEDED"


def test_expectation_without_value_is_dropped(global_wire: Wire) -> None:
    trace_id = _one_trace()
    expectation = mlflow.log_expectation(
        trace_id=trace_id, name="expected_answer", value=None, source=_HUMAN
    )
    assert expectation.assessment_id is None
    assert fb.diagnostics()["invalid_value"] == 1


def test_update_and_delete_feedback_and_expectation(global_wire: Wire) -> None:
    trace_id = _one_trace()
    feedback = mlflow.log_feedback(trace_id=trace_id, name="faithfulness", value=0.2, source=_LLM)
    expected = mlflow.log_expectation(trace_id=trace_id, name="expected_answer", value="ML")
    assert feedback.assessment_id
    assert expected.assessment_id
    updated = mlflow.update_feedback(
        trace_id=trace_id,
        assessment_id=feedback.assessment_id,
        value=1.0,
        rationale="This answer is very faithful.",
        metadata={"model": "gpt-4o-mini"},
    )
    new_expected = mlflow.update_expectation(
        trace_id=trace_id, assessment_id=expected.assessment_id, value="MLflow"
    )
    assert updated is not None
    assert updated.overrides == feedback.assessment_id
    assert new_expected is not None
    assert new_expected.name == "expected_answer"
    mlflow.delete_feedback(trace_id=trace_id, assessment_id=feedback.assessment_id)
    mlflow.delete_expectation(trace_id=trace_id, assessment_id=expected.assessment_id)
    assert fb.diagnostics()["unsupported"] == 2, "exported records cannot be deleted: said so"
    late = feedback_spans(global_wire.wait(5))
    values = [
        (
            span.attributes.get("feedback.faithfulness"),
            span.attributes.get("feedback.ground_truth.expected_answer"),
        )
        for span in late
    ]
    assert (1.0, None) in values
    assert (None, "MLflow") in values
