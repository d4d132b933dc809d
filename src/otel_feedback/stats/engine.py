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
    trace UHUGEINT,          -- the trace id as a number; NULL when missing or invalid
    span UBIGINT,            -- the span id as a number; NULL when missing or invalid
    parent UBIGINT,          -- NULL for a root
    late BOOLEAN,            -- a late ``feedback`` span; NULL for an unreadable line
    start_ns BIGINT,
    given_ns BIGINT,         -- late spans: feedback.timestamp (else start_ns)
    own_group VARCHAR,       -- the group key among the span's attributes
    res_group VARCHAR,       -- the group key among the resource attributes
    fields {ATTR_TYPE}[]     -- the span's attributes that are measured fields
)
"""
"""The normalized table every DuckDB-measured source fills, one row per span: any span may
be rated by late feedback, and its start and group come from this row. Ids are numbers
(hex parsed), so joins and groups hash fixed-width keys."""

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


def hex_id(column: str, width: int) -> str:
    """SQL: a ``width``-digit hex id as a number; NULL when malformed or all zeros."""
    kind = "UHUGEINT" if width == 32 else "UBIGINT"
    return (
        f"CASE WHEN length({column}) = {width} "
        f"THEN nullif(TRY_CAST('0x' || {column} AS {kind}), 0) END"
    )


def measure(con: Any, query: Query, skipped: Skipped) -> Result:
    """Measure the feedback in the ``spans`` table of DuckDB connection ``con``."""
    _count_unreadable(con, skipped)
    _fold(con, query)
    cells = con.execute(_cells_sql(query)).fetchall()
    types = _choose_types(cells, skipped)
    rows = [
        Row(field, kind, grp, bucket_iso(bucket_ns), _measures(kind, cell, query.top))
        for cell in cells
        for field, kind, grp, bucket_ns in [cell[:4]]
        if kind is not None and types.get(field) == kind
    ]
    unmatched = tuple(
        pattern
        for pattern in query.fields
        if not any(Query(fields=(pattern,)).matches(field) for field in types)
    )
    return Result(sort_rows(rows), skipped, unmatched)


def _count_unreadable(con: Any, skipped: Skipped) -> None:
    lines, spans = con.execute(
        f"""
        SELECT count(*) FILTER (WHERE late IS NULL),
               count(*) FILTER (WHERE late IS NOT NULL)
        FROM {SPANS_TABLE}
        WHERE late IS NULL OR trace IS NULL OR span IS NULL OR start_ns IS NULL
        """
    ).fetchone()
    skipped.add("lines that are not OTLP JSON (truncated or malformed)", lines)
    skipped.add("spans without valid ids or start time", spans)


_VALID = "{s}trace IS NOT NULL AND {s}span IS NOT NULL AND {s}start_ns IS NOT NULL"


def _fold(con: Any, query: Query) -> None:
    """Roots, the latest late value of each field, duplicated spans, and span look-ups.

    Own values are unique per (span, field) except for a span exported twice, so only late
    values need a fold: the latest late value of a field replaces the span's own (see
    :func:`_cells_sql`), and the rare duplicated spans are collapsed on their own.
    """
    valid, s_valid = _VALID.format(s=""), _VALID.format(s="s.")
    orphans = con.execute(
        f"SELECT count(*) FROM {SPANS_TABLE} WHERE late AND parent IS NULL AND {valid}"
    ).fetchone()
    needed = bool(orphans and orphans[0])
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE roots AS
        SELECT trace, arg_min(span, start_ns) AS span, arg_min(own_group, start_ns) AS grp
        FROM {SPANS_TABLE}
        WHERE parent IS NULL AND NOT late AND {valid} AND {"TRUE" if needed else "FALSE"}
          AND trace IN (SELECT trace FROM {SPANS_TABLE} WHERE late AND parent IS NULL)
        GROUP BY trace
        """
    )
    # A late span rates its parent, or (trace-level feedback) its trace's root; later wins.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE late_latest AS
        WITH observed AS (
            SELECT s.trace, coalesce(s.parent, r.span, s.span) AS target,
                   (s.given_ns::HUGEINT << 64) + s.span AS ord,
                   s.start_ns, s.res_group, unnest(s.fields) AS a
            FROM {SPANS_TABLE} s
            LEFT JOIN roots r ON s.parent IS NULL AND r.trace = s.trace
            WHERE s.late AND len(s.fields) > 0 AND {s_valid}
        )
        SELECT trace, target, a.key AS field,
               arg_max(a, ord) FILTER (WHERE a.t IN ('bool', 'number', 'string')) AS a,
               count(*) FILTER (WHERE a.t = 'array') AS arrays,
               count(*) FILTER (WHERE a.t = 'other') AS others,
               min(start_ns) AS late_start, any_value(res_group) AS late_res
        FROM observed
        GROUP BY trace, target, a.key
        """
    )
    # Spans exported more than once (at-least-once delivery): measured once.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE duplicated AS
        SELECT trace, span FROM {SPANS_TABLE}
        WHERE NOT late AND len(fields) > 0 AND {valid}
        GROUP BY trace, span HAVING count(*) > 1
        """
    )
    # The rated spans of late feedback: their start and groups.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE looked_up AS
        WITH wanted AS (SELECT DISTINCT trace, target FROM late_latest)
        SELECT s.trace, s.span AS target, min(s.start_ns) AS start_ns,
               any_value(s.own_group) AS own_group, any_value(s.res_group) AS res_group
        FROM {SPANS_TABLE} s SEMI JOIN wanted w ON w.trace = s.trace AND w.target = s.span
        WHERE NOT s.late
        GROUP BY s.trace, s.span
        """
    )
    if query.group_by:  # the root's attribute, for rated spans without the key themselves
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE roots AS
            SELECT trace, arg_min(span, start_ns) AS span, arg_min(own_group, start_ns) AS grp
            FROM {SPANS_TABLE}
            WHERE parent IS NULL AND NOT late AND {valid} AND trace IN (
                SELECT trace FROM {SPANS_TABLE}
                WHERE NOT late AND own_group IS NULL AND len(fields) > 0
                UNION ALL SELECT trace FROM looked_up WHERE own_group IS NULL
                UNION ALL SELECT trace FROM late_latest
                          WHERE (trace, target) NOT IN (SELECT (trace, target) FROM looked_up))
            GROUP BY trace
            """
        )


