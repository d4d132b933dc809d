"""cProfile of the hot paths, as text tables of the top functions (for BENCHMARKS.md)."""

from __future__ import annotations

import cProfile
import io
import pstats
from collections.abc import Callable

import otel_feedback as fb
from benchmarks import workloads


def _top(run: Callable[[], object], limit: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(limit)
    lines = out.getvalue().splitlines()
    # Drop pstats' preamble (date, blank lines); keep the totals line and the table.
    preamble = ("   Ordered", "   List")
    kept = [line for line in lines if line.strip() and not line.startswith(preamble)]
    return "\n".join(_shorten(line) for line in kept[1:])


def _shorten(line: str) -> str:
    for marker in ("site-packages/", "/src/", "/benchmarks/"):
        head, sep, tail = line.partition(marker)
        if sep:
            return head[: head.rfind(" ") + 1] + tail
    return line


def hot_paths(limit: int = 12, spans: int = 20_000) -> dict[str, str]:
    """Profile span start+end with the processor, enrich_span, flatten and log_feedback."""
    results: dict[str, str] = {}
    provider = workloads.provider(feedback=True)
    tracer = provider.get_tracer("bench")
    workloads.span_loop(tracer)(spans)  # fill the processor's tables to steady state
    results["span start+end with FeedbackSpanProcessor (B1)"] = _top(
        lambda: workloads.span_loop(tracer)(spans), limit
    )
    results["enrich_span(feedback=P) (B2)"] = _top(
        lambda: workloads.span_loop(tracer, workloads.enrich_ours)(spans // 2), limit
    )
    results["flatten(P) (B2, B6)"] = _top(
        lambda: workloads.flatten_loop(workloads.PAYLOAD)(spans), limit
    )
    token = workloads.sample_token()

    def late() -> None:
        for _ in range(spans // 4):
            fb.log_feedback("user_rating", 4, target=token, reason="helpful")

    results["log_feedback by token, emission only (B4)"] = _top(late, limit)
    provider.shutdown()
    return results
