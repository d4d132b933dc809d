"""``otel-feedback stats``: bad input is skipped, counted and reported, never a traceback."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from otel_feedback.cli import main

pytest.importorskip("duckdb")

TRACE = "0af7651916cd43dd8448eb211c80319c"


def span(span_id: str, attributes: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "traceId": TRACE,
        "spanId": span_id,
        "name": "chat",
        "startTimeUnixNano": "1764460800000000000",
        "endTimeUnixNano": "1764460801000000000",
        "attributes": attributes,
        **extra,
    }


def line(*spans: dict[str, Any], scope: str = "app") -> str:
    scope_spans = [{"scope": {"name": scope}, "spans": list(spans)}]
    return json.dumps({"resourceSpans": [{"resource": {}, "scopeSpans": scope_spans}]})


def rating(value: dict[str, Any]) -> dict[str, Any]:
    return {"key": "feedback.rating", "value": value}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    code = main(["stats", *args, "--format", "json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out.strip() else None, captured.err


def test_broken_lines_spans_without_ids_and_odd_types_are_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = line(
        span("00f067aa0ba902b7", [rating({"intValue": "4"})]),
        span("00f067aa0ba902b8", [rating({"doubleValue": 2.5})]),
    )
    path = tmp_path / "spans.jsonl"
    path.write_text(
        "\n".join(
            [
                good,
                good[: len(good) // 2],  # truncated
                "not json at all",
                "[1, 2, 3]",
                "",
                line(
                    span("", [rating({"intValue": "5"})]),  # no span id
                    {**span("00f067aa0ba902b9", [rating({"intValue": "5"})]), "traceId": "xyz"},
                    span("00f067aa0ba902c0", [rating({"kvlistValue": {"values": []}})]),
                    span("00f067aa0ba902c1", [rating({"arrayValue": {"values": []}})]),
                    span("00f067aa0ba902c2", [rating({"stringValue": "five"})]),
                    span("00f067aa0ba902c3", [rating({"doubleValue": "NaN"})]),
                ),
            ]
        )
        + "\n"
    )
    code, out, err = run(capsys, f"file:{path}")
    assert code == 0
    [row] = out["rows"]
    assert row["type"] == "number"
    assert (row["count"], row["sum"]) == (2, 6.5)
    assert "skipped 3 lines that are not OTLP JSON" in err
    assert "skipped 2 spans without valid ids" in err
    assert "skipped 1 array-valued attributes" in err
    assert "skipped 2 attribute values of an unexpected type" in err
    assert "skipped 1 values of feedback.rating that are not of its type number" in err
    assert "Traceback" not in err


def test_a_field_takes_the_type_of_most_of_its_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "spans.jsonl"
    path.write_text(
        line(
            span("00f067aa0ba902b7", [rating({"boolValue": True})]),
            span("00f067aa0ba902b8", [rating({"boolValue": False})]),
            span("00f067aa0ba902b9", [rating({"intValue": "3"})]),
        )
        + "\n"
    )
    code, out, err = run(capsys, f"file:{path}")
    assert code == 0
    [row] = out["rows"]
    assert (row["type"], row["count"], row["true"], row["percent_true"]) == ("bool", 2, 1, 50.0)
    assert "skipped 1 values of feedback.rating that are not of its type bool" in err


def test_an_empty_store_gives_no_rows_and_exit_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    code, out, err = run(capsys, f"file:{empty}")
    assert (code, out) == (0, {"rows": []})
    assert "no feedback found" in err
    folder = tmp_path / "nothing"
    folder.mkdir()
    code, out, err = run(capsys, f"file:{folder}")
    assert code == 0
    assert "no *.jsonl" in err


def test_fields_matching_nothing_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "spans.jsonl"
    path.write_text(line(span("00f067aa0ba902b7", [rating({"intValue": "4"})])) + "\n")
    code, out, err = run(capsys, f"file:{path}", "--field", "feedback.*", "--field", "judge.*")
    assert code == 0
    assert [r["field"] for r in out["rows"]] == ["feedback.rating"]
    assert "--field judge.*: matched no data" in err
    code, out, err = run(capsys, f"file:{path}", "--field", "nothing.*")
    assert (code, out) == (0, {"rows": []})
    assert "no feedback found" in err
    assert "nothing.*" in err


@pytest.mark.parametrize(
    ("source", "code", "message"),
    [
        ("ftp://host/x", 2, "unknown source 'ftp://host/x'"),
        ("spans.jsonl", 2, "no scheme"),
        ("clickhouse://127.0.0.1:9", 2, "needs a database"),
        ("file:/does/not/exist.jsonl", 1, "file not found"),
    ],
)
def test_unusable_sources(
    capsys: pytest.CaptureFixture[str], source: str, code: int, message: str
) -> None:
    got, out, err = run(capsys, source)
    assert got == code
    assert out is None
    assert message in err


@pytest.mark.parametrize("options", [["--every", "soon"], ["--since", "yesterday"], ["--top", "0"]])
def test_bad_options_exit_2(capsys: pytest.CaptureFixture[str], options: list[str]) -> None:
    code, _, err = run(capsys, "file:/tmp/x.jsonl", *options)
    assert code == 2
    assert "error:" in err


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize("scheme", ["phoenix", "clickhouse"])
def test_an_unreachable_server_is_named_exit_1(
    capsys: pytest.CaptureFixture[str], scheme: str
) -> None:
    port = _closed_port()
    source = f"{scheme}://127.0.0.1:{port}" + ("/otel" if scheme == "clickhouse" else "")
    code, out, err = run(capsys, source)
    assert code == 1
    assert out is None
    assert f"127.0.0.1:{port}" in err
    assert "Traceback" not in err


def test_the_console_script(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    path.write_text(line(span("00f067aa0ba902b7", [rating({"intValue": "4"})])) + "\n")
    script = Path(sys.executable).with_name("otel-feedback")
    done = subprocess.run(
        [str(script), "stats", f"file:{path}", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rows"][0]["sum"] == 4
    done = subprocess.run(
        [str(script), "stats", "s3://bucket/x"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 2
    assert "unknown source" in done.stderr


def test_a_span_exported_twice_counts_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rated = span("00f067aa0ba902b7", [rating({"intValue": "2"})])
    late = span(
        "00f067aa0ba902b8",
        [
            rating({"intValue": "5"}),
            {"key": "feedback.timestamp", "value": {"stringValue": "2025-11-30T01:00:00Z"}},
        ],
        name="feedback",
        parentSpanId="00f067aa0ba902b7",
    )
    other = span("00f067aa0ba902b9", [rating({"intValue": "3"})])
    path = tmp_path / "spans.jsonl"
    lines = [line(rated, other), line(rated), line(late, scope="otel_feedback")] * 2
    path.write_text("\n".join(lines) + "\n")
    code, out, _ = run(capsys, f"file:{path}")
    assert code == 0
    [row] = out["rows"]
    assert (row["count"], row["sum"]) == (2, 8.0)
