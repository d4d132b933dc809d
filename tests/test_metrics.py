"""Feedback metrics (DESIGN.md §8): exact instruments, attribute sets and allow-lists."""

from __future__ import annotations

import random
from typing import Any

import pytest
from helpers_metrics import bucket_counts, key, metered_app
from opentelemetry.metrics import NoOpCounter, NoOpMeter, NoOpMeterProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import format_span_id, format_trace_id

import otel_feedback as fb
from otel_feedback.conventions import METRIC_SCORE_BOUNDARIES, METRIC_SPAN_ATTRIBUTES
from otel_feedback.metrics import FeedbackMetrics

MODEL = "gen_ai.request.model"
NAME = "gen_ai.evaluation.name"
SOURCE = "feedback.source.type"
KIND = "feedback.kind"
LABEL = "gen_ai.evaluation.score.label"


def base(name: str, source: str = "HUMAN", kind: str = "explicit", **more: Any) -> dict[str, Any]:
    """The attribute set every record of ``name`` carries, plus ``more``."""
    return {NAME: name, SOURCE: source, KIND: kind, **more}


def test_histogram_and_counter_are_exact() -> None:
    rng = random.Random(9)
    values: list[float] = [round(rng.random(), 3) for _ in range(150)]
    values += [rng.randint(1, 5) for _ in range(40)]
    values += [0, 0.5, 1, 4.5, 5, 10, 11.5]  # on boundaries, and past the last one
    with metered_app() as app:
        for value in values:
            with app.tracer.start_as_current_span("chat") as span:
                span.set_attribute(MODEL, "m1")
                assert fb.log_feedback("quality", value, source="CODE", strict=True)
        expected = key(base("quality", "CODE", **{MODEL: "m1"}))
        point = app.scores()[expected]
        assert point.count == len(values)
        assert point.sum == pytest.approx(sum(values), rel=1e-12)
        assert (point.min, point.max) == (min(values), max(values))
        assert tuple(point.explicit_bounds) == METRIC_SCORE_BOUNDARIES
        assert list(point.bucket_counts) == bucket_counts(values)
        assert app.records() == {expected: len(values)}
    assert fb.diagnostics() == {}


