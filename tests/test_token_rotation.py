"""Token secrets from settings, rotation (first signs, all verify), maximum age, identities."""

from __future__ import annotations

import time

import pytest

import otel_feedback as fb
from otel_feedback.settings import reload_settings
from otel_feedback.token import FUTURE_SKEW_SECONDS, check_age

TOKEN = fb.FeedbackToken(0xABC, 0xDEF, 5, session_id="sess", user_id="alice@example.com")


def test_the_first_configured_secret_signs_and_every_one_verifies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_FEEDBACK_TOKEN_SECRET", "new, old")
    reload_settings()
    signed = TOKEN.encode()
    assert fb.parse_feedback_token(signed, secret="new") == TOKEN
    with pytest.raises(fb.InvalidTokenError, match="another secret"):
        fb.parse_feedback_token(signed, secret="old")
    issued_before_rotation = TOKEN.encode("old")
    assert fb.parse_feedback_token(issued_before_rotation) == TOKEN
    with pytest.raises(fb.InvalidTokenError, match="signature"):
        fb.parse_feedback_token(TOKEN.encode("retired"))


def test_secret_may_be_a_sequence() -> None:
    signed = TOKEN.encode(["a", b"b"])
    assert fb.parse_feedback_token(signed, secret=("z", "a")) == TOKEN
    assert fb.parse_feedback_token(TOKEN.encode(b"b"), secret=["a", "b"]) == TOKEN
    with pytest.raises(fb.InvalidTokenError):
        fb.parse_feedback_token(signed, secret=["b"])


def test_unsigned_tokens_pass_only_when_signatures_are_not_required() -> None:
    unsigned = TOKEN.encode()
    with pytest.raises(fb.InvalidTokenError, match="unsigned"):
        fb.parse_feedback_token(unsigned, secret="k")
    assert fb.parse_feedback_token(unsigned, secret="k", require_signature=False) == TOKEN
    with pytest.raises(fb.InvalidTokenError, match="signature"):  # signed ones still verified
        fb.parse_feedback_token(TOKEN.encode("x"), secret="k", require_signature=False)


def test_max_age() -> None:
    now = time.time_ns()
    fresh = fb.FeedbackToken(1, 2, now - 10 * 10**9).encode("k")
    stale = fb.FeedbackToken(1, 2, now - 7200 * 10**9).encode("k")
    assert fb.parse_feedback_token(fresh, secret="k", max_age=60).span_id == 2
    with pytest.raises(fb.ExpiredTokenError, match="7200 s ago"):
        fb.parse_feedback_token(stale, secret="k", max_age=3600)
    assert issubclass(fb.ExpiredTokenError, fb.InvalidTokenError)
    # Without max_age, ages are not checked (log_feedback accepts days-old tokens).
    assert fb.parse_feedback_token(stale, secret="k").issued_at_ns == now - 7200 * 10**9


def test_a_token_from_the_future_is_refused_past_the_clock_skew() -> None:
    now = time.time_ns()
    skewed = fb.FeedbackToken(1, 2, now + 60 * 10**9)
    check_age(skewed, 3600, now)
    ahead = fb.FeedbackToken(1, 2, now + int((FUTURE_SKEW_SECONDS + 60) * 1e9))
    with pytest.raises(fb.InvalidTokenError, match="future"):
        check_age(ahead, 3600, now)


def test_identities_can_be_left_out() -> None:
    with_ids = fb.parse_feedback_token(TOKEN.encode("k"), secret="k")
    assert (with_ids.session_id, with_ids.user_id) == ("sess", "alice@example.com")
    text = TOKEN.encode("k", include_identity=False)
    without = fb.parse_feedback_token(text, secret="k")
    assert (without.session_id, without.user_id) == (None, None)
    assert (without.trace_id, without.span_id) == (TOKEN.trace_id, TOKEN.span_id)
    assert len(text) < len(TOKEN.encode("k"))
