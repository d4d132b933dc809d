"""Hostile inputs that used to escape the helpers or lose data silently (one test each).

Lenient mode never raises and reports (logs and counts) every repair; strict mode raises
only :class:`~otel_feedback.FeedbackError` subclasses.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
from typing import Any

import pytest
from helpers_wire import Wire
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import otel_feedback as fb
from otel_feedback.errors import FeedbackError, FlattenError
from otel_feedback.token import FeedbackToken


class BadStr:
    """An object whose ``str()`` raises."""

    def __str__(self) -> str:
        raise ValueError("no text for you")


def deep_list(depth: int) -> list[Any]:
    outer: list[Any] = []
    inner = outer
    for _ in range(depth):
        nested: list[Any] = []
        inner.append(nested)
        inner = nested
    return outer


def self_referencing() -> dict[str, Any]:
    loop: dict[str, Any] = {}
    loop["again"] = loop
    return loop


def warnings_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "otel_feedback" and record.levelno == logging.WARNING
    ]


def depth_of(value: Any) -> int:
    """How many nested dicts hold ``value``'s single key chain (walked without recursion)."""
    depth = 0
    while isinstance(value, dict) and len(value) == 1:
        value = next(iter(value.values()))
        depth += 1
    return depth


# -- unflatten -----------------------------------------------------------------------------


def test_unflatten_of_a_key_1500_levels_deep_does_not_recurse() -> None:
    out = fb.unflatten({"a." * 1500 + "a": 1})
    assert depth_of(out) == 1501
    assert fb.diagnostics() == {}


def test_unflatten_keeps_a_self_referencing_value_as_a_leaf() -> None:
    loop = self_referencing()
    out = fb.unflatten({"p.loop": loop, "p.n": 1}, prefix="p")
    assert out["loop"] is loop
    assert out["n"] == 1
    assert fb.diagnostics() == {}


@pytest.mark.parametrize(
    ("attributes", "prefix", "problem"),
    [
        ({0: ""}, "", "invalid_key"),
        ({1: 2}, "p", "invalid_key"),
        (None, "", "invalid_value"),
        (["a", "b"], "", "invalid_value"),
        ({"p.a": 1}, 5, "invalid_key"),
    ],
    ids=["int-key", "int-key-with-prefix", "none", "list", "int-prefix"],
)
def test_unflatten_of_bad_input_is_reported_and_strict_raises_typed(
    attributes: Any, prefix: Any, problem: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert fb.unflatten(attributes, prefix) == {}
    assert fb.diagnostics() == {problem: 1}
    assert warnings_logged(caplog)[0].startswith(f"{problem}: ")
    with pytest.raises(FlattenError):
        fb.unflatten(attributes, prefix, strict=True)


def test_unflatten_keeps_the_string_keys_next_to_a_bad_one() -> None:
    assert fb.unflatten({"a.b": 1, 7: 2, "c": 3}) == {"a": {"b": 1}, "c": 3}
    assert fb.diagnostics() == {"invalid_key": 1}


def test_unflatten_of_a_mapping_whose_items_raise() -> None:
    class Broken(dict[str, Any]):
        def items(self) -> Any:
            raise RuntimeError("broken mapping")

    assert fb.unflatten(Broken(a=1)) == {}
    assert fb.diagnostics() == {"unsupported_value": 1}


# -- identities ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "identity",
    [BadStr(), 10**5000, deep_list(3000), object()],
    ids=["str-raises", "5000-digit-int", "3000-deep-list", "object"],
)
def test_using_session_and_user_ignore_an_identity_that_is_no_text(identity: Any) -> None:
    with fb.using_session(identity):
        assert fb.current_session_id() is None
    with fb.using_user(identity):
        assert fb.current_user_id() is None
    with fb.using_session("s-1", user_id=identity):
        assert fb.current_session_id() == "s-1"
        assert fb.current_user_id() is None
    assert fb.diagnostics() == {"invalid_identity": 3}
    with pytest.raises(fb.InvalidFeedbackError):
        fb.using_session(identity, strict=True)
    with pytest.raises(fb.InvalidFeedbackError):
        fb.using_user(identity, strict=True)


