"""What the benchmarks measure: providers, payloads and the operations timed.

Kept apart from :mod:`benchmarks.suite` (which turns them into ratios) so the smoke test
and the profiler use exactly the same workloads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

import otel_feedback as fb

# The 13-leaf nested feedback payload of issue 5: rating, comment, step1.retry, two edits,
# three tags, nested scores (four) and ground_truth. The three tags are strings, as tags are,
# so otel-feedback keeps them as one native array attribute (11 attributes in all);
# HoneyHive indexes every list (13 attributes).
PAYLOAD: dict[str, Any] = {
    "rating": 4,
    "comment": "Helpful, but the second step was slow.",
    "step1": {"retry": True},
    "edits": [{"value": "New York"}, {"value": "NY"}],
    "tags": ["travel", "weather", "follow-up"],
    "scores": {
        "relevance": 0.9,
        "accuracy": 0.75,
        "style": {"tone": 0.8, "clarity": 0.6},
    },
    "ground_truth": "The forecast for New York is sunny.",
}
PAYLOAD_LEAVES = 13
FLAT_PAYLOAD = fb.flatten(PAYLOAD, prefix="feedback")
assert len(FLAT_PAYLOAD) == 11, FLAT_PAYLOAD
assert sum(len(v) if isinstance(v, tuple) else 1 for v in FLAT_PAYLOAD.values()) == 13

# The same with the tags as three objects, so that every leaf is its own attribute for
# everyone (13): the heaviest reading of the issue, reported as B2i.
PAYLOAD_INDEXED: dict[str, Any] = {
    **PAYLOAD,
    "tags": [{"name": "travel"}, {"name": "weather"}, {"name": "follow-up"}],
}
FLAT_PAYLOAD_INDEXED = fb.flatten(PAYLOAD_INDEXED, prefix="feedback")
assert len(FLAT_PAYLOAD_INDEXED) == PAYLOAD_LEAVES, FLAT_PAYLOAD_INDEXED


class NoopExporter(SpanExporter):
    """Accepts every batch and does nothing: the export side costs the same for all."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


class NoopProcessor(SpanProcessor):
    """A span processor that keeps nothing (B5: only otel-feedback's memory is measured)."""


def provider(*, feedback: bool, export: str = "simple") -> TracerProvider:
    """A provider with (or without) ``FeedbackSpanProcessor`` and a no-op export path.

    ``export``: ``"simple"`` = ``SimpleSpanProcessor(NoopExporter())`` (synchronous: no
    exporter thread competing for the GIL, which made rounds noisy); ``"batch"`` =
    ``BatchSpanProcessor(NoopExporter())``; ``"noop"`` = :class:`NoopProcessor`.
    """
    result = TracerProvider()
    if feedback:
        result.add_span_processor(fb.FeedbackSpanProcessor(tracer_provider=result))
    if export == "simple":
        result.add_span_processor(SimpleSpanProcessor(NoopExporter()))
    elif export == "batch":
        result.add_span_processor(BatchSpanProcessor(NoopExporter()))
    elif export == "noop":
        result.add_span_processor(NoopProcessor())
    else:
        raise ValueError(f"unknown export {export!r}")
    return result


def feedback_processor(tracer_provider: TracerProvider) -> fb.FeedbackSpanProcessor:
    """The FeedbackSpanProcessor added to ``tracer_provider`` by :func:`provider`."""
    processors = tracer_provider._active_span_processor._span_processors
    return next(p for p in processors if isinstance(p, fb.FeedbackSpanProcessor))


# -- timed operations (each returns a run(n) -> ns closure) --------------------------------


def span_loop(tracer: Any, body: Callable[[Any], object] | None = None) -> Callable[[int], int]:
    """``with tracer.start_as_current_span(...) as span: body(span)``, n times."""
    start = tracer.start_as_current_span
    perf = time.perf_counter_ns
    if body is None:

        def run_bare(n: int) -> int:
            t0 = perf()
            for _ in range(n):
                with start("chat"):
                    pass
            return perf() - t0

        return run_bare

    def run(n: int) -> int:
        t0 = perf()
        for _ in range(n):
            with start("chat") as span:
                body(span)
        return perf() - t0

    return run


def child_span_loop(tracer: Any, root: Any) -> Callable[[int], int]:
    """:func:`span_loop` with ``root`` as the current span: each span is a child of it."""
    run = span_loop(tracer)
    parent = trace.set_span_in_context(root)

    def in_root(n: int) -> int:
        token = otel_context.attach(parent)
        try:
            return run(n)
        finally:
            otel_context.detach(token)

    return in_root


def enrich_ours(_span: object) -> None:
    fb.enrich_span(feedback=PAYLOAD)


def set_preflattened(span: Any) -> None:
    span.set_attributes(FLAT_PAYLOAD)


def enrich_ours_indexed(_span: object) -> None:
    fb.enrich_span(feedback=PAYLOAD_INDEXED)


def set_preflattened_indexed(span: Any) -> None:
    span.set_attributes(FLAT_PAYLOAD_INDEXED)


def sample_token() -> str:
    """A feedback token for a span of another process, issued now (B4 and its profile)."""
    return fb.FeedbackToken(
        trace_id=0x5B8EFFF798038103D269B633813FC60C,
        span_id=0xEEE19B7EC3C1B174,
        issued_at_ns=time.time_ns(),
        session_id="sess-1",
        user_id="u-42",
    ).encode()


def late_tokens(count: int) -> list[str]:
    """``count`` tokens as a frontend hands them back: spans of another process (each its
    own trace), with session and user, issued now (B4, O1, O2)."""
    issued = time.time_ns()
    return [
        fb.FeedbackToken(
            trace_id=0x5B8EFFF798038103D269B633813FC60C + index,
            span_id=0xEEE19B7EC3C1B174 + index,
            issued_at_ns=issued,
            root_span_id=0xEEE19B7EC3C1B173,
            session_id="sess-1",
            user_id="u-42",
        ).encode()
        for index in range(count)
    ]


def flatten_loop(payload: object) -> Callable[[int], int]:
    flatten = fb.flatten
    perf = time.perf_counter_ns

    def run(n: int) -> int:
        t0 = perf()
        for _ in range(n):
            flatten(payload, prefix="feedback")
        return perf() - t0

    return run


def scaling_payload(leaves: int) -> dict[str, Any]:
    """A nested mapping with exactly ``leaves`` leaves: groups of 10 mixed-type leaves."""
    groups: dict[str, Any] = {}
    kinds: list[Callable[[int], Any]] = [
        lambda i: i,
        lambda i: f"text-{i}",
        lambda i: i / 7,
        lambda i: i % 2 == 0,
    ]
    for index in range(leaves):
        group = groups.setdefault(f"group{index // 10}", {})
        group[f"leaf{index % 10}"] = kinds[index % 4](index)
    return {"scaling": groups}
