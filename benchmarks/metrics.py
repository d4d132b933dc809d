#!/usr/bin/env python3
"""Benchmarks of the feedback metrics: ``python3 benchmarks/metrics.py``.

- **M1** — what ``FeedbackMetrics`` adds to a rated request: a span carrying
  ``gen_ai.request.model`` and one ``log_feedback`` on it, with ``FeedbackMetrics``
  recording into an SDK ``MeterProvider`` / without it, as a paired interleaved ratio in one
  process (the method of ``benchmarks/harness.py``). Informative: paid once per feedback.
- **M2** — what its span processor (the memory of rated spans' allow-listed attributes for
  late feedback) adds to a span's start+end, the span carrying ``gen_ai.request.model``.
  Target ≤ 1.05 for a span without any allow-listed attribute (**M2**); **M2m** (info):
  every span carries ``gen_ai.request.model`` and is remembered.

Runs in the development virtualenv (``scripts/devenv.py``), writes
``benchmarks/results/metrics.json`` and ``benchmarks/metrics.md``, the section of
BENCHMARKS.md (``python3 benchmarks/run.py --render`` adds it there). ``--quick``: tiny
counts, writes nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results" / "metrics.json"
SECTION = BENCH_DIR / "metrics.md"
COMMAND = "python3 benchmarks/metrics.py"
MODEL = "gen_ai.request.model"


def _result(bench_id: str, name: str, rounds: Any, target: float | None) -> dict[str, Any]:
    """A paired ratio ``with / without``; ``target`` ``None`` for an informative one."""
    from benchmarks.harness import summarize  # noqa: PLC0415

    stats = summarize(rounds.ratios("with", "without"))
    return {
        "id": bench_id,
        "name": name,
        "ratio": stats["median"],
        "target": {"op": "info", "value": 0.0}
        if target is None
        else {"op": "<=", "value": target},
        "met": None if target is None else stats["median"] <= target,
        "stats": stats,
        "ns_per_op_median": {name: rounds.median_ns(name) for name in rounds.ns_per_op},
        "ops_per_call": rounds.n,
        "seconds": round(rounds.seconds, 2),
    }


def m1_log_feedback(scale: Any) -> dict[str, Any]:
    """``log_feedback`` on an open span, with / without ``FeedbackMetrics``."""
    from opentelemetry.sdk.metrics import MeterProvider  # noqa: PLC0415
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: PLC0415

    import otel_feedback as fb  # noqa: PLC0415
    from benchmarks import workloads  # noqa: PLC0415
    from benchmarks.harness import interleave  # noqa: PLC0415
    from otel_feedback.metrics import FeedbackMetrics  # noqa: PLC0415

    provider = workloads.provider(feedback=True)
    tracer = provider.get_tracer("bench")
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    log_feedback = fb.log_feedback
    start = tracer.start_as_current_span
    perf = time.perf_counter_ns

    def rated_requests(n: int) -> int:
        t0 = perf()
        for _ in range(n):
            with start("chat") as span:
                span.set_attribute(MODEL, "m1")
                log_feedback("user_rating", 4)
        return perf() - t0

    def with_metrics(n: int) -> int:
        metrics = FeedbackMetrics(meter_provider)  # the observer is process-wide: untimed
        try:
            return rated_requests(n)
        finally:
            metrics.close()

    rounds = interleave({"without": rated_requests, "with": with_metrics}, **scale.timing())
    provider.shutdown()
    meter_provider.shutdown()
    return _result("M1", "a rated request with feedback metrics on (info)", rounds, None)


def m2_span_memory(scale: Any, *, model: bool) -> dict[str, Any]:
    """Span start+end with / without the metrics' span processor; with ``model`` every span
    carries ``gen_ai.request.model`` (so every span is remembered), else another attribute."""
    from opentelemetry.metrics import NoOpMeterProvider  # noqa: PLC0415

    from benchmarks import workloads  # noqa: PLC0415
    from benchmarks.harness import interleave  # noqa: PLC0415
    from otel_feedback.metrics import FeedbackMetrics  # noqa: PLC0415

    without = workloads.provider(feedback=True)
    with_memory = workloads.provider(feedback=True)
    metrics = FeedbackMetrics(NoOpMeterProvider())
    with_memory.add_span_processor(metrics.span_processor)

    key = MODEL if model else "app.route"

    def body(span: Any) -> None:
        span.set_attribute(key, "m1")

    rounds = interleave(
        {
            "without": workloads.span_loop(without.get_tracer("bench"), body),
            "with": workloads.span_loop(with_memory.get_tracer("bench"), body),
        },
        **scale.timing(),
    )
    metrics.close()
    without.shutdown()
    with_memory.shutdown()
    if model:
        return _result("M2m", "M2, every span carrying the model (info)", rounds, None)
    return _result("M2", "span start+end with the metrics' span memory", rounds, 1.05)


def markdown(document: dict[str, Any]) -> str:
    """The BENCHMARKS.md section of these results."""
    m1, m2, m2m = (document["results"][key] for key in ("M1", "M2", "M2m"))

    def row(result: dict[str, Any]) -> str:
        stats = result["stats"]
        info = result["met"] is None
        met = "—" if info else ("yes" if result["met"] else "**no**")
        target = "(info)" if info else f"≤ {result['target']['value']:g}"
        return (
            f"| {result['id']} | {result['name']} | {result['ratio']:.2f} | "
            f"{stats['ci_low']:.3f} to {stats['ci_high']:.3f} | {target} | {met} |"
        )

    def times(result: dict[str, Any]) -> str:
        return ", ".join(
            f"{name} {ns / 1000:.2f} µs" for name, ns in result["ns_per_op_median"].items()
        )

    env = document["environment"]
    lines = [
        "## Feedback metrics",
        "",
        "<!-- Generated by `python3 benchmarks/metrics.py` (benchmarks/results/metrics.json). -->",
        "",
        "| | benchmark | ratio | 95% CI | target | met? |",
        "|---|---|---:|---|---|---|",
        row(m1),
        row(m2),
        row(m2m),
        "",
        "- **M1** — a rated request: span start+end (the span sets `gen_ai.request.model`) "
        "and `log_feedback(\"user_rating\", 4)` on it, with `FeedbackMetrics` recording into "
        "an SDK `MeterProvider` (histogram + counter, attributes read from the span) / "
        f"without it. Median time per request: {times(m1)} ({m1['stats']['rounds']} rounds). "
        "Most of the difference is the SDK recording two measurements (attribute hashing, "
        "aggregation, exemplars); it is paid once per feedback, not per span.",
        "- **M2** — span start+end (the span sets an attribute outside the allow-list) on a "
        "provider with `FeedbackSpanProcessor` and the metrics' span memory / with "
        "`FeedbackSpanProcessor` only: what the memory of rated spans' attributes for late "
        f"feedback costs a span that has none of them. {times(m2)}. Most of it is reading "
        "the span's attribute keys through the SDK's public mapping (a locked, Python-level "
        "iterator); reading them in `FeedbackSpanProcessor.on_end`, which handles the span "
        "anyway, would save that second pass and the second processor.",
        "- **M2m** — the same, every span setting `gen_ai.request.model`, so every span is "
        f"remembered (in an application, the LLM spans only). {times(m2m)}.",
        "",
        f"Command: `{COMMAND}` ({document['total_seconds']:.0f} s). Python {env['python']}; "
        f"{env['date']}, commit {env['git_commit']}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="tiny counts; writes nothing")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT))
    from benchmarks import run  # noqa: PLC0415 - stdlib only until the venv is entered

    run.enter_dev_venv(__file__)
    from benchmarks import suite  # noqa: PLC0415

    scale = suite.Scale.smoke() if args.quick else suite.Scale(rounds=200)
    started = time.monotonic()
    results = {
        "M1": m1_log_feedback(scale),
        "M2": m2_span_memory(scale, model=False),
        "M2m": m2_span_memory(scale, model=True),
    }
    document = {
        "environment": {**run.environment(), "command": COMMAND},
        "results": results,
        "total_seconds": round(time.monotonic() - started, 1),
    }
    print(markdown(document))
    if not args.quick:
        run.publish(document, RESULTS, SECTION, markdown(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
