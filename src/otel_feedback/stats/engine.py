"""The measuring model: rated spans, late feedback folded in, measures per type — in DuckDB.

A source loads its spans into a DuckDB table of this normalized shape (see :data:`SPANS_DDL`)
and :func:`measure` does the rest in SQL, so no Python loop touches a value:

- a late ``feedback`` span targets its parent (or, without one, its trace's root span);
- a field's value on a rated span is its own attribute, replaced by late records in
  ``feedback.timestamp`` order — later wins;
- a field's type is the type of most of its values; the others are skipped and counted;
- measures per (field, group, bucket), percentiles by linear interpolation
  (``quantile_cont``, numpy's default method).

The ClickHouse source pushes the same model down as ClickHouse SQL (``sources/clickhouse.py``).
"""

from __future__ import annotations

from typing import Any

from otel_feedback import conventions as names
from otel_feedback.stats.query import (
    LATE_RECORD_KEYS,
    MEASURES,
    FieldType,
    Query,
    Result,
    Row,
    Skipped,
    bucket_iso,
    sort_rows,
)

SPANS_TABLE = "spans"

ATTR_TYPE = "STRUCT(key VARCHAR, t VARCHAR, b BOOLEAN, n DOUBLE, s VARCHAR)"
"""One attribute: ``t`` is ``bool``, ``number``, ``string``, ``array`` or ``other``; ``s``
holds the value as text."""

SPANS_DDL = f"""
CREATE OR REPLACE TEMP TABLE {SPANS_TABLE} (
    trace_id VARCHAR,        -- 32 lowercase hex; NULL when missing or invalid
    span_id VARCHAR,         -- 16 lowercase hex; NULL when missing or invalid
    parent_id VARCHAR,       -- NULL for a root
    late BOOLEAN,            -- a late ``feedback`` span; NULL for an unreadable line
    start_ns BIGINT,
    given_ns BIGINT,         -- late spans: feedback.timestamp (else start_ns)
    own_group VARCHAR,       -- the group key among the span's attributes
    res_group VARCHAR,       -- the group key among the resource attributes
    fields {ATTR_TYPE}[]     -- the span's attributes that are measured fields
)
"""
"""The normalized table every DuckDB-measured source fills, one row per span: any span may
be rated by late feedback, and its start and group come from this row."""

_TYPE_PRIORITY = {"number": 3, "bool": 2, "string": 1}


def connect() -> Any:
    """A fresh in-memory DuckDB connection with an empty ``spans`` table."""
    import duckdb  # noqa: PLC0415 - the [stats] extra

    con = duckdb.connect(":memory:")
    con.execute(SPANS_DDL)
    return con


