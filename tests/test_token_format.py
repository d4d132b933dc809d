"""Feedback tokens: round trip, signing, and what they carry."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import otel_feedback as fb
from otel_feedback.settings import reload_settings

ids128 = st.integers(min_value=1, max_value=2**128 - 1)
ids64 = st.integers(min_value=1, max_value=2**64 - 1)
identity = st.one_of(
    st.none(),
    st.text(min_size=1, max_size=40).filter(lambda text: len(text.encode()) <= 256),
)


@given(
    trace_id=ids128,
    span_id=ids64,
    issued=st.integers(min_value=0, max_value=2**64 - 1),
    root=st.one_of(st.none(), ids64),
    sampled=st.booleans(),
    session=identity,
    user=identity,
    secret=st.one_of(st.none(), st.text(min_size=1, max_size=20)),
)
def test_round_trip(
    trace_id: int,
    span_id: int,
    issued: int,
    root: int | None,
    sampled: bool,
    session: str | None,
    user: str | None,
    secret: str | None,
) -> None:
    token = fb.FeedbackToken(trace_id, span_id, issued, root, sampled, session, user)
    text = token.encode(secret)
    assert isinstance(text, str)
    assert len(text) < 2048
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert fb.parse_feedback_token(text, secret=secret) == token
    assert token.trace_id_hex == f"{trace_id:032x}"
    assert token.span_id_hex == f"{span_id:016x}"


def test_signed_token_needs_the_same_secret() -> None:
    token = fb.FeedbackToken(1, 2, 3)
    signed = token.encode("right")
    assert fb.parse_feedback_token(signed, secret="right") == token
    with pytest.raises(fb.InvalidTokenError, match="signature does not match"):
        fb.parse_feedback_token(signed, secret="wrong")
    # A process without the secret can still read it (it cannot verify it).
    assert fb.parse_feedback_token(signed) == token


def test_secret_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_FEEDBACK_TOKEN_SECRET", "env-secret")
    reload_settings()
    signed = fb.FeedbackToken(1, 2, 3).encode()
    assert fb.parse_feedback_token(signed, secret="env-secret").span_id == 2
    with pytest.raises(fb.InvalidTokenError, match="signature"):
        fb.parse_feedback_token(signed, secret="other")


def test_token_with_invalid_ids_is_rejected() -> None:
    zero_span = fb.FeedbackToken(1, 0, 3).encode()
    with pytest.raises(fb.InvalidTokenError, match="all-zero"):
        fb.parse_feedback_token(zero_span)


def test_too_long_token_is_rejected() -> None:
    with pytest.raises(fb.InvalidTokenError, match="2048"):
        fb.parse_feedback_token("A" * 5000)


def test_overlong_identity_is_left_out_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    fb.reset_diagnostics()
    token = fb.FeedbackToken(
        trace_id=1, span_id=2, issued_at_ns=3, session_id="s" * 2000, user_id="u-1"
    ).encode()
    parsed = fb.parse_feedback_token(token)
    assert parsed.session_id is None
    assert parsed.user_id == "u-1"
    assert fb.diagnostics()["token_identity_omitted"] == 1
    assert "too long for a feedback token" in caplog.text


def test_token_for_a_given_span_carries_that_span_identity() -> None:
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415

    provider = TracerProvider()
    processor = fb.FeedbackSpanProcessor()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("t")
    try:
        with fb.using_session("own-session"):
            span = tracer.start_span("answer")
        with fb.using_session("other-session"):
            token = fb.current_feedback_token(span)
        span.end()
    finally:
        provider.shutdown()
    assert token is not None
    assert fb.parse_feedback_token(token).session_id == "own-session"