def _cells_sql(query: Query) -> str:
    """One aggregation: measures per (field, value type, group, bucket) over latest values."""
    width = query.every_seconds * 1_000_000_000 if query.every_seconds else None
    bucket = f"(l.start_ns // {width}) * {width}" if width else "NULL::BIGINT"
    window = ["TRUE"]
    if query.since_ns is not None:
        window.append(f"l.start_ns >= {query.since_ns}")
    if query.until_ns is not None:
        window.append(f"l.start_ns < {query.until_ns}")
    group = "coalesce(l.own_group, r.grp, l.res_group)" if query.group_by else "NULL::VARCHAR"
    roots = "LEFT JOIN roots r ON l.own_group IS NULL AND r.trace = l.trace"
    s_valid = _VALID.format(s="s.")
    own = f"""
            SELECT s.trace, s.span AS target, s.start_ns, s.own_group, s.res_group,
                   unnest(s.fields) AS a
            FROM {SPANS_TABLE} s"""
    return f"""
        WITH own AS (
            {own}
            ANTI JOIN duplicated d ON d.trace = s.trace AND d.span = s.span
            WHERE NOT s.late AND len(s.fields) > 0 AND {s_valid}
            UNION ALL
            SELECT trace, target, min(start_ns), any_value(own_group), any_value(res_group),
                   any_value(a)
            FROM ({own}
                  SEMI JOIN duplicated d ON d.trace = s.trace AND d.span = s.span
                  WHERE NOT s.late AND len(s.fields) > 0 AND {s_valid})
            GROUP BY trace, target, a.key
        ),
        latest AS (
            SELECT o.trace, o.a.key AS field, o.start_ns, o.own_group, o.res_group,
                   CASE WHEN o.a.t IN ('bool', 'number', 'string') THEN o.a END AS a,
                   (o.a.t = 'array')::BIGINT AS arrays, (o.a.t = 'other')::BIGINT AS others
            FROM own o
            ANTI JOIN (SELECT * FROM late_latest WHERE a IS NOT NULL) x
                 ON x.trace = o.trace AND x.target = o.target AND x.field = o.a.key
            UNION ALL
            SELECT x.trace, x.field, coalesce(u.start_ns, x.late_start),
                   u.own_group, coalesce(u.res_group, x.late_res), x.a, x.arrays, x.others
            FROM late_latest x
            LEFT JOIN looked_up u ON u.trace = x.trace AND u.target = x.target
        ),
        placed AS (
            SELECT l.field, l.a, l.arrays, l.others, {group} AS grp, {bucket} AS bucket_ns
            FROM latest l
            {roots if query.group_by else ""}
            WHERE {" AND ".join(window)}
        )
        SELECT field, a.t AS type, grp, bucket_ns,
               count(a) AS count,
               count(*) FILTER (WHERE a.b) AS n_true,
               count(*) FILTER (WHERE NOT a.b) AS n_false,
               sum(a.n) AS sum, avg(a.n) AS avg, quantile_cont(a.n, 0.5) AS median,
               min(a.n) AS min, max(a.n) AS max,
               quantile_cont(a.n, [0.95, 0.98, 0.99]) AS pcts,
               histogram(a.s) FILTER (WHERE a.t = 'string') AS counted,
               sum(arrays) AS arrays, sum(others) AS others
        FROM placed
        GROUP BY field, a.t, grp, bucket_ns
    """


def _choose_types(cells: list[tuple[Any, ...]], skipped: Skipped) -> dict[str, FieldType]:
    """Each field's type: the type of most of its values (ties: number, bool, string)."""
    counts: dict[str, dict[str, int]] = {}
    arrays = others = 0
    for cell in cells:
        field, kind, count = cell[0], cell[1], int(cell[4])
        arrays += int(cell[14] or 0)
        others += int(cell[15] or 0)
        if kind is not None:
            kinds = counts.setdefault(field, {})
            kinds[kind] = kinds.get(kind, 0) + count
    skipped.add("array-valued attributes (arrays are not measured)", arrays)
    skipped.add("attribute values of an unexpected type (not bool, number or string)", others)
    types: dict[str, FieldType] = {}
    for field in sorted(counts):
        kinds = counts[field]
        chosen = max(kinds, key=lambda k: (kinds[k], _TYPE_PRIORITY[k]))
        types[field] = chosen  # type: ignore[assignment]
        wrong = sum(n for k, n in kinds.items() if k != chosen)
        skipped.add(f"values of {field} that are not of its type {chosen}", wrong)
    return types


def _measures(kind: FieldType, cell: tuple[Any, ...], top: int) -> dict[str, Any]:
    count, n_true, n_false, total, avg, median, low, high, pcts, counted = cell[4:14]
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
        pairs = sorted((counted or {}).items(), key=lambda item: (-item[1], item[0]))
        values = {
            "count": count,
            "distinct": len(pairs),
            "top": [[value, int(n)] for value, n in pairs[:top]],
        }
    return {name: values[name] for name in MEASURES[kind]}