def sql_literal(text: str) -> str:
    """``text`` as a SQL string literal (single quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"


def field_condition(query: Query, key: str) -> str:
    """SQL condition: attribute ``key`` is a measured field (the globs, as DuckDB ``GLOB``)."""
    return "(" + " OR ".join(f"{key} GLOB {sql_literal(p)}" for p in query.fields) + ")"


def late_condition(name: str, scope: str) -> str:
    """SQL condition: a span is a late ``feedback`` span (by its name and scope, if known)."""
    span_name = sql_literal(names.FEEDBACK_SPAN_NAME)
    scope_name = sql_literal(names.SCOPE_NAME)
    return f"({name} = {span_name} AND coalesce({scope}, {scope_name}) = {scope_name})"


def record_key_condition(key: str) -> str:
    """SQL condition: ``key`` describes a late record rather than being a field."""
    listed = ", ".join(sql_literal(k) for k in sorted(LATE_RECORD_KEYS))
    return f"({key} IN ({listed}))"


def measure(con: Any, query: Query, skipped: Skipped) -> Result:
    """Measure the feedback in the ``spans`` table of DuckDB connection ``con``."""
    _count_unreadable(con, skipped)
    _fold(con, query)
    _count_skipped(con, skipped)
    rows = _rows(con, query)
    matched = {r[0] for r in con.execute("SELECT DISTINCT field FROM measured").fetchall()}
    unmatched = tuple(
        pattern
        for pattern in query.fields
        if not any(Query(fields=(pattern,)).matches(field) for field in matched)
    )
    rated = con.execute(
        "SELECT count(*) FROM (SELECT DISTINCT trace_id, target FROM measured WHERE fits)"
    ).fetchone()
    return Result(rows, skipped, unmatched, int(rated[0]) if rated else 0)


def _count_unreadable(con: Any, skipped: Skipped) -> None:
    lines, spans = con.execute(
        f"""
        SELECT count(*) FILTER (WHERE late IS NULL),
               count(*) FILTER (WHERE late IS NOT NULL
                                AND (trace_id IS NULL OR span_id IS NULL OR start_ns IS NULL))
        FROM {SPANS_TABLE}
        WHERE late IS NULL OR trace_id IS NULL OR span_id IS NULL OR start_ns IS NULL
        """
    ).fetchone()
    skipped.add("lines that are not OTLP JSON (truncated or malformed)", lines)
    skipped.add("spans without valid ids or start time", spans)


def _fold(con: Any, query: Query) -> None:
    width = query.every_seconds * 1_000_000_000 if query.every_seconds else None
    bucket = f"(u.start_ns // {width}) * {width}" if width else "NULL::BIGINT"
    window = []
    if query.since_ns is not None:
        window.append(f"u.start_ns >= {query.since_ns}")
    if query.until_ns is not None:
        window.append(f"u.start_ns < {query.until_ns}")
    where = " AND ".join(window) or "TRUE"
    valid = "trace_id IS NOT NULL AND span_id IS NOT NULL AND start_ns IS NOT NULL"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE roots AS
        SELECT trace_id, arg_min(span_id, start_ns) AS span_id,
               arg_min(own_group, start_ns) AS root_group
        FROM {SPANS_TABLE} WHERE parent_id IS NULL AND NOT late AND {valid}
        GROUP BY trace_id
        """
    )
    # Every value of a measured field, with the span it rates and its place in the fold:
    # a late span rates its parent, or its trace's root when it has no parent.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE observed AS
        WITH located AS (
            SELECT trace_id, span_id, late, start_ns, given_ns, res_group, fields,
                   CASE WHEN NOT late THEN span_id ELSE parent_id END AS target
            FROM {SPANS_TABLE}
            WHERE len(fields) > 0 AND NOT (late AND parent_id IS NULL) AND {valid}
            UNION ALL
            SELECT s.trace_id, s.span_id, s.late, s.start_ns, s.given_ns, s.res_group, s.fields,
                   coalesce(r.span_id, s.span_id) AS target
            FROM {SPANS_TABLE} s LEFT JOIN roots r USING (trace_id)
            WHERE len(s.fields) > 0 AND s.late AND s.parent_id IS NULL
                  AND s.trace_id IS NOT NULL AND s.span_id IS NOT NULL AND s.start_ns IS NOT NULL
        )
        SELECT trace_id, target, late, given_ns, start_ns, span_id, res_group,
               unnest(fields) AS a
        FROM located
        """
    )
    # The latest value of each field on each rated span: own first, then late by given time.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE latest AS
        SELECT trace_id, target, a.key AS field,
               arg_max(a, CASE WHEN late THEN (given_ns::HUGEINT << 64) + hash(span_id)
                               ELSE -1 END) AS a
        FROM observed WHERE a.t IN ('bool', 'number', 'string')
        GROUP BY trace_id, target, a.key
        """
    )
    # The rated span's start and group: its own attribute, its root's, its resource's. A span
    # rated only by late feedback that is not in the store takes its feedback spans' start
    # (placed inside the rated span's lifetime) and their resource.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE units AS
        WITH targets AS (
            SELECT trace_id, target, min(start_ns) AS late_start,
                   any_value(res_group) FILTER (WHERE late) AS late_res
            FROM observed GROUP BY trace_id, target
        ),
        own AS (
            SELECT s.trace_id, s.span_id, min(s.start_ns) AS start_ns,
                   any_value(s.own_group) AS own_group, any_value(s.res_group) AS res_group
            FROM {SPANS_TABLE} s
            SEMI JOIN targets g ON g.trace_id = s.trace_id AND g.target = s.span_id
            WHERE NOT s.late
            GROUP BY s.trace_id, s.span_id
        )
        SELECT g.trace_id, g.target,
               coalesce(own.start_ns, g.late_start) AS start_ns,
               coalesce(own.own_group, r.root_group, own.res_group, g.late_res) AS grp
        FROM targets g
        LEFT JOIN own ON own.trace_id = g.trace_id AND own.span_id = g.target
        LEFT JOIN roots r ON r.trace_id = g.trace_id
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE windowed AS
        SELECT l.trace_id, l.target, l.field, l.a, u.grp, {bucket} AS bucket_ns
        FROM latest l JOIN units u ON u.trace_id = l.trace_id AND u.target = l.target
        WHERE {where}
        """
    )
    priority = " ".join(f"WHEN '{t}' THEN {p}" for t, p in _TYPE_PRIORITY.items())
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE measured AS
        WITH kinds AS (
            SELECT field, a.t AS t, count(*) AS n FROM windowed GROUP BY field, a.t
        ),
        chosen AS (
            SELECT field, arg_max(t, (n, CASE t {priority} END)) AS type
            FROM kinds GROUP BY field
        )
        SELECT w.*, c.type, w.a.t = c.type AS fits
        FROM windowed w JOIN chosen c USING (field)
        """
    )


