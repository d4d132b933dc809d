#!/usr/bin/env python3
"""Benchmarks of online and offline scoring: ``python3 benchmarks/scoring.py``.

- **S1** — what ``OnlineScorer`` adds to the application thread: span start+end (the span
  carries ``output.value``) on a provider holding an ``OnlineScorer`` / the same provider
  without it, as a paired interleaved ratio in one process (the method of
  ``benchmarks/harness.py``). Its threads are stopped for S1, so only ``on_end``'s sampling
  and enqueue are measured; the queue is emptied between calls, outside the timed loop.
  Target ≤ 1.05.
- **S1w** (info) — the same with the threads running (dispatcher and one worker scoring with
  ``Equals`` and recording each score as late feedback): the whole cost of online scoring
  while it keeps up, on a shared GIL.
- **S2** — heuristic throughput on one core: scores per second of each heuristic on a
  fixed pair of ~300-character texts (single thread; the worker of a real deployment runs
  the same code); each scorer is a variant of interleaved rounds, its round time the fastest
  of back-to-back passes, the result the median over rounds.

Runs in the development virtualenv (``scripts/devenv.py``, which has the ``[scoring]``
extra), writes ``benchmarks/results/scoring.json`` and ``benchmarks/scoring.md`` (the
section of BENCHMARKS.md), then regenerates ``BENCHMARKS.md``.
``--quick``: tiny counts, writes nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results" / "scoring.json"
SECTION = BENCH_DIR / "scoring.md"
COMMAND = "python3 benchmarks/scoring.py"

OUTPUT = (
    "The Eiffel Tower is located in Paris, France. It was completed in 1889 for the World's "
    "Fair and is about 330 metres tall. It is the most visited paid monument in the world, "
    "with millions of visitors every year, and it was the tallest man-made structure until "
    "the Chrysler Building in New York was finished in 1930."
)
EXPECTED = (
    "The Eiffel Tower stands in Paris, France. Completed in 1889 for the World's Fair, it is "
    "roughly 330 metres high. It is among the most visited paid monuments in the world and "
    "was the tallest structure made by people until New York's Chrysler Building was "
    "completed in 1930."
)


def s1_on_end(scale: Any, *, worker: bool = False) -> dict[str, Any]:
    """Span start+end with an OnlineScorer on the provider / without (see the module doc)."""
    from benchmarks import workloads  # noqa: PLC0415
    from benchmarks.harness import interleave, summarize  # noqa: PLC0415
    from otel_feedback.scoring import Equals, OnlineScorer  # noqa: PLC0415

    without = workloads.provider(feedback=False)
    with_online = workloads.provider(feedback=False)
    online = OnlineScorer([Equals()], tracer_provider=with_online, max_queue_size=1 << 30)
    with_online.add_span_processor(online)
    if not worker:
        online._stopping = True  # the threads exit; on_end still queues
        online._wake_dispatcher.set()
        online._wake_workers.set()
        for thread in online._threads:
            thread.join()

    def body(span: Any) -> None:
        span.set_attribute("output.value", "Paris")

    def emptied(run: Callable[[int], int]) -> Callable[[int], int]:
        def run_and_empty(n: int) -> int:
            elapsed = run(n)
            if not worker:
                online._incoming.clear()  # untimed: keeps memory flat
            else:
                online.force_flush()  # untimed: the worker catches up before the next call
            return elapsed

        return run_and_empty

    rounds = interleave(
        {
            "without": workloads.span_loop(without.get_tracer("bench"), body),
            "with": emptied(workloads.span_loop(with_online.get_tracer("bench"), body)),
        },
        **scale.timing(),
    )
    dropped = online.dropped
    online._incoming.clear()
    without.shutdown()
    with_online.shutdown()
    ratios = rounds.ratios("with", "without")
    stats = summarize(ratios)
    return {
        "id": "S1w" if worker else "S1",
        "name": "OnlineScorer, worker scoring (info)"
        if worker
        else "OnlineScorer on_end (enqueue only)",
        "ratio": stats["median"],
        "target": {"op": "info", "value": 0.0} if worker else {"op": "<=", "value": 1.05},
        "met": None if worker else stats["median"] <= 1.05,
        "stats": stats,
        "ns_per_op_median": {name: rounds.median_ns(name) for name in rounds.ns_per_op},
        "ops_per_call": rounds.n,
        "seconds": round(rounds.seconds, 2),
        "dropped": dropped,
    }


def s2_throughput(scale: Any) -> dict[str, Any]:
    """Scores per second per heuristic on one core (interleaved rounds, median)."""
    from otel_feedback.scoring import (  # noqa: PLC0415
        BLEU,
        ROUGE,
        Contains,
        Equals,
        IsJson,
        Levenshtein,
        Perplexity,
        RegexMatch,
    )

    logprobs = [-0.05 * (index % 7) for index in range(64)]
    cases: dict[str, Callable[[], object]] = {}
    for scorer in (
        Equals(),
        Contains(substring="Paris"),
        RegexMatch(r"\b1[89]\d\d\b"),
        IsJson(),
        Levenshtein(),
        BLEU(),
        ROUGE("rouge1"),
        ROUGE("rougeL"),
    ):
        label = scorer.name if not isinstance(scorer, ROUGE) else f"rouge ({scorer.rouge_type})"
        cases[label] = lambda scorer=scorer: scorer.score(output=OUTPUT, expected=EXPECTED)
    perplexity = Perplexity()
    cases["perplexity (64 tokens)"] = lambda: perplexity.score(logprobs=logprobs)
    from benchmarks.harness import interleave  # noqa: PLC0415

    def timed(call: Callable[[], object]) -> Callable[[int], int]:
        def run(n: int) -> int:
            t0 = time.perf_counter_ns()
            for _ in range(n):
                call()
            return time.perf_counter_ns() - t0

        return run

    # Interleaved rounds, fastest of back-to-back passes, median over rounds: the least
    # disturbed speed on a shared machine (see benchmarks/harness.py).
    rounds = interleave(
        {label: timed(call) for label, call in cases.items()},
        rounds=max(3, scale.rounds // 20),
        round_ms=scale.round_ms,
        passes=max(2, scale.passes // 2),
        warmup_rounds=1,
        same_n=False,
    )
    per_second = {label: 1e9 / rounds.median_ns(label) for label in cases}
    return {
        "id": "S2",
        "name": "heuristic throughput, one core",
        "scores_per_second": per_second,
        "text_chars": [len(OUTPUT), len(EXPECTED)],
    }


def markdown(document: dict[str, Any]) -> str:
    """The BENCHMARKS.md section of these results."""
    s1, s1w, s2 = (document["results"][key] for key in ("S1", "S1w", "S2"))

    def ratio_row(result: dict[str, Any]) -> str:
        stats = result["stats"]
        target = result["target"]
        target_text = "(info)" if target["op"] == "info" else f"≤ {target['value']:g}"
        met = "—" if result["met"] is None else ("yes" if result["met"] else "**no**")
        return (
            f"| {result['id']} | {result['name']} | {result['ratio']:.2f} | "
            f"{stats['ci_low']:.3f} to {stats['ci_high']:.3f} | {target_text} | {met} |"
        )

    def times(result: dict[str, Any]) -> str:
        return ", ".join(
            f"{name} {ns / 1000:.2f} µs" for name, ns in result["ns_per_op_median"].items()
        )

    lines = [
        "## Scoring",
        "",
        "<!-- Generated by `python3 benchmarks/scoring.py` "
        "(benchmarks/results/scoring.json). -->",
        "",
        "| | benchmark | ratio | 95% CI | target | met? |",
        "|---|---|---:|---|---|---|",
        ratio_row(s1),
        ratio_row(s1w),
        "",
        "- **S1** — span start+end (the span sets `output.value`) on a provider with "
        "`OnlineScorer([Equals()])` + SimpleSpanProcessor(no-op exporter) / the same provider "
        "without `OnlineScorer`; its threads are stopped, so this is `on_end`'s sampling and "
        f"enqueue alone, what the application thread pays. Median time per span: {times(s1)} "
        f"({s1['stats']['rounds']} rounds).",
        "- **S1w** — the same with its threads running: the dispatcher checks each span for "
        "an input or output, a worker scores it with `Equals` and records the score as a late "
        "`feedback` span, in background threads sharing the GIL; the queues are drained "
        "(untimed) after each call. What an application pays when every span is scored: "
        f"{times(s1w)}.",
        "",
        f"**S2 — heuristic throughput on one core** (texts of {s2['text_chars'][0]} and "
        f"{s2['text_chars'][1]} characters; interleaved rounds, fastest pass of each round, "
        "median over rounds; Perplexity on 64 token log-probabilities):",
        "",
        "| scorer | scores / s |",
        "|---|---:|",
    ]
    lines += [f"| {name} | {rate:,.0f} |" for name, rate in s2["scores_per_second"].items()]
    env = document["environment"]
    lines += [
        "",
        f"Command: `{COMMAND}` ({document['total_seconds']:.0f} s). Python {env['python']}; "
        f"rapidfuzz {env['rapidfuzz']}, sacrebleu {env['sacrebleu']}, rouge-score "
        f"{env['rouge_score']}; {env['date']}, commit {env['git_commit']}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="tiny counts; writes nothing")
    args = parser.parse_args(argv)
    venv_python = REPO_ROOT / ".venv" / "bin" / "python"
    if Path(sys.prefix).resolve() != (REPO_ROOT / ".venv").resolve():
        sys.path.insert(0, str(REPO_ROOT / "scripts"))
        from devenv import ensure_venv  # noqa: PLC0415

        ensure_venv()
        os.execv(str(venv_python), [str(venv_python), __file__, *sys.argv[1:]])
    sys.path[:0] = [str(REPO_ROOT / "src"), str(REPO_ROOT)]
    from benchmarks import run, suite  # noqa: PLC0415

    scale = suite.Scale.smoke() if args.quick else suite.Scale(rounds=200)
    started = time.monotonic()
    results = {
        "S1": s1_on_end(scale),
        "S1w": s1_on_end(scale, worker=True),
        "S2": s2_throughput(scale),
    }
    environment = run.environment()
    for dist in ("rapidfuzz", "sacrebleu", "rouge_score"):
        environment[dist] = run._version(dist.replace("_", "-"))
    document = {
        "environment": {**environment, "command": COMMAND},
        "results": results,
        "total_seconds": round(time.monotonic() - started, 1),
    }
    print(markdown(document))
    if not args.quick:
        RESULTS.write_text(json.dumps(document, indent=2) + "\n")
        SECTION.write_text(markdown(document))
        print(f"wrote {RESULTS.relative_to(REPO_ROOT)} and {SECTION.relative_to(REPO_ROOT)}")
        run.main(["--render"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
