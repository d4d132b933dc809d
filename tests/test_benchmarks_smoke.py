"""Every benchmark of benchmarks/ runs, with tiny counts (no timing is asserted).

The full suite is ``python3 benchmarks/run.py`` (see BENCHMARKS.md). B3 needs honeyhive,
which is installed only in the benchmark virtualenv, so it is skipped here without it.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import harness, report, suite, workloads  # noqa: E402

SMOKE = suite.Scale.smoke()


def _check(result: dict[str, Any]) -> None:
    assert result["id"]
    assert isinstance(result["ratio"], float)
    assert math.isfinite(result["ratio"])
    assert result["met"] in (True, False, None)
    assert report.describe(result)


@pytest.mark.parametrize("bench_id", [b for b in suite.BENCHMARKS if b != "B3"])
def test_benchmark_runs(bench_id: str) -> None:
    _check(suite.BENCHMARKS[bench_id](SMOKE))


def test_benchmarks_in_fresh_processes_pool_their_rounds() -> None:
    def one(ratios: list[float]) -> dict[str, Any]:
        return {
            "id": "B1",
            "ratio": harness.summarize(ratios)["median"],
            "target": {"op": "<=", "value": 1.08},
            "ratios": ratios,
            "seconds": 1.5,
            "ns_per_op_median": {"with": 2.0 * ratios[0], "without": 2.0},
        }

    result = suite.pooled([one([1.0, 1.01, 1.02]), one([1.09, 1.10, 1.11]), one([1.03] * 3)])
    assert result["process_ratios"] == [1.01, 1.10, 1.03]
    assert result["stats"]["rounds"] == 9
    assert result["ratio"] == 1.03  # the median of all nine rounds
    assert result["met"] is True
    assert result["seconds"] == 4.5
    assert result["ns_per_op_median"] == {"with": 2.06, "without": 2.0}
    assert suite.pooled([one([1.09] * 3)])["met"] is False
    ran = suite.BENCHMARKS["B1"](SMOKE)  # a fresh process, as run.py runs it
    assert ran["process_ratios"] == [ran["ratio"]]
    assert len(ran["ratios"]) == ran["stats"]["rounds"] == SMOKE.rounds


def test_late_feedback_counts_every_record() -> None:
    result = suite.b4_late(SMOKE)
    assert result["records_received"] == result["records_sent"]
    assert result["records_sent"]["feedback"] > 0


def test_payload_has_thirteen_leaves() -> None:
    import otel_feedback as fb  # noqa: PLC0415

    flat = fb.flatten(workloads.PAYLOAD, prefix="feedback")
    leaves = sum(len(value) if isinstance(value, tuple) else 1 for value in flat.values())
    assert leaves == workloads.PAYLOAD_LEAVES == 13
    assert len(fb.flatten(workloads.PAYLOAD_INDEXED, prefix="feedback")) == 13
    for size in suite.SCALING_SIZES:
        assert len(fb.flatten(workloads.scaling_payload(size))) == size


def test_harness_statistics() -> None:
    calls: list[str] = []

    def variant(name: str) -> harness.Variant:
        def run(n: int) -> int:
            calls.append(name)
            return n * (2 if name == "slow" else 1)

        return run

    rounds = harness.interleave(
        {"fast": variant("fast"), "slow": variant("slow")}, rounds=4, warmup_rounds=0, n=10
    )
    assert rounds.ratios("slow", "fast") == [2.0] * 4
    assert calls[:4] == ["fast", "slow", "slow", "fast"]  # every order in turn
    assert harness.summarize([1.0, 2.0, 3.0])["median"] == 2.0
    assert harness.fit_exponent([10, 100, 1000], [1, 10, 100]) == pytest.approx(1.0)


def test_markdown_renders() -> None:
    results = [suite.calibration(SMOKE), suite.b6_scaling(SMOKE)]
    document = {
        "environment": {
            "cpu": "cpu",
            "cores": 2,
            "platform": "p",
            "python": "3",
            "opentelemetry_api": "1",
            "opentelemetry_sdk": "1",
            "opentelemetry_exporter_otlp": "1",
            "grpcio": "1",
            "honeyhive": None,
            "git_commit": "abc",
            "src_dirty": False,
            "date": "today",
            "command": "python3 benchmarks/run.py",
        },
        "results": results,
        "profiles": {"x": "y"},
        "total_seconds": 1.0,
    }
    text = report.markdown(document)
    assert "| CAL |" in text
    assert "| B6 |" in text


def test_outbox_benchmarks_run(tmp_path: Path) -> None:
    from benchmarks import outbox  # noqa: PLC0415

    o1 = outbox.o1_call_cost("normal", records=20, rounds=2, directory=str(tmp_path))
    assert o1["received"]["arrived"] == o1["received"]["sent"] > 0
    assert math.isfinite(o1["ratio"])
    o2 = outbox.o2_sustained(records=100, directory=str(tmp_path))
    assert o2["records"] == 100
    assert o2["delivered_per_second"] > 0