def test_negative_scores_are_counted_but_not_in_the_histogram(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with metered_app() as app:
        for value in (-1, -0.5, 0.5):
            with app.tracer.start_as_current_span("chat"):
                fb.log_feedback("sentiment", value)
        point = app.scores()[key(base("sentiment"))]
        assert (point.count, point.sum) == (1, 0.5)
        assert app.records() == {key(base("sentiment")): 3}
    assert fb.diagnostics() == {"negative_score": 2}
    warnings = [r for r in caplog.records if "negative score" in r.getMessage()]
    assert len(warnings) == 1  # once per feedback name


def test_booleans_are_one_and_zero_with_their_label() -> None:
    answers = [True] * 7 + [False] * 3
    with metered_app() as app:
        for answer in answers:
            with app.tracer.start_as_current_span("chat"):
                fb.log_feedback("thumbs_up", answer)
        scores = app.scores()
        up = scores[key(base("thumbs_up", **{LABEL: "true"}))]
        down = scores[key(base("thumbs_up", **{LABEL: "false"}))]
        assert (up.count, up.sum, down.count, down.sum) == (7, 7.0, 3, 0.0)
        assert sorted(app.records().values()) == [3, 7]


def test_labels_are_attributes_only_when_allow_listed() -> None:
    with metered_app(labels=["good", "bad"]) as app:
        with app.tracer.start_as_current_span("chat"):
            fb.log_feedback("quality", 0.9, label="good")
            fb.log_feedback("quality", 0.2, label="bad")
            fb.log_feedback("quality", 0.7, label="rather nice, said Ann at 10:42")
        assert app.records() == {
            key(base("quality", **{LABEL: "good"})): 1,
            key(base("quality", **{LABEL: "bad"})): 1,
            key(base("quality")): 1,
        }
    with metered_app() as app:  # no allow-list: no label but true/false
        with app.tracer.start_as_current_span("chat"):
            fb.log_feedback("quality", 0.9, label="good")
        assert app.records() == {key(base("quality")): 1}


def test_strings_never_become_attributes_and_have_no_score() -> None:
    text = "the answer cited the wrong year"
    with metered_app(labels=["positive"]) as app:
        with app.tracer.start_as_current_span("chat") as span:
            span.set_attribute(MODEL, "m1")
            span.set_attribute("input.value", "what year was it?")
            fb.log_feedback("comment", text, reason="wrong", source_id="user-42")
            fb.log_feedback("sentiment", "positive", kind="implicit")
        assert app.scores() == {}
        assert app.records() == {
            key(base("comment", **{MODEL: "m1"})): 1,
            key(base("sentiment", kind="implicit", **{LABEL: "positive", MODEL: "m1"})): 1,
        }
        seen = {value for attributes in app.records() for _, value in attributes}
        assert not seen & {text, "wrong", "user-42", "what year was it?"}


def test_span_attribute_allow_list() -> None:
    with metered_app(span_attributes=[MODEL, "deployment.tier", "app.tags"]) as app:
        with app.tracer.start_as_current_span("chat") as span:
            span.set_attribute(MODEL, "m2")
            span.set_attribute("deployment.tier", "beta")
            span.set_attribute("app.tags", ["a", "b"])  # arrays are never metric attributes
            span.set_attribute("gen_ai.provider.name", "openai")  # not in this allow-list
            fb.log_feedback("rating", 3)
        assert app.records() == {key(base("rating", **{MODEL: "m2", "deployment.tier": "beta"})): 1}
    with metered_app() as app:  # the default allow-list
        assert app.metrics.span_attributes == METRIC_SPAN_ATTRIBUTES
        with app.tracer.start_as_current_span("chat") as span:
            span.set_attributes({MODEL: "m3", "gen_ai.provider.name": "openai", "x": "y"})
            fb.log_feedback("rating", 3)
        expected = base("rating", **{MODEL: "m3", "gen_ai.provider.name": "openai"})
        assert app.records() == {key(expected): 1}


def test_late_feedback_gets_the_remembered_span_attributes() -> None:
    with metered_app() as app:
        with app.tracer.start_as_current_span("chat") as span:
            span.set_attribute(MODEL, "m1")
            token = fb.current_feedback_token()
        trace_id = format_trace_id(span.get_span_context().trace_id)
        span_id = format_span_id(span.get_span_context().span_id)
        fb.log_feedback("rating", 5, target=token, strict=True)
        fb.log_feedback("rating", 4, trace_id=trace_id, span_id=span_id, strict=True)
        point = app.scores()[key(base("rating", **{MODEL: "m1"}))]
        assert (point.count, point.sum) == (2, 9.0)


def test_late_feedback_without_the_span_processor_has_no_span_attributes() -> None:
    with metered_app(span_memory=False) as app:
        with app.tracer.start_as_current_span("chat") as span:
            span.set_attribute(MODEL, "m1")
            token = fb.current_feedback_token()
        fb.log_feedback("rating", 5, target=token, strict=True)
        assert app.records() == {key(base("rating")): 1}


def test_a_missing_key_comes_from_another_span_of_the_trace() -> None:
    with metered_app() as app:
        with app.tracer.start_as_current_span("chat"):
            with app.tracer.start_as_current_span("llm") as llm:
                llm.set_attribute(MODEL, "m4")
            fb.enrich_session(feedback={"ignored": 1})  # state only: no record, no metric
            token = fb.current_feedback_token()
            fb.log_feedback("rating", 2, target=token)  # the root is open, the model is not on it
        fb.log_feedback("rating", 4, target=token)  # late: the root has ended
        point = app.scores()[key(base("rating", **{MODEL: "m4"}))]
        assert (point.count, point.sum) == (2, 6.0)
        assert app.records() == {key(base("rating", **{MODEL: "m4"})): 2}


def test_feedback_for_a_span_never_seen_here_is_counted_without_span_attributes() -> None:
    with metered_app() as app:
        fb.log_feedback("rating", 1, trace_id="ab" * 16, span_id="cd" * 8, strict=True)
        point = app.scores()[key(base("rating"))]
        assert (point.count, point.sum) == (1, 1.0)


def test_a_failed_evaluation_counts_with_its_error_type_and_no_score() -> None:
    with metered_app() as app:
        with app.tracer.start_as_current_span("chat"):
            fb.log_feedback("judge", None, source="LLM_JUDGE", error=TimeoutError("slow"))
        assert app.scores() == {}
        (attributes,) = app.records()
        assert dict(attributes) == base("judge", "LLM_JUDGE", **{"error.type": "TimeoutError"})


def test_close_and_provider_shutdown_stop_recording() -> None:
    with metered_app() as app:
        with app.tracer.start_as_current_span("chat"):
            fb.log_feedback("rating", 1)
        app.metrics.close()
        app.metrics.close()  # idempotent
        with app.tracer.start_as_current_span("chat"):
            fb.log_feedback("rating", 1)
        assert app.records() == {key(base("rating")): 1}
    with metered_app() as app:
        app.tracer_provider.shutdown()  # the metrics' span processor stops them too
        fb.log_feedback("rating", 1, trace_id="ab" * 16, span_id="cd" * 8)
        assert app.records() == {}


class _ExplodingCounter(NoOpCounter):
    def add(self, amount: Any, attributes: Any = None, context: Any = None) -> None:
        raise RuntimeError("metrics backend down")


class _ExplodingMeter(NoOpMeter):
    def create_counter(self, name: str, unit: str = "", description: str = "") -> Any:
        return _ExplodingCounter(name)


class _ExplodingMeterProvider(NoOpMeterProvider):
    def get_meter(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return _ExplodingMeter(name)


@pytest.mark.parametrize("strict", [False, True])
def test_a_failing_instrument_never_reaches_the_app(strict: bool) -> None:
    with metered_app() as app, FeedbackMetrics(_ExplodingMeterProvider()):
        with app.tracer.start_as_current_span("chat"):
            feedback_id = fb.log_feedback("rating", 3, strict=strict)
        assert feedback_id is not None
        assert app.records() == {key(base("rating")): 1}  # the other observer still records
    assert fb.diagnostics() == {"metrics_error": 1}


def test_allow_lists_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "OTEL_FEEDBACK_METRICS_SPAN_ATTRIBUTES", " deployment.tier, gen_ai.request.model,,"
    )
    monkeypatch.setenv("OTEL_FEEDBACK_METRICS_LABELS", "good,bad")
    fb.reload_settings()
    with FeedbackMetrics(NoOpMeterProvider()) as metrics:
        assert metrics.span_attributes == ("deployment.tier", MODEL)
        assert metrics.labels == {"true", "false", "good", "bad"}
    monkeypatch.setenv("OTEL_FEEDBACK_METRICS_SPAN_ATTRIBUTES", "")
    monkeypatch.delenv("OTEL_FEEDBACK_METRICS_LABELS")
    fb.reload_settings()
    with FeedbackMetrics(NoOpMeterProvider()) as metrics:
        assert metrics.span_attributes == ()
        assert metrics.labels == {"true", "false"}


def test_a_string_allow_list_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="collection of strings"):
        FeedbackMetrics(NoOpMeterProvider(), span_attributes=MODEL)


def test_configure_records_into_a_given_meter_provider() -> None:
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    provider = fb.configure(
        set_global=False, exporter=InMemorySpanExporter(), metrics=meter_provider
    )
    try:
        tracer = provider.get_tracer("app")
        with tracer.start_as_current_span("chat") as span:
            span.set_attribute(MODEL, "m1")
            token = fb.current_feedback_token()
        fb.log_feedback("rating", 4, target=token, strict=True)  # late: needs the span memory
        data = reader.get_metrics_data()
        assert data is not None
        (metric,) = [
            m
            for r in data.resource_metrics
            for s in r.scope_metrics
            for m in s.metrics
            if m.name == "feedback.score"
        ]
        (point,) = metric.data.data_points
        assert dict(point.attributes or {}) == base("rating", **{MODEL: "m1"})
        assert (point.count, point.sum) == (1, 4.0)
    finally:
        provider.shutdown()
        meter_provider.shutdown()


def test_configure_rejects_a_wrong_metrics_argument() -> None:
    with pytest.raises(TypeError, match="MeterProvider"):
        fb.configure(set_global=False, exporter=InMemorySpanExporter(), metrics="yes")  # type: ignore[arg-type]
