"""The helpers (enrich_span, enrich_session, log_feedback, tokens, Opik batches), proven on
decoded OTLP data from an in-process receiver, over gRPC and HTTP/protobuf."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from helpers_wire import (
    EVENT,
    EVENT_KEYS,
    Wire,
    WireFactory,
    assert_late_feedback_span,
    feedback_spans,
    hex_ids,
    only_event,
)
from opentelemetry import trace
from opentelemetry.trace import format_span_id, format_trace_id

import otel_feedback as fb
from otel_feedback.testing import OTLPReceiver

RANDOM_TRACE = "5b8efff798038103d269b633813fc60c"
RANDOM_SPAN = "eee19b7ec3c1b174"


def iso_ns(text: str) -> int:
    """Nanoseconds since the epoch of an ISO 8601 UTC timestamp ending in Z."""
    assert text.endswith("Z"), text
    moment = dt.datetime.fromisoformat(text[:-1]).replace(tzinfo=dt.timezone.utc)
    return round(moment.timestamp() * 1_000_000) * 1000


def assert_timestamp_between(text: str, before_ns: int, after_ns: int) -> None:
    at = iso_ns(text)
    assert before_ns - 2_000 <= at <= after_ns + 2_000, (text, before_ns, after_ns)


# -- live spans ------------------------------------------------------------------------------


def test_live_span_gets_state_and_event(wire: Wire) -> None:
    with wire.tracer.start_as_current_span("chat") as span:
        before = time.time_ns()
        feedback_id = fb.log_feedback(
            "user_rating",
            4,
            source="human",
            source_id="web_ui",
            reason="helpful",
            label="good",
            kind="explicit",
        )
        after = time.time_ns()
        fb.enrich_span(feedback={"rating": 5, "step1": {"retry": True}})
    trace_id, span_id = hex_ids(span)
    chat = wire.one("chat")
    assert (chat.trace_id, chat.span_id) == (trace_id, span_id)
    assert chat.protocol == ("grpc" if wire.protocol == "grpc" else "http")
    assert chat.attributes["feedback.user_rating"] == 4
    assert chat.attributes["feedback.rating"] == 5
    assert chat.attributes["feedback.step1.retry"] is True
    event = only_event(chat)
    assert set(event.attributes) == set(EVENT_KEYS)
    assert event.attributes == {
        "gen_ai.evaluation.name": "user_rating",
        "gen_ai.evaluation.score.value": 4.0,
        "gen_ai.evaluation.score.label": "good",
        "gen_ai.evaluation.explanation": "helpful",
        "feedback.id": feedback_id,
        "feedback.value": 4,
        "feedback.source.type": "HUMAN",
        "feedback.source.id": "web_ui",
        "feedback.kind": "explicit",
        "feedback.timestamp": event.attributes["feedback.timestamp"],
    }
    assert isinstance(feedback_id, str)
    assert len(feedback_id) == 32
    assert int(feedback_id, 16)
    assert_timestamp_between(event.attributes["feedback.timestamp"], before, after)
    assert chat.start_time_unix_nano <= event.time_unix_nano <= chat.end_time_unix_nano
    assert not feedback_spans(wire.receiver.spans), "a live span needs no feedback span"


def test_bool_and_string_values_shape_the_event(grpc_wire: Wire) -> None:
    with grpc_wire.tracer.start_as_current_span("chat"):
        fb.log_feedback("thumbs_up", False, kind="IMPLICIT", source="code")
        fb.log_feedback("comment", "too long", source=None)
        fb.log_feedback("edits", {"city": "NY", "tags": ["a", "b"]}, source="LLM-judge")
    chat = grpc_wire.one("chat")
    thumbs, comment, edits = chat.events_named(EVENT)
    assert thumbs.attributes["gen_ai.evaluation.score.value"] == 0.0
    assert thumbs.attributes["gen_ai.evaluation.score.label"] == "false"
    assert thumbs.attributes["feedback.kind"] == "implicit"
    assert thumbs.attributes["feedback.source.type"] == "CODE"
    assert "gen_ai.evaluation.score.value" not in comment.attributes
    assert comment.attributes["gen_ai.evaluation.score.label"] == "too long"
    assert "feedback.source.type" not in comment.attributes
    assert edits.attributes["feedback.value.city"] == "NY"
    assert edits.attributes["feedback.value.tags"] == ("a", "b")
    assert edits.attributes["feedback.source.type"] == "LLM_JUDGE"
    assert "gen_ai.evaluation.score.value" not in edits.attributes
    assert chat.attributes["feedback.thumbs_up"] is False
    assert chat.attributes["feedback.comment"] == "too long"
    assert chat.attributes["feedback.edits.city"] == "NY"
    assert chat.attributes["feedback.edits.tags"] == ("a", "b")
    assert len({e.attributes["feedback.id"] for e in (thumbs, comment, edits)}) == 3


def test_given_timestamp_is_kept(grpc_wire: Wire) -> None:
    given = dt.datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=dt.timezone.utc)
    with grpc_wire.tracer.start_as_current_span("chat"):
        fb.log_feedback("rating", 1, timestamp=given)
    event = only_event(grpc_wire.one("chat"))
    assert event.attributes["feedback.timestamp"] == "2030-01-02T03:04:05.678901Z"


def test_session_feedback_from_grandchild_lands_on_local_root(wire: Wire) -> None:
    tracer = wire.tracer
    with tracer.start_as_current_span("root") as root, tracer.start_as_current_span("child"):
        with tracer.start_as_current_span("grandchild"):
            fb.enrich_session(feedback={"liked": True}, metrics={"turns": 3})
        fb.enrich_session(feedback={"comment": "nice"})
    spans = {span.name: span for span in wire.wait(3)}
    assert spans["root"].span_id == hex_ids(root)[1]
    assert spans["root"].attributes["feedback.liked"] is True
    assert spans["root"].attributes["feedback.comment"] == "nice"
    assert spans["root"].attributes["metrics.turns"] == 3
    for name in ("child", "grandchild"):
        assert not any(key.startswith(("feedback.", "metrics.")) for key in spans[name].attributes)
    assert not feedback_spans(wire.receiver.spans)


def test_session_feedback_after_root_ended_goes_under_root(grpc_wire: Wire) -> None:
    tracer = grpc_wire.tracer
    with tracer.start_as_current_span("root") as root:
        child = tracer.start_span("child")
    # The root has ended; the child (current below) has not.
    with trace.use_span(child, end_on_exit=True):
        fb.enrich_session(feedback={"late": 1})
    root_wire = grpc_wire.one("root")
    late = grpc_wire.one("feedback")
    assert_late_feedback_span(late, root_wire)
    assert root_wire.span_id == hex_ids(root)[1]
    assert late.attributes["feedback.late"] == 1
    assert late.start_time_unix_nano == root_wire.end_time_unix_nano


def test_update_not_overwrite_across_calls(wire: Wire) -> None:
    with wire.tracer.start_as_current_span("chat"):
        fb.enrich_span(feedback={"a": 1, "n": {"x": 1}}, metadata={"model": "m1"})
        fb.enrich_span(feedback={"b": 2, "n": {"y": 2}}, metrics={"score": 0.5})
        fb.enrich_span(feedback={"a": 3}, user_properties={"plan": "pro"})
        fb.log_feedback("rating", 5)
        fb.enrich_span(metadata={"extra": True})
    attributes = wire.one("chat").attributes
    assert {k: v for k, v in attributes.items() if k.startswith(fb.NAMESPACES)} == {
        "feedback.a": 3,
        "feedback.b": 2,
        "feedback.n.x": 1,
        "feedback.n.y": 2,
        "feedback.rating": 5,
        "metadata.model": "m1",
        "metadata.extra": True,
        "metrics.score": 0.5,
        "user_properties.plan": "pro",
    }
    assert fb.unflatten(attributes, prefix="feedback") == {
        "a": 3,
        "b": 2,
        "n": {"x": 1, "y": 2},
        "rating": 5,
    }


@pytest.mark.parametrize("namespace", fb.NAMESPACES)
def test_every_namespace_on_span_and_session(grpc_wire: Wire, namespace: str) -> None:
    tracer = grpc_wire.tracer
    with tracer.start_as_current_span("root"), tracer.start_as_current_span("leaf"):
        fb.enrich_span(**{namespace: {"k": {"deep": [1, 2]}, "s": "v"}})
        fb.enrich_session(**{namespace: {"session_key": 7}})
    spans = {span.name: span for span in grpc_wire.wait(2)}
    assert spans["leaf"].attributes[f"{namespace}.k.deep"] == (1, 2)
    assert spans["leaf"].attributes[f"{namespace}.s"] == "v"
    assert spans["root"].attributes[f"{namespace}.session_key"] == 7
    assert f"{namespace}.session_key" not in spans["leaf"].attributes


# -- ended spans: late feedback spans ----------------------------------------------------------


def test_feedback_by_token_after_span_ended(wire: Wire) -> None:
    with (
        fb.using_session("sess-1", user_id="u-42"),
        wire.tracer.start_as_current_span("chat"),
    ):
        token = fb.current_feedback_token()
        issued = time.time_ns()
    assert isinstance(token, str)
    before = time.time_ns()
    feedback_id = fb.log_feedback(
        "user_rating",
        {"stars": 4, "tags": ["fast"]},
        target=token,
        source="HUMAN",
        source_id="u-42",
        reason="helpful",
        label="good",
    )
    after = time.time_ns()
    chat = wire.one("chat")
    late = wire.one("feedback")
    assert_late_feedback_span(late, chat)
    parsed = fb.parse_feedback_token(token)
    assert late.start_time_unix_nano == parsed.issued_at_ns <= issued
    assert late.attributes["feedback.user_rating.stars"] == 4
    assert late.attributes["feedback.user_rating.tags"] == ("fast",)
    assert late.attributes["session.id"] == "sess-1"
    assert late.attributes["user.id"] == "u-42"
    assert_timestamp_between(late.attributes["feedback.timestamp"], before, after)
    event = only_event(late)
    assert event.time_unix_nano == late.start_time_unix_nano
    assert event.attributes["feedback.id"] == feedback_id
    assert event.attributes["feedback.timestamp"] == late.attributes["feedback.timestamp"]
    assert event.attributes["gen_ai.evaluation.name"] == "user_rating"
    assert event.attributes["gen_ai.evaluation.score.label"] == "good"
    assert event.attributes["gen_ai.evaluation.explanation"] == "helpful"
    assert event.attributes["feedback.value.stars"] == 4
    assert event.attributes["feedback.value.tags"] == ("fast",)
    assert event.attributes["feedback.source.type"] == "HUMAN"
    assert event.attributes["feedback.source.id"] == "u-42"
    assert event.attributes["feedback.kind"] == "explicit"


def test_every_event_attribute_on_a_late_span(grpc_wire: Wire) -> None:
    with grpc_wire.tracer.start_as_current_span("chat") as span:
        pass
    trace_id, span_id = hex_ids(span)
    feedback_id = fb.log_feedback(
        "quality",
        0.75,
        trace_id=trace_id,
        span_id=span_id,
        source="LLM_JUDGE",
        source_id="judge-model",
        reason="coherent",
        label="good",
        kind="implicit",
    )
    chat = grpc_wire.one("chat")
    late = grpc_wire.one("feedback")
    assert_late_feedback_span(late, chat)
    # No token: placed at the remembered end of the target.
    assert late.start_time_unix_nano == chat.end_time_unix_nano
    event = only_event(late)
    assert set(event.attributes) == set(EVENT_KEYS)
    assert event.attributes["gen_ai.evaluation.score.value"] == 0.75
    assert event.attributes["feedback.value"] == 0.75
    assert event.attributes["feedback.id"] == feedback_id
    assert event.attributes["feedback.source.id"] == "judge-model"
    assert event.attributes["feedback.kind"] == "implicit"
    assert late.attributes["feedback.quality"] == 0.75
    assert "feedback.timestamp" in late.attributes


def test_enrich_span_on_ended_span_goes_to_feedback_span(grpc_wire: Wire) -> None:
    with grpc_wire.tracer.start_as_current_span("chat") as span:
        pass
    fb.enrich_span(feedback={"after": True}, metrics={"m": 1}, span=span)
    chat = grpc_wire.one("chat")
    late = grpc_wire.one("feedback")
    assert_late_feedback_span(late, chat)
    assert late.start_time_unix_nano == chat.end_time_unix_nano
    assert late.attributes["feedback.after"] is True
    assert late.attributes["metrics.m"] == 1
    assert "feedback.after" not in chat.attributes
    assert not late.events, "enrich_span records state, not a feedback event"


def test_feedback_by_span_object_after_it_ended(grpc_wire: Wire) -> None:
    with grpc_wire.tracer.start_as_current_span("chat") as span:
        pass
    assert fb.log_feedback("rating", 2, target=span)
    late = grpc_wire.one("feedback")
    chat = grpc_wire.one("chat")
    assert_late_feedback_span(late, chat)
    assert late.start_time_unix_nano == chat.end_time_unix_nano


def test_token_issued_after_span_ended_stays_inside_span(grpc_wire: Wire) -> None:
    with grpc_wire.tracer.start_as_current_span("chat") as span:
        pass
    token = fb.current_feedback_token(span)
    assert token is not None
    assert fb.parse_feedback_token(token).issued_at_ns == span.end_time  # type: ignore[attr-defined]
    fb.log_feedback("rating", 1, target=token)
    assert_late_feedback_span(grpc_wire.one("feedback"), grpc_wire.one("chat"))


def test_in_process_token_time_is_clamped_to_the_remembered_end(grpc_wire: Wire) -> None:
    with grpc_wire.tracer.start_as_current_span("chat") as span:
        pass
    trace_id, span_id = span.get_span_context().trace_id, span.get_span_context().span_id
    late_token = fb.FeedbackToken(trace_id, span_id, issued_at_ns=time.time_ns() + 10**12)
    fb.log_feedback("rating", 1, target=late_token)
    chat = grpc_wire.one("chat")
    late = grpc_wire.one("feedback")
    assert_late_feedback_span(late, chat)
    assert late.start_time_unix_nano == chat.end_time_unix_nano


def test_unknown_span_lands_at_current_time(grpc_wire: Wire) -> None:
    before = time.time_ns()
    assert fb.log_feedback("rating", 3, trace_id=RANDOM_TRACE, span_id=RANDOM_SPAN)
    after = time.time_ns()
    late = grpc_wire.one("feedback")
    assert late.trace_id == RANDOM_TRACE
    assert late.parent_span_id == RANDOM_SPAN
    assert [(link.trace_id, link.span_id) for link in late.links] == [(RANDOM_TRACE, RANDOM_SPAN)]
    assert before <= late.start_time_unix_nano <= after
    assert late.duration_ns == 0


# -- trace-level feedback ------------------------------------------------------------------------


def test_trace_id_only_with_known_root_goes_under_root(wire: Wire) -> None:
    tracer = wire.tracer
    with tracer.start_as_current_span("root") as root, tracer.start_as_current_span("child"):
        pass
    trace_id, root_id = hex_ids(root)
    assert fb.log_feedback("coherence", 0.9, trace_id=trace_id)
    root_wire = wire.one("root")
    late = wire.one("feedback")
    assert root_wire.span_id == root_id
    assert_late_feedback_span(late, root_wire)
    assert late.start_time_unix_nano == root_wire.end_time_unix_nano


def test_trace_id_only_while_root_open_writes_on_root(grpc_wire: Wire) -> None:
    tracer = grpc_wire.tracer
    with tracer.start_as_current_span("root") as root:
        with tracer.start_as_current_span("child"):
            pass
        fb.log_feedback("coherence", 0.9, trace_id=hex_ids(root)[0])
    root_wire = grpc_wire.one("root")
    assert root_wire.attributes["feedback.coherence"] == 0.9
    assert only_event(root_wire).attributes["gen_ai.evaluation.name"] == "coherence"
    assert not feedback_spans(grpc_wire.receiver.spans)


def test_trace_id_only_unknown_root_is_a_parentless_span_in_that_trace(wire: Wire) -> None:
    assert fb.log_feedback("coherence", 0.25, trace_id=RANDOM_TRACE, reason="meh")
    late = wire.one("feedback")
    assert late.trace_id == RANDOM_TRACE
    assert late.parent_span_id is None
    assert late.links == []
    assert late.duration_ns == 0
    assert late.attributes["feedback.coherence"] == 0.25
    assert "feedback.timestamp" in late.attributes
    assert only_event(late).attributes["gen_ai.evaluation.explanation"] == "meh"


def test_trace_id_as_int_and_span_context_target(grpc_wire: Wire) -> None:
    with grpc_wire.tracer.start_as_current_span("chat") as span:
        pass
    context = span.get_span_context()
    fb.log_feedback("a", 1, trace_id=context.trace_id, span_id=context.span_id)
    fb.log_feedback("b", 2, target=context)
    chat = grpc_wire.one("chat")
    lates = grpc_wire.wait_named("feedback", 2)
    for late in lates:
        assert_late_feedback_span(late, chat)
    assert {k for late in lates for k in late.attributes if k in ("feedback.a", "feedback.b")} == {
        "feedback.a",
        "feedback.b",
    }


# -- Opik-shaped batches --------------------------------------------------------------------------


def test_log_traces_feedback_scores(wire: Wire) -> None:
    with wire.tracer.start_as_current_span("root") as root:
        pass
    known_trace = hex_ids(root)[0]
    ids = fb.log_traces_feedback_scores(
        [
            {"id": known_trace, "name": "coherence", "value": 0.75, "reason": "fine"},
            {"id": RANDOM_TRACE, "name": "relevance", "value": 1, "category_name": "high"},
        ]
    )
    assert len(ids) == 2
    assert all(ids)
    root_wire = wire.one("root")
    lates = {span.trace_id: span for span in wire.wait_named("feedback", 2)}
    under_root = lates[known_trace]
    assert_late_feedback_span(under_root, root_wire)
    event = only_event(under_root)
    assert event.attributes["feedback.id"] == ids[0]
    assert event.attributes["gen_ai.evaluation.name"] == "coherence"
    assert event.attributes["gen_ai.evaluation.score.value"] == 0.75
    assert event.attributes["gen_ai.evaluation.explanation"] == "fine"
    orphan = lates[RANDOM_TRACE]
    assert orphan.parent_span_id is None
    assert only_event(orphan).attributes["gen_ai.evaluation.score.label"] == "high"
    assert only_event(orphan).attributes["feedback.id"] == ids[1]


def test_log_spans_feedback_scores(wire: Wire) -> None:
    tracer = wire.tracer
    with tracer.start_as_current_span("root") as root:
        with tracer.start_as_current_span("ended") as ended:
            pass
        with tracer.start_as_current_span("open") as still_open:
            trace_id = hex_ids(root)[0]
            ids = fb.log_spans_feedback_scores(
                [
                    {
                        "id": hex_ids(ended)[1],
                        "trace_id": trace_id,
                        "name": "quality",
                        "value": 0.8,
                        "category_name": "good",
                    },
                    {
                        "id": hex_ids(still_open)[1],
                        "trace_id": trace_id,
                        "name": "quality",
                        "value": 0.1,
                        "category_name": "bad",
                        "reason": "wrong",
                    },
                ]
            )
    assert len(ids) == 2
    assert all(ids)
    spans = {span.name: span for span in wire.wait(4)}
    late = spans["feedback"]
    # "ended" was not tokened, so its end is not held: the feedback sits inside the open root.
    assert_late_feedback_span(late, spans["ended"], inside=False)
    assert spans["root"].start_time_unix_nano <= late.start_time_unix_nano
    assert late.start_time_unix_nano <= spans["root"].end_time_unix_nano
    assert only_event(late).attributes["gen_ai.evaluation.score.label"] == "good"
    assert only_event(late).attributes["feedback.id"] == ids[0]
    assert late.attributes["feedback.quality"] == 0.8
    open_event = only_event(spans["open"])
    assert open_event.attributes["gen_ai.evaluation.score.label"] == "bad"
    assert open_event.attributes["gen_ai.evaluation.explanation"] == "wrong"
    assert open_event.attributes["feedback.id"] == ids[1]
    assert spans["open"].attributes["feedback.quality"] == 0.1


# -- several providers in one process ----------------------------------------------------


def test_late_feedback_goes_through_the_provider_that_owns_the_span(
    wires: WireFactory,
) -> None:
    with OTLPReceiver() as second:
        first_wire = wires("grpc")
        second_wire = wires("grpc", receiver=second)
        with second_wire.tracer.start_as_current_span("chat") as span:
            pass
        trace_id, span_id = hex_ids(span)
        assert fb.log_feedback("rating", 1, trace_id=trace_id, span_id=span_id)
        chat = second_wire.one("chat")
        late = second_wire.one("feedback")
        assert_late_feedback_span(late, chat)
        # SimpleSpanProcessor exports synchronously: anything sent has arrived by now.
        assert not first_wire.receiver.spans_named("feedback")


def test_current_feedback_token_round_trips(grpc_wire: Wire) -> None:
    tracer = grpc_wire.tracer
    with (
        fb.using_session("s", user_id="u"),
        tracer.start_as_current_span("root") as root,
        tracer.start_as_current_span("child") as child,
    ):
        token = fb.current_feedback_token()
    assert token is not None
    parsed = fb.parse_feedback_token(token)
    assert format_trace_id(parsed.trace_id) == hex_ids(child)[0]
    assert format_span_id(parsed.span_id) == hex_ids(child)[1]
    assert parsed.root_span_id == root.get_span_context().span_id
    assert parsed.session_id == "s"
    assert parsed.user_id == "u"
    assert parsed.sampled is True
    assert root.start_time <= parsed.issued_at_ns  # type: ignore[attr-defined]


def test_token_for_a_span_still_open_writes_onto_it(grpc_wire: Wire) -> None:
    with grpc_wire.tracer.start_as_current_span("chat"):
        token = fb.current_feedback_token()
        with grpc_wire.tracer.start_as_current_span("other"):
            assert fb.log_feedback("rating", 2, target=token)
    chat = grpc_wire.one("chat")
    assert chat.attributes["feedback.rating"] == 2
    assert only_event(chat).attributes["gen_ai.evaluation.name"] == "rating"
    assert "feedback.rating" not in grpc_wire.one("other").attributes
    assert not feedback_spans(grpc_wire.receiver.spans)


def test_large_late_feedback_is_split_without_losing_attributes(grpc_wire: Wire) -> None:
    with grpc_wire.tracer.start_as_current_span("chat") as span:
        pass
    values = {f"k{i:03d}": i for i in range(300)}
    with fb.using_session("ambient", user_id="someone"):
        fb.enrich_span(feedback=values, span=span)
        fb.log_feedback("big", values, target=span)
    chat = grpc_wire.one("chat")
    lates = grpc_wire.wait_named("feedback", 6)
    logged = [late for late in lates if any(k.startswith("feedback.big.") for k in late.attributes)]
    enrich = [late for late in lates if late not in logged]
    for group, prefix in ((enrich, "feedback."), (logged, "feedback.big.")):
        assert len(group) >= 3
        merged: dict[str, object] = {}
        for late in group:
            assert_late_feedback_span(late, chat)
            assert late.dropped_attributes_count == 0
            assert late.attributes["session.id"] == "ambient"
            merged.update(
                {
                    k: v
                    for k, v in late.attributes.items()
                    if k.startswith(prefix) and k != "feedback.timestamp"
                }
            )
        assert merged == {f"{prefix}{key}": value for key, value in values.items()}
    assert sum(len(late.events_named(EVENT)) for late in logged) == 1


def test_unsampled_trace_exports_nothing(wires: WireFactory, clean_diagnostics: None) -> None:
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF  # noqa: PLC0415

    wire = wires("grpc")
    wire.provider.sampler = ALWAYS_OFF  # type: ignore[misc]
    with wire.tracer.start_as_current_span("dropped") as span:
        assert not span.is_recording()
        fb.enrich_span(feedback={"a": 1})
        assert fb.log_feedback("rating", 1) is None
        token = fb.current_feedback_token()
    assert token is not None
    assert fb.parse_feedback_token(token).sampled is False
    assert fb.log_feedback("rating", 1, target=token) is None
    assert wire.receiver.spans == []
    assert fb.diagnostics().get("not_sampled", 0) >= 2
