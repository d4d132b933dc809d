"""Offline evaluate(): each item traced and scored, the table returned, feedback on the wire;
Score.log records a score on a span, a token or a trace."""

from __future__ import annotations

import math

import pytest
from helpers_judge import JudgeServer
from helpers_wire import Wire, assert_late_feedback_span, feedback_spans, hex_ids, only_event

import otel_feedback as fb
from otel_feedback.scoring import (
    BLEU,
    Contains,
    Equals,
    EvaluationResult,
    Factuality,
    Levenshtein,
    Score,
    ScorerConfigError,
    evaluate,
)

DATASET = [
    {"input": "capital of France?", "expected": "Paris"},
    {"input": "capital of Peru?", "expected": "Lima"},
    {"input": "capital of Japan?", "expected": "Tokyo", "tag": "asia"},
    "capital of Italy?",
]
ANSWERS = {"capital of France?": "Paris", "capital of Peru?": "Cusco", "capital of Japan?": "Tokyo"}


def task(item: object) -> str:
    assert isinstance(item, dict)
    if item["input"] == "capital of Italy?":
        raise RuntimeError("no answer")
    return ANSWERS[item["input"]]


def test_evaluate_traces_scores_and_records(grpc_wire: Wire) -> None:
    result = evaluate(
        DATASET,
        task,
        [Equals(), Levenshtein()],
        name="capitals",
        tracer_provider=grpc_wire.provider,
    )
    assert isinstance(result, EvaluationResult)
    table = result.table()
    assert [row["output"] for row in table] == ["Paris", "Cusco", "Tokyo", None]
    assert [row["equals"] for row in table[:3]] == [1.0, 0.0, 1.0]
    assert table[3]["error"] == "RuntimeError: no answer"
    assert "equals" not in table[3]
    summary = result.summary()
    assert summary["equals"]["count"] == 3
    assert summary["equals"]["mean"] == pytest.approx(2 / 3)
    assert "capitals" in str(result)

    items = grpc_wire.wait(4, predicate=lambda span: span.name == "evaluation.item")
    by_index = {span.attributes["metadata.evaluation.item"]: span for span in items}
    first = by_index[0]
    assert first.attributes["input.value"] == "capital of France?"
    assert first.attributes["output.value"] == "Paris"
    assert first.attributes["feedback.ground_truth"] == "Paris"
    assert first.attributes["metadata.evaluation.name"] == "capitals"
    assert first.attributes["metadata.evaluation.run_id"] == result.run_id
    assert first.attributes["feedback.equals"] == 1.0
    assert (first.trace_id, first.span_id) == (table[0]["trace_id"], table[0]["span_id"])
    events = {e.attributes["gen_ai.evaluation.name"]: e.attributes for e in first.events}
    assert events["equals"]["feedback.source.type"] == "CODE"
    assert events["levenshtein"]["gen_ai.evaluation.score.value"] == 1.0
    assert len({span.trace_id for span in items}) == 4  # one trace per item
    assert by_index[3].status_code == 2  # ERROR


def test_evaluate_with_a_judge_and_context(grpc_wire: Wire, judge_server: JudgeServer) -> None:
    judge = Factuality(model="score:0.6", base_url=judge_server.base_url, api_key="k")

    def rag(item: object) -> dict[str, object]:
        return {"output": "Paris", "context": ["Paris is in France."]}

    result = evaluate(
        [{"input": "q", "expected": "Paris"}], rag, judge, tracer_provider=grpc_wire.provider
    )
    assert result.rows[0].scores["factuality"].value == 0.6
    span = grpc_wire.one("evaluation.item")
    event = only_event(span)
    assert event.attributes["feedback.source.type"] == "LLM_JUDGE"
    assert event.attributes["feedback.source.id"] == "score:0.6"


def test_evaluate_bad_arguments() -> None:
    with pytest.raises(ScorerConfigError):
        evaluate([], task, [])
    with pytest.raises(ScorerConfigError):
        evaluate([], "not callable", Equals())  # type: ignore[arg-type]
    result = evaluate([42], task, Equals(), record=False)  # type: ignore[list-item]
    assert result.rows[0].error is not None
    assert math.isnan(result.summary().get("equals", {"mean": math.nan})["mean"])


def test_score_log_on_a_token_and_on_ids(grpc_wire: Wire) -> None:
    with grpc_wire.tracer.start_as_current_span("answer") as span:
        token = fb.current_feedback_token()
        trace_id, span_id = hex_ids(span)
    assert token is not None
    score = Contains().score(output="Lyon, France", expected="lyon")
    assert score.log(target=token) is not None
    bleu = BLEU(name="bleu4").score(output="a b c d", expected="a b c d")
    assert bleu.log(trace_id=trace_id, span_id=span_id, source_id="nightly") is not None
    spans = grpc_wire.wait(3)
    target = grpc_wire.receiver.span_by_name("answer")
    late = {
        span.events[0].attributes["gen_ai.evaluation.name"]: span for span in feedback_spans(spans)
    }
    for span in late.values():
        assert_late_feedback_span(span, target)
    assert late["contains"].attributes["feedback.contains"] == 1.0
    event = late["bleu4"].events[0].attributes
    assert event["feedback.source.type"] == "CODE"
    assert event["feedback.source.id"] == "nightly"
    assert event["gen_ai.evaluation.score.value"] == 1.0


def test_score_log_of_a_failed_score_records_no_value(grpc_wire: Wire) -> None:
    with grpc_wire.tracer.start_as_current_span("answer") as span:
        failed = Equals().score(output=None, expected="x")
        assert isinstance(failed, Score)
        failed.log(target=span)
    answer = grpc_wire.one("answer")
    assert "feedback.equals" not in answer.attributes
    event = only_event(answer).attributes
    assert "gen_ai.evaluation.score.value" not in event
    assert event["error.type"] == "MissingInputError"
    assert event["feedback.error"] == "Equals needs output=; got None"
    assert event["feedback.source.type"] == "CODE"


def test_evaluate_in_threads_keeps_order_and_one_trace_per_item(
    grpc_wire: Wire, judge_server: JudgeServer
) -> None:
    judge = Factuality(model="slow:0.1", base_url=judge_server.base_url, api_key="k")
    items = [{"input": f"q{index}", "expected": f"a{index}"} for index in range(8)]
    with grpc_wire.tracer.start_as_current_span("caller"):
        result = evaluate(
            items,
            lambda item: f"a{item['input'][1:]}",
            [Equals(), judge],
            tracer_provider=grpc_wire.provider,
            max_workers=4,
        )
    assert [row.output for row in result.rows] == [f"a{index}" for index in range(8)]
    assert all(row.scores["factuality"].value == 0.5 for row in result.rows)
    assert judge_server.calls["slow:0.1"] == 8
    spans = grpc_wire.wait(9)
    items_seen = [span for span in spans if span.name == "evaluation.item"]
    assert len(items_seen) == 8
    assert all(span.parent_span_id is None for span in items_seen)  # roots, not under caller
    assert len({span.trace_id for span in items_seen}) == 8
    with pytest.raises(ScorerConfigError):
        evaluate(items, lambda item: "", Equals(), max_workers=0)
