"""``phoenix://HOST:PORT[/PROJECT]``: spans read with ``arize-phoenix-client``, measured by DuckDB.

Phoenix keeps span attributes as a flat, typed mapping; each span is normalized to the
engine's ``spans`` row (a newline-delimited JSON file that DuckDB loads in one statement)
and measured like a file. Phoenix does not keep resource attributes, so ``--group-by`` falls
back to the rated span and its trace's root only. ``PHOENIX_API_KEY`` is sent when set.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from otel_feedback import conventions as names
from otel_feedback.stats.engine import ATTR_TYPE, SPANS_TABLE, hex_id
from otel_feedback.stats.query import LATE_RECORD_KEYS, Query, Skipped
from otel_feedback.stats.sources.base import SourceError, SourceURL

DEFAULT_PROJECT = "default"
PAGE_LIMIT = 1 << 40
"""Ask for every span: the client follows Phoenix's cursor until the project is exhausted."""
TIMEOUT_SECONDS = 60


def fetch_spans(source: SourceURL) -> list[dict[str, Any]]:
    """Every span of the project as Phoenix's REST API returns it (``v1.Span`` dicts)."""
    import httpx  # noqa: PLC0415 - a dependency of arize-phoenix-client
    from phoenix.client import Client  # noqa: PLC0415 - the [stats] extra

    base_url = f"http://{source.address}"
    project = source.path or DEFAULT_PROJECT
    try:
        client = Client(base_url=base_url, api_key=os.environ.get("PHOENIX_API_KEY") or None)
        spans = client.spans.get_spans(
            project_identifier=project, limit=PAGE_LIMIT, timeout=TIMEOUT_SECONDS
        )
    except httpx.HTTPStatusError as error:
        if error.response.status_code == 404:  # no such project (yet): nothing stored
            return []
        raise SourceError(
            f"Phoenix at {base_url} answered {error.response.status_code} for project "
            f"{project!r}: {error.response.text[:200]}"
        ) from None
    except (httpx.HTTPError, OSError) as error:
        raise SourceError(f"cannot reach Phoenix at {base_url}: {error}") from None
    return [dict(span) for span in spans]


def load(
    con: Any, source: SourceURL, query: Query, skipped: Skipped, *, show_progress: bool = False
) -> None:
    """Fill the engine's ``spans`` table of ``con`` from a Phoenix project."""
    del skipped, show_progress  # counted by the engine; the client pages quietly
    spans = fetch_spans(source)
    with tempfile.TemporaryDirectory(prefix="otel-feedback-stats-") as folder:
        path = Path(folder) / "spans.jsonl"
        with path.open("w", encoding="utf-8") as out:
            for span in spans:
                out.write(json.dumps(normalize(span, query), allow_nan=False))
                out.write("\n")
        con.execute(
            f"""
            INSERT INTO {SPANS_TABLE}
            SELECT {hex_id("trace_id", 32)}, {hex_id("span_id", 16)}, {hex_id("parent_id", 16)},
                   late, start_ns, given_ns, own_group, res_group, fields
            FROM read_json(?, format = 'newline_delimited', columns = {{
                trace_id: 'VARCHAR', span_id: 'VARCHAR', parent_id: 'VARCHAR',
                late: 'BOOLEAN', start_ns: 'BIGINT', given_ns: 'BIGINT', own_group: 'VARCHAR',
                res_group: 'VARCHAR', fields: '{ATTR_TYPE}[]'}})
            """,
            [str(path)],
        )


def normalize(span: dict[str, Any], query: Query) -> dict[str, Any]:
    """One Phoenix span as a row of the engine's ``spans`` table."""
    context = span.get("context") or {}
    attributes = span.get("attributes") or {}
    late = span.get("name") == names.FEEDBACK_SPAN_NAME
    start_ns = _ns(span.get("start_time"))
    given_ns = None
    if late:
        given_ns = _ns(attributes.get(names.TIMESTAMP)) or start_ns
    fields = [
        {"key": key, **_typed(value)}
        for key, value in attributes.items()
        if query.matches(key) and not (late and key in LATE_RECORD_KEYS)
    ]
    group = attributes.get(query.group_by) if query.group_by else None
    return {
        "trace_id": _hex(context.get("trace_id"), 32),
        "span_id": _hex(context.get("span_id"), 16),
        "parent_id": _hex(span.get("parent_id"), 16),
        "late": late,
        "start_ns": start_ns,
        "given_ns": given_ns,
        "own_group": None if group is None or isinstance(group, list) else _text(group),
        "res_group": None,
        "fields": fields,
    }


def _typed(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"t": "bool", "b": value, "n": None, "s": _text(value)}
    if isinstance(value, (int, float)) and math.isfinite(value):
        return {"t": "number", "b": None, "n": float(value), "s": _text(value)}
    if isinstance(value, str):
        return {"t": "string", "b": None, "n": None, "s": value}
    if isinstance(value, list):
        return {"t": "array", "b": None, "n": None, "s": None}
    return {"t": "other", "b": None, "n": None, "s": None}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _hex(value: Any, width: int) -> str | None:
    if not isinstance(value, str) or len(value) != width:
        return None
    try:
        return value.lower() if int(value, 16) else None
    except ValueError:
        return None


def _ns(value: Any) -> int | None:
    if not isinstance(value, str) or not value:
        return None
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    return (moment - epoch) // dt.timedelta(microseconds=1) * 1000
