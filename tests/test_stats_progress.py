"""The progress bar of large sources: drawn on a terminal, silent elsewhere."""

from __future__ import annotations

import io
import sys

import pytest

from otel_feedback.stats.progress import duckdb_progress

duckdb = pytest.importorskip("duckdb")

QUERY = "SELECT count(*) FROM range(30000000) t(x) WHERE x % 7 = 3"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_drawn_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    con = duckdb.connect()
    with duckdb_progress(con, "reading spans.jsonl", enabled=True):
        assert con.execute(QUERY).fetchone() == (4285714,)
    assert "reading spans.jsonl" in screen.getvalue()


def test_no_progress_off_a_terminal_or_when_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    quiet = io.StringIO()
    monkeypatch.setattr(sys, "stderr", quiet)
    con = duckdb.connect()
    with duckdb_progress(con, "reading", enabled=True):
        con.execute(QUERY).fetchone()
    monkeypatch.setattr(sys, "stderr", Terminal())
    with duckdb_progress(con, "reading", enabled=False):
        con.execute(QUERY).fetchone()
    assert quiet.getvalue() == ""
    assert sys.stderr.getvalue() == ""
