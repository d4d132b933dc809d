"""Property-based fuzzing of every public entry point (DESIGN.md §5).

For any input: the default mode never raises and never fails internally (everything bad is
repaired or dropped, logged and counted, never an ``internal_error``); strict mode raises
only :class:`~otel_feedback.FeedbackError` subclasses. Everything exported survives the
OTLP encoder whole (it drops what it cannot encode, uncounted).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Tracer

import otel_feedback as fb
from otel_feedback.errors import FeedbackError
from otel_feedback.token import FeedbackToken

FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
    derandomize=True,  # the same examples every run: a failure here is a bug, never luck
)


# -- hostile values ------------------------------------------------------------------------


class BadStr:
    def __str__(self) -> str:
        raise ValueError("str() raised")


class BadStrAndRepr(BadStr):
    def __repr__(self) -> str:
        raise RuntimeError("repr() raised")


class StrReturnsNonStr:
    def __str__(self) -> str:
        return 5  # type: ignore[return-value]  # noqa: PLE0307


class SneakyStr(str):
    def strip(self, chars: str | None = None) -> str:
        raise RuntimeError("strip() raised")

    def __str__(self) -> str:
        raise RuntimeError("str() raised")


class BadList(list[Any]):
    def __iter__(self) -> Iterator[Any]:
        raise RuntimeError("iteration raised")


class BadMapping(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("iteration raised")

    def __len__(self) -> int:
        return 3


class BadProperties:
    @property
    def value(self) -> Any:
        raise RuntimeError("value raised")

    @property
    def error_code(self) -> Any:
        raise RuntimeError("error_code raised")

    def model_dump(self) -> Any:
        raise RuntimeError("model_dump raised")


class Color(enum.Enum):
    RED = "red"
    HUGE = 10**5000


class BrokenZone(dt.tzinfo):
    def utcoffset(self, moment: dt.datetime | None) -> dt.timedelta:
        raise RuntimeError("utcoffset raised")


def nested_lists(depth: int) -> list[Any]:
    outer: list[Any] = []
    inner = outer
    for _ in range(depth):
        child: list[Any] = []
        inner.append(child)
        inner = child
    return outer


def nested_dicts(depth: int) -> dict[str, Any]:
    outer: dict[str, Any] = {}
    inner = outer
    for _ in range(depth):
        child: dict[str, Any] = {}
        inner["k"] = child
        inner = child
    return outer


def self_dict() -> dict[str, Any]:
    loop: dict[str, Any] = {"x": 1}
    loop["self"] = loop
    return loop


def self_list() -> list[Any]:
    loop: list[Any] = [1]
    loop.append(loop)
    return loop


ODD: list[Callable[[], Any]] = [
    BadStr,
    BadStrAndRepr,
    StrReturnsNonStr,
    lambda: SneakyStr("sneaky"),
    lambda: BadList([1, 2]),
    BadMapping,
    BadProperties,
    lambda: Color.RED,
    lambda: Color.HUGE,
    lambda: 10**5000,
    lambda: -(10**4400),
    lambda: 2**64,
    lambda: float("nan"),
    lambda: float("-inf"),
    lambda: b"\xff\xfe",
    lambda: bytearray(b"ok"),
    lambda: Decimal("NaN"),
    lambda: uuid.UUID(int=0),
    lambda: dt.datetime(2026, 1, 1, tzinfo=BrokenZone()),
    lambda: dt.datetime.min,
    lambda: dt.datetime.max.replace(tzinfo=dt.timezone.utc),
    lambda: dt.date(1, 1, 1),
    lambda: nested_lists(3000),
    lambda: nested_dicts(3000),
    self_dict,
    self_list,
    lambda: {1, "a", None},
    lambda: frozenset({BadStr()}),
    lambda: "x" * 70_000,
    lambda: "\ud800" * 10,
    lambda: "é" * 40_000,
    lambda: {f"k{index}": index for index in range(1500)},
    lambda: {"a.b": 1, "a": 2, "": 3, "..": 4, ".c.": 5},
    object,
    lambda: type,
    lambda: print,
    lambda: ...,
    lambda: NotImplemented,
]

# Any code point, lone surrogates included.
texts = st.text(st.characters(codec=None, exclude_categories=()), max_size=30)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    texts,
    st.binary(max_size=20),
    st.datetimes(timezones=st.just(dt.timezone.utc) | st.none()),
    st.sampled_from(ODD).map(lambda make: make()),
)
keys = st.one_of(
    texts,
    st.integers(),
    st.none(),
    st.booleans(),
    st.floats(allow_nan=False),
    st.tuples(st.integers(), texts),
    st.builds(BadStr),
    st.builds(StrReturnsNonStr),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.lists(children, max_size=5).map(tuple),
        st.dictionaries(keys, children, max_size=5),
    ),
    max_leaves=25,
)
mappings = st.dictionaries(keys, values, max_size=6)
anything = st.one_of(values, mappings)
hex_ids = st.one_of(
    st.text("0123456789abcdefABCDEF", min_size=14, max_size=34),
    st.integers(min_value=-1, max_value=2**130),
    st.sampled_from(["0" * 32, "0" * 16, "f" * 32, "f" * 16, "tr-" + "a" * 32]),
    anything,
)


def valid_token() -> str:
    return FeedbackToken(0xA1, 0xB2, 10**18, root_span_id=0xC3, session_id="s").encode()


tokens = st.one_of(
    texts,
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", max_size=3000),
    st.builds(valid_token),
    st.builds(valid_token).map(lambda token: token[:-3] + "AAA"),
    anything,
)
secrets = st.one_of(st.none(), texts, st.binary(max_size=8), st.lists(texts, max_size=3), values)


# -- the pipeline everything is exported through ----------------------------------------------


class EncodingExporter(SpanExporter):
    """Encodes every span as the OTLP exporters do and records any attribute the encoder
    left out (it logs and drops values it cannot encode)."""

    def __init__(self) -> None:
        self.lost: list[str] = []
        self.spans = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        encoded = encode_spans(spans).resource_spans[0].scope_spans
        sent = [span for scope in encoded for span in scope.spans]
        for original, wire in zip(spans, sent, strict=True):
            self.spans += 1
            if len(wire.attributes) != len(original.attributes or {}):
                self.lost.append(f"{original.name}: span attributes")
            for event, wire_event in zip(original.events, wire.events, strict=True):
                if len(wire_event.attributes) != len(event.attributes or {}):
                    self.lost.append(f"{original.name}: event attributes")
        return SpanExportResult.SUCCESS


@pytest.fixture(scope="module")
def pipeline() -> Iterator[tuple[Tracer, EncodingExporter]]:
    provider = TracerProvider()
    exporter = EncodingExporter()
    provider.add_span_processor(fb.FeedbackSpanProcessor(tracer_provider=provider))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider.get_tracer("fuzz"), exporter
    provider.shutdown()
    assert exporter.lost == []
    assert exporter.spans > 0


def lenient_and_strict(call: Callable[[bool], object], exporter: EncodingExporter) -> None:
    """``call(strict)`` never raises leniently, nor fails inside; strictly, only typed."""
    fb.reset_diagnostics()
    call(False)
    counts = fb.diagnostics()
    assert "internal_error" not in counts, counts
    with contextlib.suppress(FeedbackError):
        call(True)
    assert "internal_error" not in fb.diagnostics()
    assert exporter.lost == []


# -- the entry points --------------------------------------------------------------------------


@FUZZ
@given(
    feedback=anything,
    metrics=anything,
    metadata=anything,
    user_properties=anything,
    span=st.one_of(st.none(), st.sampled_from(["ended", "current"]), scalars),
)
def test_enrich_span_and_session(
    pipeline: tuple[Tracer, EncodingExporter],
    feedback: Any,
    metrics: Any,
    metadata: Any,
    user_properties: Any,
    span: Any,
) -> None:
    tracer, exporter = pipeline
    ended = tracer.start_span("ended")
    ended.end()

    def call(strict: bool) -> None:
        with tracer.start_as_current_span("root"), tracer.start_as_current_span("child") as child:
            target = {"ended": ended, "current": child}.get(span, span) if isinstance(
                span, str
            ) else span
            fb.enrich_span(feedback, metrics, metadata, user_properties, span=target, strict=strict)
            fb.enrich_session(feedback, metrics, metadata, user_properties, strict=strict)
            fb.current_feedback_token(span=target, strict=strict)

    lenient_and_strict(call, exporter)


@FUZZ
@given(
    name=st.one_of(texts, anything),
    value=anything,
    reason=anything,
    label=anything,
    source=st.one_of(st.sampled_from(["human", "LLM-judge", "code", "bogus"]), anything),
    source_id=anything,
    kind=st.one_of(st.sampled_from(["explicit", "IMPLICIT"]), anything),
    metadata=anything,
    timestamp=st.one_of(st.integers(), texts, st.datetimes(), anything),
    error=anything,
    feedback_id=st.one_of(st.just(uuid.uuid4().hex), anything),
)
def test_log_feedback_on_the_current_span(
    pipeline: tuple[Tracer, EncodingExporter], **fields: Any
) -> None:
    tracer, exporter = pipeline

    def call(strict: bool) -> None:
        with tracer.start_as_current_span("host"):
            fb.log_feedback(**fields, strict=strict)

    lenient_and_strict(call, exporter)


@FUZZ
@given(target=tokens, trace_id=hex_ids, span_id=hex_ids, value=anything, pick=st.integers(0, 3))
def test_log_feedback_targets(
    pipeline: tuple[Tracer, EncodingExporter],
    target: Any,
    trace_id: Any,
    span_id: Any,
    value: Any,
    pick: int,
) -> None:
    _, exporter = pipeline
    arguments = [
        {"target": target},
        {"trace_id": trace_id, "span_id": span_id},
        {"trace_id": trace_id},
        {"span_id": span_id},
    ][pick]

    def call(strict: bool) -> None:
        fb.log_feedback("rating", value, **arguments, strict=strict)

    lenient_and_strict(call, exporter)


@FUZZ
@given(scores=st.one_of(st.lists(st.one_of(anything, st.fixed_dictionaries(
    {"id": hex_ids, "name": st.one_of(texts, anything), "value": anything},
    optional={"trace_id": hex_ids, "reason": anything, "category_name": anything,
              "reasn": anything, "metadata": anything, "timestamp": anything},
)), max_size=4), anything))
def test_batches(pipeline: tuple[Tracer, EncodingExporter], scores: Any) -> None:
    _, exporter = pipeline

    def call(strict: bool) -> None:
        fb.log_traces_feedback_scores(scores, strict=strict)
        fb.log_spans_feedback_scores(scores, strict=strict)

    lenient_and_strict(call, exporter)


@FUZZ
@given(value=anything, prefix=st.one_of(texts, anything))
def test_flatten_and_unflatten(
    pipeline: tuple[Tracer, EncodingExporter], value: Any, prefix: Any
) -> None:
    _, exporter = pipeline

    def call(strict: bool) -> None:
        flat = fb.flatten(value, prefix, strict=strict)
        for key, item in flat.items():  # what flatten gives, the OTLP encoders take
            key.encode("utf-8")
            if isinstance(item, str):
                item.encode("utf-8")
        fb.unflatten(flat, prefix, strict=strict)
        fb.unflatten(value, prefix, strict=strict)

    lenient_and_strict(call, exporter)


@FUZZ
@given(token=tokens, secret=secrets, max_age=st.one_of(st.none(), st.floats(), anything))
def test_parse_feedback_token(token: Any, secret: Any, max_age: Any) -> None:
    try:
        parsed = fb.parse_feedback_token(token, secret=secret, max_age=max_age)
    except FeedbackError:
        return
    assert isinstance(parsed, FeedbackToken)


@FUZZ
@given(
    session_id=st.one_of(texts, anything),
    user_id=st.one_of(texts, anything),
    secret=secrets,
    include_identity=anything,
)
def test_identity_and_tokens(
    pipeline: tuple[Tracer, EncodingExporter],
    session_id: Any,
    user_id: Any,
    secret: Any,
    include_identity: Any,
) -> None:
    tracer, exporter = pipeline

    def call(strict: bool) -> None:
        with fb.using_session(session_id, user_id=user_id, strict=strict):
            with fb.using_user(user_id, strict=strict), tracer.start_as_current_span("host"):
                token = fb.current_feedback_token(
                    secret=secret, include_identity=include_identity, strict=strict
                )
            if token is not None:
                fb.parse_feedback_token(token, secret=secret, require_signature=False)
                fb.log_feedback("rating", 1, target=token, strict=strict)
        assert fb.current_session_id() is None

    lenient_and_strict(call, exporter)
