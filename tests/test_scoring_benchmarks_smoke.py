"""The scoring benchmarks run, with tiny counts (no timing is asserted)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import scoring, suite  # noqa: E402


def test_scoring_benchmarks_run_and_render() -> None:
    smoke = suite.Scale.smoke()
    results = {
        "S1": scoring.s1_on_end(smoke),
        "S1w": scoring.s1_on_end(smoke, worker=True),
        "S2": scoring.s2_throughput(smoke),
    }
    assert math.isfinite(results["S1"]["ratio"])
    assert results["S1"]["met"] in (True, False)
    assert results["S1"]["dropped"] == 0
    assert results["S1w"]["met"] is None
    rates = results["S2"]["scores_per_second"]
    assert set(rates) >= {"equals", "levenshtein", "bleu", "rouge (rougeL)"}
    assert all(rate > 0 for rate in rates.values())
    document = {
        "environment": {
            "python": "3",
            "rapidfuzz": "x",
            "sacrebleu": "x",
            "rouge_score": "x",
            "date": "d",
            "git_commit": "c",
        },
        "results": results,
        "total_seconds": 1.0,
    }
    text = scoring.markdown(document)
    assert text.startswith("## Scoring")
    assert "| S1 |" in text
    assert "| levenshtein |" in text
