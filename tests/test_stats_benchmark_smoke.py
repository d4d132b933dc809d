"""Benchmark ST1/ST2 (benchmarks/stats.py) runs on tiny data; its two paths agree."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

pytest.importorskip("duckdb")
pytest.importorskip("chdb")

from benchmarks import stats, stats_data  # noqa: E402


def test_stats_benchmark_variants_run_and_agree(tmp_path: Path) -> None:
    otlp, rows = tmp_path / "spans.jsonl", tmp_path / "rows.jsonl"
    spans = stats_data.write(otlp, 300, rows_path=rows, batch=64)
    assert spans == 450  # 300 rated spans, one in two with late feedback
    assert sum(1 for _ in rows.open()) == spans
    store = stats.chdb_store(rows)
    assert stats.run_json(otlp) > 0
    _, output = stats.run_stats(otlp)
    _, chdb_rows = stats.run_chdb(store)
    assert {row["field"] for row in output} == {
        "feedback.comment",
        "feedback.rating",
        "feedback.thumbs_up",
        "metrics.relevance",
    }
    assert sum(row["count"] for row in output if row["field"] == "feedback.rating") == 300
    assert stats.same_numbers(output, chdb_rows)
