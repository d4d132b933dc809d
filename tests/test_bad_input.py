"""Bad input, one test per case: in the default mode it is logged on the ``otel_feedback``
logger, counted in ``diagnostics()``, never raised, and nothing bogus is exported; in strict
mode (``strict=True`` or ``OTEL_FEEDBACK_STRICT=true``) the typed error says what was wrong
and how to fix it."""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from helpers_wire import EVENT, Wire, only_event, run_python
from opentelemetry import trace

import otel_feedback
import otel_feedback as fb
from otel_feedback.settings import reload_settings
from otel_feedback.testing import ReceivedSpan

TRACE = "5b8efff798038103d269b633813fc60c"
SPAN = "eee19b7ec3c1b174"
SECRET_ENV = "OTEL_FEEDBACK_TOKEN_SECRET"


class Opaque:
    """A value with no attribute form."""

    def __str__(self) -> str:
        return "<Opaque thing>"


def token(**changes: Any) -> str:
    fields = {"trace_id": int(TRACE, 16), "span_id": int(SPAN, 16), "issued_at_ns": 1} | changes
    return fb.FeedbackToken(**fields).encode()


def raw_token(text: str) -> bytearray:
    return bytearray(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def encode_raw(raw: bytes) -> str:
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


def wrong_version() -> str:
    raw = raw_token(token())
    raw[0] = 2
    return encode_raw(raw)


def tampered_signed(env: pytest.MonkeyPatch) -> str:
    signed = fb.FeedbackToken(int(TRACE, 16), int(SPAN, 16), 1).encode(secret="k3y")
    raw = raw_token(signed)
    raw[5] ^= 0xFF  # inside the trace id
    env.setenv(SECRET_ENV, "k3y")
    reload_settings()
    return encode_raw(raw)


def unsigned_with_secret(env: pytest.MonkeyPatch) -> str:
    unsigned = token()  # before the secret is set, so encode() does not sign it
    assert not raw_token(unsigned)[1] & 16
    env.setenv(SECRET_ENV, "k3y")
    reload_settings()
    return unsigned


def trailing_bytes() -> str:
    return encode_raw(raw_token(token()) + b"\0\0")


Call = Callable[[Wire, "bool | None", pytest.MonkeyPatch], Any]
Check = Callable[[ReceivedSpan, list[ReceivedSpan], Any], None]


@dataclass(frozen=True)
class Case:
    id: str
    call: Call
    error: type[fb.FeedbackError]
    says: tuple[str, ...]  # regexes the strict message must match: what, and how to fix
    counts: dict[str, int]
    in_span: bool = True
    repaired: Check | None = None  # default-mode check when the input is repaired, not dropped
    dropped_result: Any = None
    marks: tuple[Any, ...] = field(default=())


def log(*args: Any, **kwargs: Any) -> Call:
    return lambda wire, strict, env: fb.log_feedback(*args, **kwargs, strict=strict)


def log_with(make: Callable[[pytest.MonkeyPatch], Any], **kwargs: Any) -> Call:
    return lambda wire, strict, env: fb.log_feedback(
        "rating", 1, target=make(env), **kwargs, strict=strict
    )


def truncated_name(host: ReceivedSpan, others: list[ReceivedSpan], result: Any) -> None:
    assert result
    assert host.attributes["feedback." + "n" * 256] == 1
    assert only_event(host).attributes["gen_ai.evaluation.name"] == "n" * 256
    assert not any(len(key) > 256 + len("feedback.") for key in host.attributes)
    assert others == []


def no_source_type(host: ReceivedSpan, others: list[ReceivedSpan], result: Any) -> None:
    assert result
    event = only_event(host)
    assert "feedback.source.type" not in event.attributes
    assert event.attributes["feedback.id"] == result
    assert host.attributes["feedback.rating"] == 1
    assert others == []


def opaque_as_text(host: ReceivedSpan, others: list[ReceivedSpan], result: Any) -> None:
    assert result
    assert host.attributes["feedback.thing"] == "<Opaque thing>"
    assert only_event(host).attributes["feedback.value"] == "<Opaque thing>"
    assert others == []


def kind_explicit(host: ReceivedSpan, others: list[ReceivedSpan], result: Any) -> None:
    assert result
    assert only_event(host).attributes["feedback.kind"] == "explicit"
    assert others == []


def reason_cut(host: ReceivedSpan, others: list[ReceivedSpan], result: Any) -> None:
    assert result
    assert only_event(host).attributes["gen_ai.evaluation.explanation"] == "x" * 65_536
    assert others == []


def enrich_opaque_as_text(host: ReceivedSpan, others: list[ReceivedSpan], result: Any) -> None:
    assert host.attributes["metadata.obj"] == "<Opaque thing>"
    assert others == []


def huge_int_kept(host: ReceivedSpan, others: list[ReceivedSpan], result: Any) -> None:
    assert result
    assert host.attributes["feedback.big"] == str(10**400)
    event = only_event(host)
    assert "gen_ai.evaluation.score.value" not in event.attributes
    assert event.attributes["feedback.value"] == str(10**400)


NOOP = trace.NoOpTracerProvider()
HOW_ID = r"format_(trace|span)_id"

# fmt: off
CASES = [
    # -- ids ---------------------------------------------------------------------------------
    Case("trace-id-too-short", log("rating", 1, trace_id="abc123", span_id=SPAN),
         fb.InvalidTargetError, (r"'abc123'", r"32 lowercase hex", HOW_ID),
         {"invalid_target": 1}),
    Case("trace-id-too-long", log("rating", 1, trace_id=TRACE + "00"),
         fb.InvalidTargetError, (TRACE + "00", r"32 lowercase hex", HOW_ID),
         {"invalid_target": 1}),
    Case("span-id-wrong-length", log("rating", 1, trace_id=TRACE, span_id=SPAN[:-1]),
         fb.InvalidTargetError, (SPAN[:-1], r"16 lowercase hex", HOW_ID),
         {"invalid_target": 1}),
    Case("trace-id-all-zero", log("rating", 1, trace_id="0" * 32, span_id=SPAN),
         fb.InvalidTargetError, (r"all zeros", r"real span"), {"invalid_target": 1}),
    Case("span-id-all-zero", log("rating", 1, trace_id=TRACE, span_id="0" * 16),
         fb.InvalidTargetError, (r"span id .* all zeros", r"real span"), {"invalid_target": 1}),
    Case("trace-id-uppercase", log("rating", 1, trace_id=TRACE.upper(), span_id=SPAN),
         fb.InvalidTargetError, (r"lowercase hex", HOW_ID), {"invalid_target": 1}),
    Case("span-id-non-hex", log("rating", 1, trace_id=TRACE, span_id="zz" + SPAN[2:]),
         fb.InvalidTargetError, (r"zz", r"lowercase hex", HOW_ID), {"invalid_target": 1}),
    Case("trace-id-wrong-type", log("rating", 1, trace_id=1.5),
         fb.InvalidTargetError, (r"float", r"32-character hex string"), {"invalid_target": 1}),
    Case("span-id-without-trace-id", log("rating", 1, span_id=SPAN),
         fb.InvalidTargetError, (r"span_id=", r"needs trace_id="), {"invalid_target": 1}),
    Case("target-and-ids", log("rating", 1, target=token(), trace_id=TRACE),
         fb.InvalidTargetError, (r"either target= or trace_id=",), {"invalid_target": 1}),
    # -- names, values, sources ------------------------------------------------------------
    Case("empty-name", log("", 1), fb.InvalidFeedbackError, (r"empty", r"'rating'"),
         {"invalid_name": 1}),
    Case("blank-name", log("  . ", 1), fb.InvalidFeedbackError, (r"empty", r"'rating'"),
         {"invalid_name": 1}),
    Case("name-not-str", log(42, 1), fb.InvalidFeedbackError, (r"must be a str", r"int"),
         {"invalid_name": 1}),
    Case("over-long-name", log("n" * 300, 1), fb.InvalidFeedbackError,
         (r"300 characters", r"limit is 256"), {"invalid_name": 1}, repaired=truncated_name),
    Case("nan-score", log("rating", float("nan")), fb.InvalidFeedbackError,
         (r"nan", r"must be finite"), {"invalid_value": 1}),
    Case("inf-score", log("rating", float("inf")), fb.InvalidFeedbackError,
         (r"inf", r"must be finite"), {"invalid_value": 1}),
    Case("minus-inf-score", log("rating", float("-inf")), fb.InvalidFeedbackError,
         (r"-inf", r"must be finite"), {"invalid_value": 1}),
    Case("none-value", log("rating", None), fb.InvalidFeedbackError, (r"no value",),
         {"invalid_value": 1}),
    Case("unknown-source", log("rating", 1, source="alien"), fb.InvalidFeedbackError,
         (r"'alien'", r"HUMAN, LLM_JUDGE, CODE"), {"invalid_source": 1},
         repaired=no_source_type),
    Case("unknown-kind", log("rating", 1, kind="sometimes"), fb.InvalidFeedbackError,
         (r"'sometimes'", r"'explicit' or 'implicit'"), {"invalid_kind": 1},
         repaired=kind_explicit),
    Case("over-long-reason", log("rating", 1, reason="x" * 70_000), fb.InvalidFeedbackError,
         (r"70000 characters", r"65536"), {"truncated_text": 1}, repaired=reason_cut),
    Case("unsupported-value", log("thing", Opaque()), fb.UnsupportedValueError,
         (r"Opaque", r"no attribute form", r"(?i)convert|pass a|use a|supported"),
         {"unsupported_value": 1}, repaired=opaque_as_text),
    Case("unsupported-value-enrich",
         lambda wire, strict, env: fb.enrich_span(metadata={"obj": Opaque()}, strict=strict),
         fb.UnsupportedValueError,
         (r"Opaque", r"metadata\.obj", r"(?i)convert|pass a|use a|supported"),
         {"unsupported_value": 1},
         repaired=enrich_opaque_as_text),
    Case("enrich-not-a-mapping",
         lambda wire, strict, env: fb.enrich_span(feedback=5, strict=strict),  # type: ignore[arg-type]
         fb.InvalidFeedbackError, (r"feedback= must be a mapping", r"\{'rating': 5\}"),
         {"invalid_value": 1}),
    # -- tokens ----------------------------------------------------------------------------
    Case("token-garbage", log_with(lambda env: "hello"), fb.InvalidTokenError,
         (r"token", r"base64", r"current_feedback_token\(\)"), {"invalid_target": 1}),
    Case("token-bad-base64", log_with(lambda env: token()[:-4] + "$" + token()[-4:]),
         fb.InvalidTokenError,
         (r"base64", r"current_feedback_token\(\)"), {"invalid_target": 1}),
    Case("token-truncated", log_with(lambda env: token()[:20]), fb.InvalidTokenError,
         (r"truncated", r"current_feedback_token\(\)"), {"invalid_target": 1}),
    Case("token-trailing-bytes", log_with(lambda env: trailing_bytes()), fb.InvalidTokenError,
         (r"trailing bytes", r"current_feedback_token\(\)"), {"invalid_target": 1}),
    Case("token-wrong-version", log_with(lambda env: wrong_version()), fb.InvalidTokenError,
         (r"version 2", r"expected 1", r"current_feedback_token\(\)"), {"invalid_target": 1}),
    Case("token-empty", log_with(lambda env: ""), fb.InvalidTokenError,
         (r"empty string", r"current_feedback_token\(\)"), {"invalid_target": 1}),
    Case("token-wrong-type", log_with(lambda env: 12345), fb.InvalidTokenError,
         (r"target= must be a feedback token string", r"int"), {"invalid_target": 1}),
    Case("token-tampered-signed", log_with(tampered_signed), fb.InvalidTokenError,
         (r"signature does not match", SECRET_ENV), {"invalid_target": 1}),
    Case("token-unsigned-with-secret", log_with(unsigned_with_secret), fb.InvalidTokenError,
         (r"unsigned", SECRET_ENV), {"invalid_target": 1}),
    # -- no target, no provider ------------------------------------------------------------
    Case("log-feedback-no-span-no-target", log("rating", 1), fb.InvalidTargetError,
         (r"no current span", r"target=", r"current_feedback_token\(\)"), {"no_target": 1},
         in_span=False),
    Case("enrich-span-no-span",
         lambda wire, strict, env: fb.enrich_span(feedback={"a": 1}, strict=strict),
         fb.InvalidTargetError, (r"no current span", r"start_as_current_span|span="),
         {"no_target": 1}, in_span=False),
    Case("enrich-session-no-span",
         lambda wire, strict, env: fb.enrich_session(feedback={"a": 1}, strict=strict),
         fb.InvalidTargetError, (r"no current span",), {"no_target": 1}, in_span=False),
    Case("token-no-span",
         lambda wire, strict, env: fb.current_feedback_token(strict=strict),
         fb.InvalidTargetError, (r"no current span",), {"no_target": 1}, in_span=False),
    Case("noop-provider",
         log("rating", 1, trace_id=TRACE, span_id=SPAN, tracer_provider=NOOP),
         fb.NotConfiguredError, (r"no OpenTelemetry SDK TracerProvider", r"configure\(\)"),
         {"not_configured": 1}),
    Case("noop-provider-current-span",
         lambda wire, strict, env: _in_noop_span(lambda: fb.enrich_span(
             feedback={"a": 1}, strict=strict)),
         fb.InvalidTargetError, (r"no current span",), {"no_target": 1}, in_span=False),
    # -- Opik batches --------------------------------------------------------------------------
    Case("opik-span-score-without-trace-id",
         lambda wire, strict, env: fb.log_spans_feedback_scores(
             [{"id": SPAN, "name": "q", "value": 1}], strict=strict),
         fb.InvalidTargetError, (r"span_id= alone needs trace_id=",), {"invalid_target": 1},
         dropped_result=[None]),
    Case("opik-score-without-value",
         lambda wire, strict, env: fb.log_traces_feedback_scores(
             [{"id": TRACE, "name": "q"}], strict=strict),
         fb.InvalidFeedbackError, (r"score #0", r"'value'"), {"invalid_value": 1},
         dropped_result=[None]),
]
# fmt: on


def _in_noop_span(function: Callable[[], Any]) -> Any:
    with NOOP.get_tracer("noop").start_as_current_span("noop"):
        return function()


def run_case(case: Case, wire: Wire, strict: bool | None, env: pytest.MonkeyPatch) -> Any:
    if case.in_span:
        with wire.tracer.start_as_current_span("host"):
            return case.call(wire, strict, env)
    try:
        return case.call(wire, strict, env)
    finally:
        with wire.tracer.start_as_current_span("host"):
            pass


@pytest.mark.usefixtures("clean_diagnostics")
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_default_mode_logs_counts_and_exports_nothing_bogus(
    case: Case, grpc_wire: Wire, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="otel_feedback"):
        result = run_case(case, grpc_wire, None, monkeypatch)  # must not raise
    host = grpc_wire.one("host")
    # SimpleSpanProcessor exports synchronously: anything emitted has arrived already.
    others = [span for span in grpc_wire.receiver.spans if span.name != "host"]
    assert fb.diagnostics() == case.counts
    messages = [r.getMessage() for r in caplog.records if r.name == "otel_feedback"]
    assert len(messages) == sum(case.counts.values()), messages
    for problem in case.counts:
        assert any(message.startswith(f"{problem}: ") for message in messages), messages
    assert all(r.levelno == logging.WARNING for r in caplog.records if r.name == "otel_feedback")
    if case.repaired is not None:
        case.repaired(host, others, result)
        return
    assert result == case.dropped_result
    assert others == [], "nothing is exported for dropped feedback"
    assert not any(key.startswith(fb.NAMESPACES) for key in host.attributes), host.attributes
    assert host.events_named(EVENT) == []


@pytest.mark.usefixtures("clean_diagnostics")
@pytest.mark.parametrize("how", ["argument", "environment"])
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_strict_mode_raises_a_clear_typed_error(
    case: Case, how: str, grpc_wire: Wire, monkeypatch: pytest.MonkeyPatch
) -> None:
    strict: bool | None = True
    if how == "environment":
        monkeypatch.setenv(fb.STRICT_ENV, "true")
        otel_feedback.reload_settings()
        strict = None
    with pytest.raises(case.error) as raised:
        run_case(case, grpc_wire, strict, monkeypatch)
    message = str(raised.value)
    for pattern in case.says:
        assert re.search(pattern, message), f"{pattern!r} not in {message!r}"
    grpc_wire.one("host")
    others = [span for span in grpc_wire.receiver.spans if span.name != "host"]
    assert others == [], "a strict-mode failure exports nothing"
    assert fb.diagnostics() == {}, "strict mode raises instead of counting"


def test_strict_false_argument_beats_the_environment(
    grpc_wire: Wire, monkeypatch: pytest.MonkeyPatch, clean_diagnostics: None
) -> None:
    monkeypatch.setenv(fb.STRICT_ENV, "true")
    otel_feedback.reload_settings()
    with grpc_wire.tracer.start_as_current_span("host"):
        assert fb.log_feedback("", 1, strict=False) is None
    assert fb.diagnostics() == {"invalid_name": 1}


def test_huge_int_value_is_kept_not_dropped(
    grpc_wire: Wire, clean_diagnostics: None, caplog: pytest.LogCaptureFixture
) -> None:
    """An int beyond float range has no numeric score, but the feedback is not lost."""
    with grpc_wire.tracer.start_as_current_span("host"):
        result = fb.log_feedback("big", 10**400, strict=True)
    host = grpc_wire.one("host")
    huge_int_kept(host, [], result)
    assert "internal_error" not in fb.diagnostics()


def test_no_sdk_provider_in_a_fresh_process() -> None:
    """The API's proxy provider only: helpers return None, log, count, and strict raises."""
    result = run_python(
        f"""
        import json, logging
        from opentelemetry import trace
        import otel_feedback as fb

        logging.basicConfig(level=logging.WARNING)
        out = {{}}
        with trace.get_tracer("app").start_as_current_span("noop"):
            out["enrich_span"] = fb.enrich_span(feedback={{"a": 1}})
            out["enrich_session"] = fb.enrich_session(feedback={{"a": 1}})
            out["token"] = fb.current_feedback_token()
            out["current"] = fb.log_feedback("rating", 1)
        out["by_ids"] = fb.log_feedback("rating", 1, trace_id="{TRACE}", span_id="{SPAN}")
        out["by_trace"] = fb.log_traces_feedback_scores(
            [{{"id": "{TRACE}", "name": "q", "value": 1}}])
        out["diagnostics"] = fb.diagnostics()
        for strict in (True, None):
            if strict is None:
                import os
                os.environ["OTEL_FEEDBACK_STRICT"] = "true"
                fb.reload_settings()
            try:
                fb.log_feedback("rating", 1, trace_id="{TRACE}", span_id="{SPAN}", strict=strict)
            except fb.NotConfiguredError as error:
                out[f"strict_{{strict}}"] = str(error)
        print(json.dumps(out))
        """
    )
    assert result["enrich_span"] is None
    assert result["enrich_session"] is None
    assert result["token"] is None
    assert result["current"] is None
    assert result["by_ids"] is None
    assert result["by_trace"] == [None]
    assert result["diagnostics"] == {"no_target": 4, "not_configured": 2}
    for key in ("strict_True", "strict_None"):
        assert "TracerProvider" in result[key]
        assert "configure()" in result[key]
