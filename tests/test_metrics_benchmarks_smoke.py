"""The feedback-metrics benchmarks run, with tiny counts (no timing is asserted)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import metrics, suite  # noqa: E402
from otel_feedback import delivery  # noqa: E402


def test_metrics_benchmarks_run_and_render() -> None:
    smoke = suite.Scale.smoke()
    observers = delivery._observers
    results = {
        "M1": metrics.m1_log_feedback(smoke),
        "M2": metrics.m2_span_memory(smoke, model=False),
        "M2m": metrics.m2_span_memory(smoke, model=True),
    }
    assert delivery._observers == observers  # every FeedbackMetrics was closed
    assert all(math.isfinite(result["ratio"]) for result in results.values())
    assert results["M2"]["met"] in (True, False)
    assert results["M1"]["met"] is None
    document = {
        "environment": {"python": "3", "date": "d", "git_commit": "c"},
        "results": results,
        "total_seconds": 1.0,
    }
    text = metrics.markdown(document)
    assert text.startswith("## Feedback metrics")
    assert "| M2 |" in text