def test_using_session_strict_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(fb.STRICT_ENV, "true")
    fb.reload_settings()
    with pytest.raises(fb.InvalidFeedbackError):
        fb.using_session(BadStr())
    assert fb.using_session(BadStr(), strict=False) is not None


def test_using_session_with_lone_surrogates_is_repaired_and_counted() -> None:
    with fb.using_session("s-\ud800", user_id="u-\udfff"):
        assert fb.current_session_id() == "s-\ufffd"
        assert fb.current_user_id() == "u-\ufffd"
    assert fb.diagnostics() == {"unencodable_text": 2}


def test_a_surrogate_pair_becomes_its_character() -> None:
    with fb.using_session("\ud83d\ude00"):
        assert fb.current_session_id() == "\U0001f600"
    assert fb.diagnostics() == {"unencodable_text": 1}


def test_using_session_with_a_wrong_call_still_raises_type_error() -> None:
    with pytest.raises(TypeError):
        fb.using_session("s", "u", "extra")  # type: ignore[misc]
    with pytest.raises(TypeError):
        fb.using_user(user="u")  # type: ignore[call-arg]


def test_using_session_leaves_no_trace_in_the_context() -> None:
    """Each entry's state is reset on exit: a long-lived thread does not grow its context."""
    before = len(contextvars.copy_context())
    shared = fb.using_session("shared")
    for index in range(200):
        with fb.using_session(f"s-{index}"), shared, shared:
            assert fb.current_session_id() == "shared"
    assert len(contextvars.copy_context()) == before
    assert fb.current_session_id() is None


# -- tokens --------------------------------------------------------------------------------


TOKEN = FeedbackToken(trace_id=0xA1, span_id=0xB2, issued_at_ns=1).encode()


@pytest.mark.parametrize(
    "secret", [{}, {1: 2}, 5, [{}], [b"ok", 3], object()], ids=repr
)
def test_parse_token_with_a_secret_of_the_wrong_type_raises_invalid_token(secret: Any) -> None:
    with pytest.raises(fb.InvalidTokenError, match="secret"):
        fb.parse_feedback_token(TOKEN, secret=secret)


@pytest.mark.parametrize(("keyword", "value"), [("max_age", "x"), ("max_age", -1), ("now", 1.5)])
def test_parse_token_with_a_bad_age_setting_raises_a_typed_error(keyword: str, value: Any) -> None:
    with pytest.raises(fb.ConfigurationError):
        fb.parse_feedback_token(TOKEN, **{keyword: value})


def test_token_identity_with_lone_surrogates_is_repaired_and_counted() -> None:
    token = FeedbackToken(0xA1, 0xB2, 1, session_id="s-\ud800").encode()
    assert fb.parse_feedback_token(token).session_id == "s-\ufffd"
    assert fb.diagnostics() == {"unencodable_text": 1}


def test_current_feedback_token_with_a_bad_secret_is_reported(grpc_wire: Wire) -> None:
    with grpc_wire.tracer.start_as_current_span("host"):
        assert fb.current_feedback_token(secret={}) is None  # type: ignore[arg-type]
        assert fb.diagnostics() == {"invalid_token": 1}
        with pytest.raises(fb.InvalidTokenError):
            fb.current_feedback_token(secret={}, strict=True)  # type: ignore[arg-type]


# -- flatten: nothing lost -----------------------------------------------------------------


def test_an_int_past_the_digit_limit_does_not_stop_the_walk(
    caplog: pytest.LogCaptureFixture,
) -> None:
    out = fb.flatten({"a": 1, "big": 10**5000, "z": 2}, prefix="feedback")
    assert out["feedback.a"] == 1
    assert out["feedback.z"] == 2
    assert out["feedback.big"] == "≈1.000000000e+5000"
    assert fb.diagnostics() == {"value_too_large": 1}
    assert "digits" in warnings_logged(caplog)[0]
    with pytest.raises(FlattenError):
        fb.flatten({"big": 10**5000}, strict=True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (-(10**5000), "≈-1.000000000e+5000"),
        (7 * 10**6000 + 1, "≈7.000000000e+6000"),
    ],
    ids=["negative", "7e6000"],
)
def test_huge_ints_everywhere_in_a_value(value: int, expected: str) -> None:
    out = fb.flatten({"list": [value, {"x": value}], "deep": [[[value]]]}, prefix="f")
    assert out["f.list.0"] == expected
    assert out["f.list.1.x"] == expected
    assert expected in str(out["f.deep.0.0"])  # beyond the array depth: JSON text


