"""Feedback given in another process: a subprocess with its OWN TracerProvider exports to
the same receiver, and the feedback lands in the first process's trace."""

from __future__ import annotations

import pytest
from helpers_wire import (
    PROTOCOLS,
    SUBPROCESS_PIPELINE,
    Proto,
    WireFactory,
    assert_late_feedback_span,
    hex_ids,
    only_event,
    run_python,
    subprocess_env,
)

import otel_feedback as fb


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_token_feedback_from_another_process(wires: WireFactory, protocol: Proto) -> None:
    wire = wires(protocol)
    tracer = wire.tracer
    with (
        fb.using_session("sess-7", user_id="user-7"),
        tracer.start_as_current_span("root"),
        tracer.start_as_current_span("answer") as answer,
    ):
        token = fb.current_feedback_token()
    assert token is not None
    result = run_python(
        SUBPROCESS_PIPELINE
        + """
feedback_id = fb.log_feedback(
    "user_rating", 4, target=os.environ["TOKEN"], source="HUMAN", reason="helpful"
)
provider.shutdown()
print(json.dumps({"id": feedback_id, "diagnostics": fb.diagnostics()}))
""",
        env=subprocess_env(wire.receiver, protocol, TOKEN=token),
    )
    assert result["diagnostics"] == {}
    answer_wire = wire.one("answer")
    assert answer_wire.span_id == hex_ids(answer)[1]
    late = wire.one("feedback")
    assert_late_feedback_span(late, answer_wire)
    assert late.start_time_unix_nano == fb.parse_feedback_token(token).issued_at_ns
    assert late.attributes["session.id"] == "sess-7"
    assert late.attributes["user.id"] == "user-7"
    assert late.attributes["feedback.user_rating"] == 4
    event = only_event(late)
    assert event.attributes["feedback.id"] == result["id"]
    assert event.attributes["gen_ai.evaluation.explanation"] == "helpful"
    assert event.time_unix_nano == late.start_time_unix_nano


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_trace_id_only_from_another_process(wires: WireFactory, protocol: Proto) -> None:
    wire = wires(protocol)
    with wire.tracer.start_as_current_span("root") as root:
        pass
    trace_id = hex_ids(root)[0]
    result = run_python(
        SUBPROCESS_PIPELINE
        + """
feedback_id = fb.log_feedback("coherence", 0.5, trace_id=os.environ["TRACE_ID"])
provider.shutdown()
print(json.dumps({"id": feedback_id}))
""",
        env=subprocess_env(wire.receiver, protocol, TRACE_ID=trace_id),
    )
    assert result["id"]
    wire.one("root")
    late = wire.one("feedback")
    assert late.trace_id == trace_id
    assert late.parent_span_id is None
    assert late.links == []
    assert late.duration_ns == 0
    assert late.attributes["feedback.coherence"] == 0.5
    assert only_event(late).attributes["feedback.id"] == result["id"]


def test_signed_token_verified_in_another_process(wires: WireFactory) -> None:
    wire = wires("grpc")
    with wire.tracer.start_as_current_span("answer"):
        token = fb.current_feedback_token(secret="s3cret")
    assert token is not None
    code = (
        SUBPROCESS_PIPELINE
        + """
tampered = os.environ["TOKEN"][:-2] + ("AA" if not os.environ["TOKEN"].endswith("AA") else "BB")
bad = fb.log_feedback("rating", 1, target=tampered)
good = fb.log_feedback("rating", 5, target=os.environ["TOKEN"])
provider.shutdown()
print(json.dumps({"bad": bad, "good": good, "diagnostics": fb.diagnostics()}))
"""
    )
    result = run_python(
        code,
        env=subprocess_env(wire.receiver, "grpc", TOKEN=token, OTEL_FEEDBACK_TOKEN_SECRET="s3cret"),
    )
    assert result["bad"] is None
    assert result["good"]
    assert result["diagnostics"] == {"invalid_target": 1}
    late = wire.one("feedback")
    assert_late_feedback_span(late, wire.one("answer"))
    assert late.attributes["feedback.rating"] == 5
