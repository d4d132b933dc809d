"""Trace stores ``otel-feedback stats`` reads: ``file:``, ``phoenix://``, ``clickhouse://``.

:func:`parse_source` turns the SOURCE argument into a :class:`SourceURL` (an unknown scheme
is a :class:`SourceError` with exit code 2); :func:`measure_source` measures it.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path

from otel_feedback.stats.query import Query, Result, Skipped
from otel_feedback.stats.sources.base import SourceError, SourceURL

SCHEMES = ("file", "phoenix", "clickhouse")
"""The source URL schemes understood (docs/DESIGN.md §8)."""

USAGE = (
    "SOURCE is file:PATH (OTLP JSON Lines, .gz, or a directory), "
    "phoenix://HOST:PORT[/PROJECT] or clickhouse://HOST:PORT/DB[?table=otel_traces]"
)


def parse_source(text: str) -> SourceURL:
    """Parse a SOURCE argument; raises :class:`SourceError` (exit code 2) when unusable."""
    scheme, colon, rest = text.partition(":")
    scheme = scheme.lower()
    if not colon or scheme not in SCHEMES:
        shown = f"scheme {scheme!r}" if colon else "no scheme"
        raise SourceError(f"unknown source {text!r} ({shown}); {USAGE}", code=2)
    if scheme == "file":
        path = rest[2:] if rest.startswith("//") else rest
        if not path:
            raise SourceError(f"file: needs a path; {USAGE}", code=2)
        return SourceURL("file", path=path)
    parsed = urllib.parse.urlsplit(text)
    try:
        port = parsed.port
    except ValueError:
        raise SourceError(f"bad port in {text!r}; {USAGE}", code=2) from None
    if not parsed.hostname:
        raise SourceError(f"{scheme}:// needs HOST:PORT; {USAGE}", code=2)
    path = urllib.parse.unquote(parsed.path.strip("/"))
    if scheme == "clickhouse" and not path:
        raise SourceError("clickhouse:// needs a database: clickhouse://HOST:PORT/DB", code=2)
    return SourceURL(
        scheme,
        host=parsed.hostname,
        port=port,
        path=path,
        options=tuple(urllib.parse.parse_qsl(parsed.query)),
        username=urllib.parse.unquote(parsed.username) if parsed.username else None,
        password=urllib.parse.unquote(parsed.password) if parsed.password else None,
    )


def measure_source(source: SourceURL, query: Query, *, show_progress: bool = False) -> Result:
    """Read ``source`` and measure its feedback; :class:`SourceError` when it cannot be read."""
    skipped = Skipped()
    if source.scheme == "clickhouse":
        from otel_feedback.stats.sources import clickhouse  # noqa: PLC0415

        return clickhouse.measure(source, query, skipped)
    from otel_feedback.stats import engine  # noqa: PLC0415
    from otel_feedback.stats.progress import duckdb_progress  # noqa: PLC0415

    con = engine.connect()
    try:
        if source.scheme == "file":
            from otel_feedback.stats.sources import otlp_file  # noqa: PLC0415

            path = Path(source.path).expanduser()
            with duckdb_progress(con, f"reading {path}", enabled=show_progress, path=path):
                otlp_file.load(con, path, query, skipped)
        else:
            from otel_feedback.stats.sources import phoenix  # noqa: PLC0415

            phoenix.load(con, source, query, skipped, show_progress=show_progress)
        return engine.measure(con, query, skipped)
    finally:
        con.close()


__all__ = ["SCHEMES", "SourceError", "SourceURL", "measure_source", "parse_source"]