def test_lone_surrogates_in_keys_values_arrays_and_prefix_are_repaired() -> None:
    value = {"k\ud800": "v\udc00", "arr": ["a", "b\ud800"], "ok": "fine"}
    out = fb.flatten(value, prefix="p\udfff")
    assert out == {
        "p\ufffd.k\ufffd": "v\ufffd",
        "p\ufffd.arr": ("a", "b\ufffd"),
        "p\ufffd.ok": "fine",
    }
    assert fb.diagnostics() == {"unencodable_text": 4}
    with pytest.raises(FlattenError, match="surrogates"):
        fb.flatten({"k": "\ud800"}, strict=True)


def test_non_str_prefix_is_reported_and_used_as_text() -> None:
    assert fb.flatten({"a": 1}, prefix=5) == {"5.a": 1}  # type: ignore[arg-type]
    assert fb.diagnostics() == {"invalid_key": 1}


def test_everything_flatten_returns_survives_the_otlp_encoder() -> None:
    """The OTLP encoder drops a value it cannot encode (only logging it); ours never are."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    attributes = fb.flatten(
        {"s": "x\ud800", "i": 2**80, "n": 10**5000, "f": float("nan"), "t": ["\udc00", "ok"]},
        prefix="feedback",
    )
    with provider.get_tracer("t").start_as_current_span("s") as span:
        span.set_attributes(attributes)
    encoded = encode_spans(exporter.get_finished_spans())
    keys = {item.key for item in encoded.resource_spans[0].scope_spans[0].spans[0].attributes}
    assert keys == set(attributes)
    provider.shutdown()


# -- the record's text fields ----------------------------------------------------------------


def test_fields_whose_str_raises_are_repaired_not_the_record_dropped(grpc_wire: Wire) -> None:
    with grpc_wire.tracer.start_as_current_span("host"):
        feedback_id = fb.log_feedback(
            "rating",
            5,
            reason=BadStr(),
            source=BadStr(),
            source_id=BadStr(),
            kind=BadStr(),
            timestamp=BadStr(),
            label=BadStr(),
        )
    assert feedback_id is not None
    event = grpc_wire.one("host").events_named(fb.EVENT_NAME)[0].attributes
    assert event["gen_ai.evaluation.score.value"] == 5.0
    assert event["feedback.kind"] == "explicit"
    assert "gen_ai.evaluation.explanation" not in event
    assert "feedback.source.type" not in event
    counts = fb.diagnostics()
    assert "internal_error" not in counts
    assert counts == {
        "invalid_value": 3,
        "invalid_source": 1,
        "invalid_kind": 1,
        "invalid_timestamp": 1,
    }


def test_properties_that_raise_in_an_error_or_a_source_enum(grpc_wire: Wire) -> None:
    class Sneaky:
        @property
        def error_code(self) -> str:
            raise RuntimeError("property raised")

        def __str__(self) -> str:
            return "sneaky failure"

    with grpc_wire.tracer.start_as_current_span("host"):
        assert fb.log_feedback("judge", None, error=Sneaky()) is not None
    event = grpc_wire.one("host").events_named(fb.EVENT_NAME)[0].attributes
    assert event["error.type"] == "_OTHER"
    assert "internal_error" not in fb.diagnostics()


@pytest.mark.parametrize(
    "timestamp",
    [
        2**64,
        -5,
        dt.datetime(9999, 12, 31, tzinfo=dt.timezone.utc),
        dt.datetime(1960, 1, 1, tzinfo=dt.timezone.utc),
        "9999-12-31T00:00:00Z",
    ],
    ids=["2^64-ns", "negative", "year-9999", "year-1960", "iso-9999"],
)
def test_timestamps_outside_what_otlp_carries_are_replaced_by_now(
    grpc_wire: Wire, timestamp: Any
) -> None:
    with grpc_wire.tracer.start_as_current_span("host"):
        assert fb.log_feedback("rating", 1, timestamp=timestamp) is not None
    event = grpc_wire.one("host").events_named(fb.EVENT_NAME)[0].attributes
    assert event["feedback.timestamp"].startswith(str(dt.datetime.now(dt.timezone.utc).year))
    assert fb.diagnostics() == {"invalid_timestamp": 1}


def test_a_timezone_that_raises_is_reported() -> None:
    class BrokenZone(dt.tzinfo):
        def utcoffset(self, moment: dt.datetime | None) -> dt.timedelta:
            raise RuntimeError("no offset")

    provider = TracerProvider()
    fb.FeedbackSpanProcessor(tracer_provider=provider)
    with provider.get_tracer("t").start_as_current_span("host"):
        result = fb.log_feedback("r", 1, timestamp=dt.datetime(2026, 1, 1, tzinfo=BrokenZone()))
    assert result is not None
    assert fb.diagnostics() == {"invalid_timestamp": 1}
    provider.shutdown()


def test_text_with_lone_surrogates_in_every_field_reaches_the_wire(grpc_wire: Wire) -> None:
    with grpc_wire.tracer.start_as_current_span("host"):
        feedback_id = fb.log_feedback(
            "name\ud800",
            "value\udc00",
            reason="why\ud800",
            label="lab\ud800",
            source_id="src\ud800",
            metadata={"m\ud800": "v\ud800"},
        )
    assert feedback_id is not None
    host = grpc_wire.one("host")
    event = host.events_named(fb.EVENT_NAME)[0].attributes
    assert event["gen_ai.evaluation.name"] == "name\ufffd"
    assert event["gen_ai.evaluation.explanation"] == "why\ufffd"
    assert event["gen_ai.evaluation.score.label"] == "lab\ufffd"
    assert event["feedback.source.id"] == "src\ufffd"
    assert event["feedback.value"] == "value\ufffd"
    assert event["feedback.metadata.m\ufffd"] == "v\ufffd"
    assert host.attributes["feedback.name\ufffd"] == "value\ufffd"
    # name, reason, label, source id, the value, a metadata key and its value
    assert fb.diagnostics() == {"unencodable_text": 7}


def test_strict_text_repairs_raise_typed_errors(grpc_wire: Wire) -> None:
    with grpc_wire.tracer.start_as_current_span("host"):
        for kwargs in ({"reason": "\ud800"}, {"label": "\ud800"}, {"source_id": "\ud800"}):
            with pytest.raises(FeedbackError):
                fb.log_feedback("r", 1, strict=True, **kwargs)
        with pytest.raises(FeedbackError):
            fb.log_feedback("r\ud800", 1, strict=True)


@pytest.mark.parametrize("span", [5, "span", object()], ids=["int", "str", "object"])
def test_a_span_argument_that_is_no_span_is_reported(grpc_wire: Wire, span: Any) -> None:
    with grpc_wire.tracer.start_as_current_span("host"):
        assert fb.enrich_span(feedback={"a": 1}, span=span) is None
        assert fb.current_feedback_token(span=span) is None
    assert fb.diagnostics() == {"invalid_target": 2}
    assert "feedback.a" not in grpc_wire.one("host").attributes
    with pytest.raises(fb.InvalidTargetError):
        fb.enrich_span(feedback={"a": 1}, span=span, strict=True)
    with pytest.raises(fb.InvalidTargetError):
        fb.current_feedback_token(span=span, strict=True)


def test_flatten_with_limits_that_are_no_limits_uses_the_settings() -> None:
    assert fb.flatten({"a": 1}, "f", limits=5) == {"f.a": 1}  # type: ignore[arg-type]
    assert fb.diagnostics() == {"invalid_value": 1}
    with pytest.raises(FlattenError):
        fb.flatten({"a": 1}, "f", limits="deep", strict=True)  # type: ignore[arg-type]
