"""B5 child process: RSS growth over N spans; prints one JSON line.

``python benchmarks/memory.py --spans 1000000 --mode feedback`` (``--mode bare``: the same
provider without FeedbackSpanProcessor). Run by :func:`benchmarks.suite.b5_memory` in a
fresh interpreter, so the baseline holds nothing from other benchmarks.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from pathlib import Path

sys.path[:0] = [
    str(Path(__file__).resolve().parents[1] / "src"),
    str(Path(__file__).resolve().parents[1]),
]

import psutil  # noqa: E402

import otel_feedback as fb  # noqa: E402
from benchmarks import workloads  # noqa: E402

CHECKPOINTS = 10


def rss() -> int:
    gc.collect()
    return int(psutil.Process().memory_info().rss)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--mode", choices=("feedback", "bare"), default="feedback")
    args = parser.parse_args()
    provider = workloads.provider(feedback=args.mode == "feedback", export="noop")
    tracer = provider.get_tracer("bench")
    start = tracer.start_as_current_span
    with fb.using_session("sess-1", user_id="u-42"), start("warmup"):  # warm up once
        pass
    baseline = rss()
    samples = []
    step = max(1, args.spans // CHECKPOINTS)
    done = 0
    with fb.using_session("sess-1", user_id="u-42"):
        while done < args.spans:
            batch = min(step, args.spans - done)
            for _ in range(batch):
                with start("chat"):
                    pass
            done += batch
            samples.append([done, rss() - baseline])
    final = rss()
    counts = (
        workloads.feedback_processor(provider).tracked_counts if args.mode == "feedback" else {}
    )
    print(
        json.dumps(
            {
                "mode": args.mode,
                "spans": args.spans,
                "baseline_bytes": baseline,
                "final_bytes": final,
                "growth_bytes": final - baseline,
                "peak_growth_bytes": max(s[1] for s in samples),
                "samples": samples,
                "tracked_counts": counts,
            }
        )
    )


if __name__ == "__main__":
    main()
