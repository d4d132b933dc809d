"""The feedback both bridge tests send: a chat turn rated live, late and by a judge."""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.trace import Tracer

import otel_feedback as fb


@dataclass(frozen=True)
class RatedChat:
    """Hex ids of the rated spans, and the chat span's feedback token."""

    trace_id: str
    chat_id: str
    llm_id: str
    token: str


def rate_a_chat(tracer: Tracer) -> RatedChat:
    """``user_rating`` 4 on the open ``llm`` span (HUMAN, web_ui, "helpful"); after the spans
    ended, ``thumbs_up`` False on ``chat`` (HUMAN, web_ui, "wrong city") and ``correctness``
    0.25 labelled "incorrect" on ``llm`` (LLM_JUDGE, judge-model, "the answer names Lyon")."""
    with tracer.start_as_current_span("chat") as chat:
        with tracer.start_as_current_span("llm") as llm:
            fb.log_feedback("user_rating", 4, reason="helpful", source_id="web_ui")
        token = fb.current_feedback_token()
    assert token is not None
    trace_id = f"{chat.get_span_context().trace_id:032x}"
    llm_id = f"{llm.get_span_context().span_id:016x}"
    # Late: the spans have ended, so these travel on `feedback` spans.
    fb.log_feedback(
        "thumbs_up", False, target=token, source="HUMAN", source_id="web_ui", reason="wrong city"
    )
    fb.log_feedback(
        "correctness",
        0.25,
        trace_id=trace_id,
        span_id=llm_id,
        source="LLM_JUDGE",
        source_id="judge-model",
        label="incorrect",
        reason="the answer names Lyon",
    )
    return RatedChat(trace_id, f"{chat.get_span_context().span_id:016x}", llm_id, token)