def _count_skipped(con: Any, skipped: Skipped) -> None:
    arrays, others = con.execute(
        "SELECT count(*) FILTER (WHERE a.t = 'array'), count(*) FILTER (WHERE a.t = 'other') "
        "FROM observed"
    ).fetchone()
    skipped.add("array-valued attributes (arrays are not measured)", arrays)
    skipped.add("attribute values of an unexpected type (not bool, number or string)", others)
    for field, count, kind in con.execute(
        "SELECT field, count(*), any_value(type) FROM measured WHERE NOT fits "
        "GROUP BY field ORDER BY field"
    ).fetchall():
        skipped.add(f"values of {field} that are not of its type {kind}", count)


def _rows(con: Any, query: Query) -> list[Row]:
    cells = con.execute(
        """
        SELECT field, type, grp, bucket_ns,
               count(*) AS count,
               count(*) FILTER (WHERE a.b) AS n_true,
               count(*) FILTER (WHERE NOT a.b) AS n_false,
               sum(a.n) AS sum, avg(a.n) AS avg, quantile_cont(a.n, 0.5) AS median,
               min(a.n) AS min, max(a.n) AS max,
               quantile_cont(a.n, [0.95, 0.98, 0.99]) AS pcts,
               count(DISTINCT a.s) AS distinct_count
        FROM measured WHERE fits
        GROUP BY field, type, grp, bucket_ns
        """
    ).fetchall()
    tops: dict[tuple[Any, ...], list[list[Any]]] = {}
    for field, grp, bucket_ns, top in con.execute(
        f"""
        WITH counted AS (
            SELECT field, grp, bucket_ns, a.s AS value, count(*) AS n
            FROM measured WHERE fits AND type = 'string' GROUP BY ALL
        ),
        ranked AS (
            SELECT *, row_number() OVER (PARTITION BY field, grp, bucket_ns
                                         ORDER BY n DESC, value) AS rank
            FROM counted
        )
        SELECT field, grp, bucket_ns, list([value, n::VARCHAR] ORDER BY rank)
        FROM ranked WHERE rank <= {int(query.top)} GROUP BY ALL
        """
    ).fetchall():
        tops[(field, grp, bucket_ns)] = [[value, int(n)] for value, n in top]
    rows = []
    for cell in cells:
        field, kind, grp, bucket_ns = cell[:4]
        rows.append(Row(field, kind, grp, bucket_iso(bucket_ns), _measures(kind, cell, tops)))
    return sort_rows(rows)


def _measures(
    kind: FieldType, cell: tuple[Any, ...], tops: dict[tuple[Any, ...], Any]
) -> dict[str, Any]:
    (
        field,
        _,
        grp,
        bucket_ns,
        count,
        n_true,
        n_false,
        total,
        avg,
        median,
        low,
        high,
        pcts,
        distinct,
    ) = cell
    values: dict[str, Any]
    if kind == "bool":
        values = {
            "count": count,
            "true": n_true,
            "false": n_false,
            "percent_true": 100.0 * n_true / count,
        }
    elif kind == "number":
        values = {
            "count": count,
            "sum": total,
            "avg": avg,
            "median": median,
            "min": low,
            "max": high,
            "p95": pcts[0],
            "p98": pcts[1],
            "p99": pcts[2],
        }
    else:
        values = {
            "count": count,
            "distinct": distinct,
            "top": tops.get((field, grp, bucket_ns), []),
        }
    return {name: values[name] for name in MEASURES[kind]}
