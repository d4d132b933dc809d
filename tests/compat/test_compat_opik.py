"""Opik's documented snippets and its own feedback tests, on otel_feedback.compat.opik.

Each test is Opik code with only the import lines changed; the assertions are on the OTLP data
the in-process receiver decoded (``global_wire``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from helpers_wire import EVENT, Wire, assert_late_feedback_span, feedback_spans, only_event

import otel_feedback as fb
from otel_feedback.compat import opik
from otel_feedback.compat.opik import Opik, opik_context, track
from otel_feedback.testing import ReceivedSpan


def _scores(span: ReceivedSpan) -> dict[str, dict[str, object]]:
    """The gen_ai.evaluation.result events of a span, by evaluation name."""
    return {
        event.attributes["gen_ai.evaluation.name"]: event.attributes
        for event in span.events_named(EVENT)
    }


# -- documented snippets --------------------------------------------------------------------


def test_production_monitoring_snippet_scores_the_trace(global_wire: Wire) -> None:
    # docs: tracing/production_monitoring, "Logging feedback scores alongside traces"
    @track
    def llm_chain(input_text: str) -> str:
        opik_context.update_current_trace(
            feedback_scores=[
                {
                    "name": "user_feedback",
                    "value": 1.0,
                    "reason": "The response was helpful and accurate.",
                }
            ]
        )
        return "ok"

    llm_chain("What is Opik?")
    span = global_wire.one("llm_chain")
    assert span.attributes["feedback.user_feedback"] == 1.0
    event = only_event(span)
    assert event.attributes["gen_ai.evaluation.score.value"] == 1.0
    assert event.attributes["gen_ai.evaluation.explanation"].startswith("The response")
    assert json.loads(span.attributes["input.value"]) == {"input_text": "What is Opik?"}
    assert span.attributes["output.value"] == "ok"


def test_opik_context_module_snippet(global_wire: Wire) -> None:
    # python-sdk-reference/opik_context: read the current span/trace, update metadata and tags
    seen = {}

    @track
    def my_function() -> None:
        span_data = opik_context.get_current_span_data()
        trace_data = opik_context.get_current_trace_data()
        seen["span"], seen["trace"] = span_data.id, trace_data.id
        opik_context.update_current_span(metadata={"my_key": "my_value"})
        opik_context.update_current_trace(tags=["my_tag"])

    my_function()
    span = global_wire.one("my_function")
    assert (seen["trace"], seen["span"]) == (span.trace_id, span.span_id)
    assert span.attributes["metadata.my_key"] == "my_value"
    assert span.attributes["tag.tags"] == ("my_tag",)


def test_get_current_span_update_and_log_feedback_score(global_wire: Wire) -> None:
    @track(name="answer", type="llm", tags=["prod"], metadata={"prompt": {"version": 2}})
    def answer(question: str) -> str:
        span = opik_context.get_current_span()
        span.update(
            name="answer-v2",
            input={"context": "docs"},
            output={"text": "42"},
            metadata={"retries": 1},
            tags=["checked"],
        )
        span.log_feedback_score("relevance", 0.9, reason="on topic", category_name="relevant")
        return "42"

    answer("meaning of life?")
    span = global_wire.one("answer-v2")
    assert span.attributes["openinference.span.kind"] == "LLM"
    assert span.attributes["tag.tags"] == ("prod", "checked")
    assert span.attributes["metadata.prompt.version"] == 2
    assert span.attributes["metadata.retries"] == 1
    assert json.loads(span.attributes["input.value"]) == {
        "question": "meaning of life?",
        "context": "docs",
    }
    assert span.attributes["output.value"] == "42"  # the result, captured at the end
    score = _scores(span)["relevance"]
    assert score["gen_ai.evaluation.score.label"] == "relevant"
    assert score["gen_ai.evaluation.explanation"] == "on topic"


# -- Opik's own feedback tests (tests/e2e/test_feedback_scores.py), translated -------------------


def test_feedbacks_logged_via_trace_and_span(global_wire: Wire) -> None:
    client = Opik()
    trace = client.trace(name="trace-name")
    trace.log_feedback_score(
        "trace-metric-1", value=0.5, category_name="category-1", reason="some-reason-1"
    )
    trace.log_feedback_score(
        "trace-metric-2", value=0.95, category_name="category-2", reason="some-reason-2"
    )
    span = trace.span(name="span-name")
    span.log_feedback_score(
        "span-metric-1", value=0.75, category_name="category-3", reason="some-reason-3"
    )
    span.log_feedback_score(
        "span-metric-2", value=0.25, category_name="category-4", reason="some-reason-4"
    )
    client.flush()  # Opik logs open traces at flush: they are ended and exported

    root, child = global_wire.one("trace-name"), global_wire.one("span-name")
    assert (root.trace_id, child.trace_id) == (trace.id, trace.id)
    assert child.span_id == span.id
    assert child.parent_span_id == root.span_id
    assert root.parent_span_id is None
    trace_scores, span_scores = _scores(root), _scores(child)
    assert {
        name: (
            s["gen_ai.evaluation.score.value"],
            s["gen_ai.evaluation.score.label"],
            s["gen_ai.evaluation.explanation"],
        )
        for name, s in trace_scores.items()
    } == {
        "trace-metric-1": (0.5, "category-1", "some-reason-1"),
        "trace-metric-2": (0.95, "category-2", "some-reason-2"),
    }
    assert set(span_scores) == {"span-metric-1", "span-metric-2"}
    assert child.attributes["feedback.span-metric-2"] == 0.25


def test_feedback_scores_via_update_current_span_and_trace(global_wire: Wire) -> None:
    ids: dict[str, str] = {}

    @opik.track
    def f_inner() -> None:
        ids["inner"] = opik_context.get_current_span_data().id
        opik_context.update_current_span(
            feedback_scores=[
                {
                    "name": "inner-span-feedback-score",
                    "value": 0.25,
                    "category_name": "span-score-category",
                    "reason": "span-score-reason",
                }
            ]
        )

    @opik.track(project_name="manually-specified-project")
    def f_outer() -> None:
        ids["trace"] = opik_context.get_current_trace_data().id
        ids["outer"] = opik_context.get_current_span_data().id
        f_inner()
        opik_context.update_current_trace(
            feedback_scores=[
                {
                    "name": "trace-feedback-score",
                    "value": 0.75,
                    "category_name": "trace-score-category",
                    "reason": "trace-score-reason",
                },
                {
                    "name": "trace-feedback-score-2",
                    "value": 0.5,
                    "category_name": "trace-score-category-2",
                    "reason": "trace-score-reason-2",
                },
            ]
        )

    f_outer()
    opik.flush_tracker()
    outer, inner = global_wire.one("f_outer"), global_wire.one("f_inner")
    assert (outer.trace_id, outer.span_id, inner.span_id) == (
        ids["trace"],
        ids["outer"],
        ids["inner"],
    )
    assert inner.parent_span_id == outer.span_id
    assert set(_scores(outer)) == {"trace-feedback-score", "trace-feedback-score-2"}
    assert _scores(inner)["inner-span-feedback-score"]["gen_ai.evaluation.score.label"] == (
        "span-score-category"
    )


def test_trace_scores_by_id_after_the_trace_ended(global_wire: Wire) -> None:
    client = Opik()
    trace = client.trace(name="trace-name-1")
    trace.end()
    scores = [
        {
            "id": trace.id,
            "name": "trace-metric-1",
            "value": 0.5,
            "category_name": "category-1",
            "reason": "some-reason-1",
            "project_name": "ignored-project",
        },
        {"id": trace.id, "name": "trace-metric-2", "value": 0.95},
    ]
    ids = client.log_traces_feedback_scores(scores=scores, project_name="project-2")
    client.flush()
    assert all(ids)
    assert len(ids) == 2
    root = global_wire.one("trace-name-1")
    late = feedback_spans(global_wire.wait(3))
    assert len(late) == 2
    for span in late:
        assert_late_feedback_span(span, root)
    assert fb.diagnostics() == {}, "project_name is an Opik key, not an unknown one"


def test_opik_uuid_form_of_a_trace_id_is_accepted(global_wire: Wire) -> None:
    client = Opik()
    trace = client.trace(name="t")
    trace.end()
    hex_id = trace.id
    dashed = f"{hex_id[:8]}-{hex_id[8:12]}-{hex_id[12:16]}-{hex_id[16:20]}-{hex_id[20:]}"
    [feedback_id] = client.log_traces_feedback_scores([{"id": dashed, "name": "x", "value": 1}])
    assert feedback_id is not None
    [late] = feedback_spans(global_wire.wait(2))
    assert late.trace_id == hex_id


def test_thread_scores_are_session_records(global_wire: Wire) -> None:
    client = Opik()
    client.trace(name="turn-1", thread_id="thread-p1").end()
    client.trace(name="turn-2", thread_id="thread-p1").end()
    ids = client.get_threads_client().log_threads_feedback_scores(
        [
            {
                "id": "thread-p1",
                "name": "resolved",
                "value": 1.0,
                "reason": "said thanks",
                "category_name": "yes",
            }
        ],
        project_name="p",
    )
    client.flush()
    spans = global_wire.wait(3)
    turns = [span for span in spans if span.name.startswith("turn-")]
    assert {span.attributes["session.id"] for span in turns} == {"thread-p1"}
    [record] = feedback_spans(spans)
    assert record.parent_span_id is None, "a session record is a root of its own"
    assert record.trace_id not in {span.trace_id for span in turns}
    assert record.attributes["session.id"] == "thread-p1"
    assert record.attributes["feedback.resolved"] == 1.0
    assert record.duration_ns == 0
    event = only_event(record)
    assert event.attributes["feedback.id"] == ids[0]
    assert event.attributes["gen_ai.evaluation.score.label"] == "yes"
    assert event.attributes["gen_ai.evaluation.explanation"] == "said thanks"


def test_bad_thread_scores_are_reported_not_raised(global_wire: Wire) -> None:
    client = Opik()
    ids = client.log_threads_feedback_scores(
        [
            {"name": "no-id", "value": 1.0},
            "not-a-dict",
            {"id": "t", "name": "typo", "value": 1.0, "reasn": "misspelled"},
        ]  # type: ignore[list-item]
    )
    assert ids[:2] == [None, None]
    assert ids[2] is not None
    counts = fb.diagnostics()
    assert counts["invalid_value"] == 2
    assert counts["unknown_key"] == 1


def test_bad_thread_score_raises_in_strict_mode(global_wire: Wire, strict: None) -> None:
    with pytest.raises(fb.InvalidFeedbackError):
        Opik().log_threads_feedback_scores([{"name": "no-id", "value": 1.0}])


def test_manual_span_with_start_and_end_time(global_wire: Wire) -> None:
    start = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    client = Opik()
    trace = client.trace(
        name="manual", input={"q": "hi"}, metadata={"env": "test"}, tags=["a"], start_time=start
    )
    child = trace.span(
        name="step",
        type="tool",
        input={"x": 1},
        start_time=start + dt.timedelta(seconds=1),
        end_time=start + dt.timedelta(seconds=2),
    )
    trace.end(output={"a": "hello"}, end_time=start + dt.timedelta(seconds=3))
    root, step = global_wire.one("manual"), global_wire.one("step")
    assert root.start_time_unix_nano == int(start.timestamp()) * 10**9
    assert root.duration_ns == 3 * 10**9
    assert step.duration_ns == 10**9
    assert step.parent_span_id == root.span_id
    assert step.attributes["openinference.span.kind"] == "TOOL"
    assert json.loads(root.attributes["output.value"]) == {"a": "hello"}
    assert root.attributes["metadata.env"] == "test"
    assert child.trace is trace


# -- @track: kinds of functions, nesting, errors ----------------------------------------------


def test_track_async_and_nesting(global_wire: Wire) -> None:
    @track(type="tool")
    async def lookup(city: str) -> dict[str, str]:
        return {"city": city, "country": "FR"}

    @track
    async def agent(question: str) -> str:
        found = await lookup("Paris")
        assert opik_context.get_current_span() is not None
        return found["country"]

    assert asyncio.run(agent("where?")) == "FR"
    outer, inner = global_wire.one("agent"), global_wire.one("lookup")
    assert inner.parent_span_id == outer.span_id
    assert json.loads(inner.attributes["output.value"]) == {"city": "Paris", "country": "FR"}


def test_track_generators_keep_the_span_open_until_exhausted(global_wire: Wire) -> None:
    @track
    def stream(n: int) -> Iterator[str]:
        for index in range(n):
            assert opik_context.get_current_span() is not None  # current inside
            yield f"tok{index} "

    @track(generations_aggregator=len)
    async def astream(n: int) -> AsyncIterator[int]:
        for index in range(n):
            yield index

    produced = stream(3)
    assert opik_context.get_current_span() is None  # not current between steps
    assert list(produced) == ["tok0 ", "tok1 ", "tok2 "]

    async def consume() -> list[int]:
        return [item async for item in astream(4)]

    assert asyncio.run(consume()) == [0, 1, 2, 3]
    assert global_wire.one("stream").attributes["output.value"] == "tok0 tok1 tok2 "
    assert global_wire.one("astream").attributes["output.value"] == "4"


def test_track_records_an_exception_and_reraises_it(global_wire: Wire) -> None:
    @track
    def broken() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        broken()
    span = global_wire.one("broken")
    assert span.status_code == 2
    assert span.events_named("exception")[0].attributes["exception.type"] == "ValueError"


def test_track_capture_options(global_wire: Wire) -> None:
    @track(capture_input=False, capture_output=False)
    def secret(password: str) -> str:
        return password

    @track(ignore_arguments=["api_key"])
    def call(prompt: str, api_key: str) -> str:
        return prompt

    secret("hunter2")
    call("hi", api_key="sk-1")
    assert "input.value" not in global_wire.one("secret").attributes
    assert "output.value" not in global_wire.one("secret").attributes
    assert json.loads(global_wire.one("call").attributes["input.value"]) == {"prompt": "hi"}


def test_update_outside_a_tracked_call_is_reported(global_wire: Wire) -> None:
    assert opik_context.get_current_span() is None
    assert opik_context.get_current_trace() is None
    opik_context.update_current_span(metadata={"a": 1})
    opik_context.update_current_trace(metadata={"a": 1})
    assert fb.diagnostics()["no_target"] == 2


def test_bad_feedback_score_is_dropped_and_counted(global_wire: Wire) -> None:
    @track
    def scored() -> None:
        span = opik_context.get_current_span()
        assert span.log_feedback_score("nan", float("nan")) is None
        span.update(feedback_scores=["not-a-dict"])  # type: ignore[list-item]
        assert span.log_feedback_score("ok", 1) is not None

    scored()
    span = global_wire.one("scored")
    assert set(_scores(span)) == {"ok"}
    assert fb.diagnostics()["invalid_value"] == 2


def test_feedbacks_logged_via_client_with_span_id_alone(global_wire: Wire) -> None:
    # Opik's test_feedbacks_are_logged_via_client__happyflow: span scores carry only the span id
    client = Opik()
    trace = client.trace(name="trace-name-1")
    span = trace.span(name="span-name-1")
    span.end()
    trace.end()
    client.log_spans_feedback_scores(
        scores=[
            {
                "id": span.id,
                "name": "span-metric-1",
                "value": 0.75,
                "category_name": "category-3",
                "reason": "some-reason-3",
            },
            {"id": span.id, "name": "span-metric-2", "value": "0.25"},  # numeric string
        ]
    )
    client.log_traces_feedback_scores(
        scores=[{"id": trace.id, "name": "trace-metric-1", "value": 0.5}]
    )
    client.flush()
    spans = global_wire.wait(5)
    root, child = (
        global_wire.receiver.span_by_name("trace-name-1"),
        global_wire.receiver.span_by_name("span-name-1"),
    )
    late = {only_event(s).attributes["gen_ai.evaluation.name"]: s for s in feedback_spans(spans)}
    assert_late_feedback_span(late["span-metric-1"], child)
    assert_late_feedback_span(late["span-metric-2"], child)
    assert_late_feedback_span(late["trace-metric-1"], root)
    assert only_event(late["span-metric-2"]).attributes["gen_ai.evaluation.score.value"] == 0.25
    assert only_event(late["span-metric-1"]).attributes["gen_ai.evaluation.score.label"] == (
        "category-3"
    )


def test_misspelled_score_key_is_reported(global_wire: Wire, strict: None) -> None:
    client = Opik()
    trace = client.trace(name="t")
    trace.end()
    with pytest.raises(fb.InvalidFeedbackError):
        client.log_traces_feedback_scores(
            [{"id": trace.id, "name": "x", "value": 1, "reasn": "typo"}]
        )


def test_bad_update_values_never_raise(global_wire: Wire) -> None:
    @track(tags="single-tag")  # type: ignore[arg-type]
    def step() -> None:
        span = opik_context.get_current_span()
        assert span is not None
        span.update(metadata=42, usage="lots", input={"ok": True})  # type: ignore[arg-type]

    step()
    span = global_wire.one("step")
    assert span.attributes["tag.tags"] == ("single-tag",)
    assert span.attributes["input.value"] == '{"ok": true}'
    assert fb.diagnostics() == {"invalid_value": 1}, "metadata=42 is reported"


def test_log_traces_manually_snippet(global_wire: Wire) -> None:
    # docs: tracing/log_traces, "Using the low-level Opik client" (its spans are never ended)
    client = Opik(project_name="Opik client demo")
    trace = client.trace(
        name="my_trace",
        input={"user_question": "Hello, how are you?"},
        output={"response": "Comment ça va?"},
    )
    trace.span(
        name="Add prompt template",
        input={"text": "Hello, how are you?", "prompt_template": "Translate: {text}"},
        output={"text": "Translate: Hello, how are you?"},
        metadata={"prompt_template_version": "1.2"},
    )
    trace.span(
        name="llm_call",
        type="llm",
        input={"prompt": "Translate: Hello, how are you?"},
        output={"response": "Comment ça va?"},
    )
    trace.end()
    spans = global_wire.wait(3)
    root = global_wire.receiver.span_by_name("my_trace")
    children = [span for span in spans if span.parent_span_id == root.span_id]
    assert {span.name for span in children} == {"Add prompt template", "llm_call"}
    for child in children:
        assert child.end_time_unix_nano <= root.end_time_unix_nano, "ended with the trace"
    llm = global_wire.receiver.span_by_name("llm_call")
    assert llm.attributes["openinference.span.kind"] == "LLM"
    assert json.loads(llm.attributes["output.value"]) == {"response": "Comment ça va?"}
    template = global_wire.receiver.span_by_name("Add prompt template")
    assert template.attributes["metadata.prompt_template_version"] == "1.2"
    assert json.loads(root.attributes["input.value"]) == {"user_question": "Hello, how are you?"}


def test_threads_snippet(global_wire: Wire) -> None:
    # docs: tracing/log_chat_conversations (threads)

    @opik.track
    def chat_message(input: str, thread_id: str) -> str:
        opik_context.update_current_trace(thread_id=thread_id)
        return "Opik is an Open Source GenAI platform"

    thread_id = str(uuid.uuid4())
    chat_message("What is Opik ?", thread_id)
    chat_message("Can you tell me more about the platform ?", thread_id)
    Opik().get_threads_client().log_threads_feedback_scores(
        scores=[{"id": thread_id, "name": "user_satisfaction", "value": 0.8}]
    )
    spans = global_wire.wait(3)
    turns = [span for span in spans if span.name == "chat_message"]
    assert len(turns) == 2
    assert {span.attributes["session.id"] for span in turns} == {thread_id}
    [record] = feedback_spans(spans)
    assert record.attributes["session.id"] == thread_id
    assert record.attributes["feedback.user_satisfaction"] == 0.8
