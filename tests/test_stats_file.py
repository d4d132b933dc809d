"""``otel-feedback stats file:...`` against traces recorded through the real pipeline.

Every number printed by ``--format json`` is compared with an exact computation (numpy's
default percentiles, plain counting) over what the test recorded: live values, live
updates, late feedback folded in by ``feedback.timestamp`` (later wins, whatever the arrival
order), late-only fields, groups from the rated span / its root / its resource, time buckets
and time windows.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from stats_scenario import BASE, OTLPJsonLinesExporter, Truth, expected_rows, record

import otel_feedback as fb
from otel_feedback.cli import main

pytest.importorskip("duckdb")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Truth]:
    path = tmp_path_factory.mktemp("stats") / "spans.jsonl"
    provider = TracerProvider(resource=Resource.create({"service.name": "chat-svc"}))
    provider.add_span_processor(fb.FeedbackSpanProcessor(tracer_provider=provider))
    provider.add_span_processor(
        BatchSpanProcessor(OTLPJsonLinesExporter(path), max_export_batch_size=16)
    )
    truth = record(provider)
    provider.shutdown()
    return path, truth


def stats(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    code = main(["stats", *args, "--format", "json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out else None, captured.err


def assert_rows(actual: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    assert [(r["field"], r["group"], r["bucket"]) for r in actual] == [
        (r["field"], r["group"], r["bucket"]) for r in expected
    ]
    for got, want in zip(actual, expected, strict=True):
        assert list(got) == list(want) or set(got) == set(want)
        for key, value in want.items():
            if isinstance(value, float):
                assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-12), (got, key)
            else:
                assert got[key] == value, (got["field"], key)


def test_every_measure_matches_an_exact_computation(
    recorded: tuple[Path, Truth], capsys: pytest.CaptureFixture[str]
) -> None:
    path, truth = recorded
    code, out, err = stats(capsys, f"file:{path}")
    assert code == 0, err
    expected = expected_rows(truth)
    assert_rows(out["rows"], expected)
    fields = {row["field"]: row["type"] for row in out["rows"]}
    assert fields == {
        "feedback.accuracy": "number",  # only ever sent late
        "feedback.comment": "string",
        "feedback.copied": "bool",
        "feedback.helpful": "bool",  # late, on the root span
        "feedback.rating": "number",
        "feedback.resolved": "bool",
        "feedback.step1.retry": "bool",  # nested, by its dotted path
        "feedback.thumbs_up": "bool",
        "feedback.useful": "bool",  # late, on a span without feedback of its own
        "metrics.relevance": "number",
    }
    assert "skipped" not in err


def test_late_feedback_replaces_the_live_value_later_wins(
    recorded: tuple[Path, Truth], capsys: pytest.CaptureFixture[str]
) -> None:
    path, truth = recorded
    overridden = [
        u for u in truth.units.values() if any(k == "feedback.rating" for _, _, k, _ in u.late)
    ]
    assert len(overridden) >= 5
    # The naive reading (own values only, or the last record sent) would give other numbers.
    naive = [u.own["feedback.rating"] for u in truth.units.values() if "feedback.rating" in u.own]
    by_arrival = []
    for unit in truth.units.values():
        values = dict(unit.own)
        arrival = sorted(unit.late, key=lambda item: item[1])
        values.update((key, value) for _, _, key, value in arrival)
        if "feedback.rating" in values:
            by_arrival.append(values["feedback.rating"])
    code, out, _ = stats(capsys, f"file:{path}", "--field", "feedback.rating")
    assert code == 0
    [row] = out["rows"]
    final = [
        u.final()["feedback.rating"] for u in truth.units.values() if "feedback.rating" in u.final()
    ]
    assert row["count"] == len(final) == len(naive)  # a rated span counts once
    assert row["sum"] == sum(final)
    assert sum(final) != sum(by_arrival) or sum(final) != sum(naive)


@pytest.mark.parametrize("group_by", ["gen_ai.request.model", "team", "service.name", "nope"])
def test_group_by_span_then_root_then_resource(
    recorded: tuple[Path, Truth], capsys: pytest.CaptureFixture[str], group_by: str
) -> None:
    path, truth = recorded
    code, out, err = stats(capsys, f"file:{path}", "--group-by", group_by)
    assert code == 0, err
    assert_rows(out["rows"], expected_rows(truth, group_by=group_by))
    groups = {row["group"] for row in out["rows"]}
    if group_by == "gen_ai.request.model":
        assert groups == {"model-a", "model-b", "model-c", None}  # root spans have no model
    if group_by == "nope":
        assert groups == {None}


def test_time_buckets_and_window(
    recorded: tuple[Path, Truth], capsys: pytest.CaptureFixture[str]
) -> None:
    path, truth = recorded
    since = BASE + dt.timedelta(hours=1)
    until = BASE + dt.timedelta(hours=5, minutes=30)
    code, out, err = stats(
        capsys,
        f"file:{path}",
        "--every",
        "1h",
        "--group-by",
        "team",
        "--since",
        since.isoformat(),
        "--until",
        until.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "--field",
        "feedback.*",
    )
    assert code == 0, err
    expected = expected_rows(
        truth,
        fields=["feedback.*"],
        group_by="team",
        every_seconds=3600,
        since=since,
        until=until,
    )
    assert_rows(out["rows"], expected)
    buckets = sorted({row["bucket"] for row in out["rows"]})
    assert buckets[0] == "2026-11-02T09:00:00Z"
    assert buckets[-1] == "2026-11-02T13:00:00Z"


def test_gzip_and_directory_sources(
    recorded: tuple[Path, Truth], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path, truth = recorded
    lines = path.read_bytes().splitlines(keepends=True)
    folder = tmp_path / "export"
    (folder / "sub").mkdir(parents=True)
    half = len(lines) // 2
    (folder / "traces-1.jsonl").write_bytes(b"".join(lines[:half]))
    with gzip.open(folder / "sub" / "traces-2.jsonl.gz", "wb") as out:
        out.write(b"".join(lines[half:]))
    (folder / "notes.txt").write_text("not a trace file\n")
    code, out, err = stats(capsys, f"file:{folder}")
    assert code == 0, err
    assert_rows(out["rows"], expected_rows(truth))
    gz = tmp_path / "all.jsonl.gz"
    with path.open("rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    code, out, err = stats(capsys, f"file://{gz}", "--top", "2")
    assert code == 0, err
    assert_rows(out["rows"], expected_rows(truth, top=2))


def test_table_and_csv_show_the_same_numbers(
    recorded: tuple[Path, Truth], capsys: pytest.CaptureFixture[str]
) -> None:
    path, truth = recorded
    assert main(["stats", f"file:{path}", "--field", "feedback.rating", "--format", "csv"]) == 0
    header, line = capsys.readouterr().out.strip().splitlines()
    row = dict(zip(header.split(","), line.split(","), strict=True))
    [want] = expected_rows(truth, fields=["feedback.rating"])
    assert int(row["count"]) == want["count"]
    assert float(row["p95"]) == pytest.approx(want["p95"], rel=1e-12)
    assert row["true"] == ""
    assert row["top"] == ""
    assert main(["stats", f"file:{path}", "--group-by", "team"]) == 0
    table = capsys.readouterr().out
    assert "number fields" in table
    assert "bool fields" in table
    assert "string fields" in table
    assert "team-a" in table
    assert "feedback.rating" in table


def test_plot_writes_a_png(
    recorded: tuple[Path, Truth], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path, _ = recorded
    chart = tmp_path / "chart.png"
    code = main(
        [
            "stats",
            f"file:{path}",
            "--every",
            "1h",
            "--group-by",
            "gen_ai.request.model",
            "--format",
            "json",
            "--plot",
            str(chart),
        ]
    )
    assert code == 0
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "chart written" in capsys.readouterr().err
