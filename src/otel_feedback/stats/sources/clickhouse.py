"""``clickhouse://HOST:PORT/DB[?table=otel_traces]``: the measuring pushed down as ClickHouse SQL.

The table is the one the OTel Collector's ``clickhouseexporter`` creates (``TraceId``,
``SpanId``, ``ParentSpanId``, ``Timestamp`` DateTime64(9), ``SpanName``, ``ScopeName``,
``SpanAttributes`` / ``ResourceAttributes`` as ``Map(LowCardinality(String), String)``).
The whole fold and aggregation runs in ClickHouse, so it scales with the cluster; only the
result rows travel. Attribute values are strings there, so a field is ``bool`` when all its
values in the table are ``true``/``false``, ``number`` when all parse as finite numbers, else
``string`` (a first, small query finds out); JSON arrays (how the exporter writes array
attributes) are not measured.

:func:`build_sql` is pure, so it is tested on ClickHouse's own engine in-process (``chdb``).
The connection uses ``clickhouse-connect`` (HTTP interface, port 8123 by default; user and
password from the URL or ``CLICKHOUSE_USER`` / ``CLICKHOUSE_PASSWORD``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from typing import Any

from otel_feedback import conventions as names
from otel_feedback.stats.query import (
    LATE_RECORD_KEYS,
    MEASURES,
    Query,
    Result,
    Row,
    Skipped,
    bucket_iso,
    sort_rows,
)
from otel_feedback.stats.sources.base import SourceError, SourceURL

DEFAULT_TABLE = "otel_traces"
DEFAULT_PORT = 8123
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

COLUMNS = (
    "field",
    "type",
    "grp",
    "bucket_ns",
    "count",
    "n_true",
    "n_false",
    "sum",
    "avg",
    "median",
    "min",
    "max",
    "p95",
    "p98",
    "p99",
    "distinct",
    "top",
    "arrays",
)
"""The columns :func:`build_sql` returns, in order."""


def literal(text: str) -> str:
    """A ClickHouse string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def identifier(name: str) -> str:
    """A quoted ClickHouse identifier; only plain names are accepted."""
    if not _IDENTIFIER.match(name):
        raise SourceError(f"not a plain ClickHouse name: {name!r}", code=2)
    return f"`{name}`"


def types_sql(query: Query, database: str, table: str = DEFAULT_TABLE) -> str:
    """One ClickHouse query: per field, how many values are not ``true``/``false`` and how
    many are not finite numbers (JSON arrays left out)."""
    source = f"{identifier(database)}.{identifier(table)}"
    field_re = literal(query.field_regex())
    late_keys = ", ".join(literal(k) for k in sorted(LATE_RECORD_KEYS))
    late = (
        f"(SpanName = {literal(names.FEEDBACK_SPAN_NAME)} "
        f"AND ScopeName IN ({literal(names.SCOPE_NAME)}, ''))"
    )
    return f"""
SELECT kv.1 AS field,
       countIf(kv.2 NOT IN ('true', 'false')) AS not_bool,
       countIf(NOT isFinite(ifNull(toFloat64OrNull(kv.2), nan))) AS not_number
FROM {source}
ARRAY JOIN arrayFilter(
    kv -> match(kv.1, {field_re}) AND NOT ({late} AND kv.1 IN ({late_keys}))
          AND NOT (startsWith(kv.2, '[') AND endsWith(kv.2, ']') AND isValidJSON(kv.2)),
    arrayZip(mapKeys(SpanAttributes), mapValues(SpanAttributes))) AS kv
WHERE TraceId != '' AND SpanId != ''
GROUP BY field
"""


def field_types(records: Sequence[Sequence[Any]]) -> dict[str, str]:
    """The type of each field from :func:`types_sql`'s answer (DESIGN.md §8: strings that are
    all ``true``/``false`` are bool, all finite numbers are number, else string)."""
    types = {}
    for field, not_bool, not_number in records:
        types[str(field)] = (
            "bool" if int(not_bool) == 0 else "number" if int(not_number) == 0 else "string"
        )
    return types


def build_sql(
    query: Query, database: str, table: str = DEFAULT_TABLE, types: dict[str, str] | None = None
) -> str:
    """One ClickHouse query returning :data:`COLUMNS`, one row per (field, group, bucket).

    ``types`` (from :func:`types_sql`) gives each field's type; a field not in it is measured
    as a string."""
    cases = " ".join(f"WHEN {literal(f)} THEN {literal(t)}" for f, t in (types or {}).items())
    type_case = f"CASE field {cases} ELSE 'string' END" if cases else "'string'"
    source = f"{identifier(database)}.{identifier(table)}"
    field_re = literal(query.field_regex())
    late_keys = ", ".join(literal(k) for k in sorted(LATE_RECORD_KEYS))
    group = literal(query.group_by) if query.group_by else None
    own_group = (
        f"nullIf(SpanAttributes[{group}], '')" if group else "CAST(NULL, 'Nullable(String)')"
    )
    res_group = (
        f"nullIf(ResourceAttributes[{group}], '')" if group else "CAST(NULL, 'Nullable(String)')"
    )
    late = (
        f"(SpanName = {literal(names.FEEDBACK_SPAN_NAME)} "
        f"AND ScopeName IN ({literal(names.SCOPE_NAME)}, ''))"
    )
    width = query.every_seconds * 1_000_000_000 if query.every_seconds else None
    bucket = f"intDiv(start_ns, {width}) * {width}" if width else "CAST(NULL, 'Nullable(Int64)')"
    window = ["1"]
    if query.since_ns is not None:
        window.append(f"start_ns >= {query.since_ns}")
    if query.until_ns is not None:
        window.append(f"start_ns < {query.until_ns}")
    timestamp = literal(names.TIMESTAMP)
    return f"""
WITH
located AS (
    SELECT t.*,
           if(t.ParentSpanId != '', t.ParentSpanId,
              if(ifNull(orphan.root_id, '') != '', orphan.root_id, t.SpanId)) AS parent_target
    FROM {source} AS t
    LEFT JOIN (
        SELECT TraceId, argMin(SpanId, Timestamp) AS root_id FROM {source}
        WHERE ParentSpanId = '' AND NOT {late} AND TraceId IN (
            SELECT TraceId FROM {source} WHERE {late} AND ParentSpanId = '')
        GROUP BY TraceId
    ) AS orphan ON orphan.TraceId = t.TraceId
    WHERE t.TraceId != '' AND t.SpanId != ''
),
observed AS (
    SELECT
        TraceId AS trace_id,
        if({late}, parent_target, SpanId) AS target,
        {late} AS late,
        if({late}, ifNull(toUnixTimestamp64Nano(parseDateTime64BestEffortOrNull(
            SpanAttributes[{timestamp}], 9, 'UTC')), toUnixTimestamp64Nano(Timestamp)), 0)
            AS given_ns,
        SpanId AS span_id,
        toUnixTimestamp64Nano(Timestamp) AS start_ns,
        {res_group} AS late_res,
        kv.1 AS field,
        kv.2 AS value,
        startsWith(kv.2, '[') AND endsWith(kv.2, ']') AND isValidJSON(kv.2) AS is_array
    FROM located
    ARRAY JOIN arrayFilter(
        kv -> match(kv.1, {field_re}) AND NOT ({late} AND kv.1 IN ({late_keys})),
        arrayZip(mapKeys(SpanAttributes), mapValues(SpanAttributes))) AS kv
),
latest AS (
    SELECT trace_id, target, field,
           argMaxIf(value, (late, given_ns, span_id), NOT is_array) AS value,
           countIf(NOT is_array) AS values,
           countIf(is_array) AS arrays,
           min(start_ns) AS late_start,
           any(late_res) AS late_res
    FROM observed
    GROUP BY trace_id, target, field
),
rated AS (
    SELECT TraceId AS trace_id, SpanId AS span_id,
           min(toUnixTimestamp64Nano(Timestamp)) AS own_start,
           any({own_group}) AS own_group, any({res_group}) AS res_group
    FROM {source}
    WHERE NOT {late} AND (
        ParentSpanId = ''
        OR arrayExists(k -> match(k, {field_re}), mapKeys(SpanAttributes))
        OR (TraceId, SpanId) IN (SELECT TraceId, ParentSpanId FROM {source} WHERE {late}))
    GROUP BY TraceId, SpanId
),
roots AS (
    SELECT TraceId AS trace_id, argMin({own_group}, Timestamp) AS root_group
    FROM {source}
    WHERE ParentSpanId = '' AND NOT {late} AND {"1" if group else "0"}
    GROUP BY TraceId
),
windowed AS (
    SELECT l.field AS field, l.value AS value, l.values AS values, l.arrays AS arrays,
           coalesce(r.own_group, roots.root_group, r.res_group, l.late_res) AS grp,
           if(r.span_id IS NOT NULL, r.own_start, l.late_start) AS start_ns,
           {bucket} AS bucket_ns
    FROM latest AS l
    LEFT JOIN rated AS r ON r.trace_id = l.trace_id AND r.span_id = l.target
    LEFT JOIN roots ON roots.trace_id = l.trace_id
    WHERE {" AND ".join(window)}
),
typed AS (
    SELECT *, {type_case} AS type FROM windowed
),
cells AS (
    SELECT field, type, grp, bucket_ns,
           toInt64(countIf(values > 0)) AS count,
           toInt64(countIf(values > 0 AND value = 'true')) AS n_true,
           toInt64(countIf(values > 0 AND value = 'false')) AS n_false,
           sumIf(toFloat64OrNull(value), values > 0 AND type = 'number') AS sum,
           avgIf(toFloat64OrNull(value), values > 0 AND type = 'number') AS avg,
           quantileExactInclusiveIf(0.5)(toFloat64OrZero(value), values > 0 AND type = 'number')
               AS median,
           minIf(toFloat64OrNull(value), values > 0 AND type = 'number') AS min,
           maxIf(toFloat64OrNull(value), values > 0 AND type = 'number') AS max,
           quantilesExactInclusiveIf(0.95, 0.98, 0.99)(
               toFloat64OrZero(value), values > 0 AND type = 'number') AS pcts,
           toInt64(uniqExactIf(value, values > 0)) AS distinct,
           sumMapIf([value], [toUInt64(1)], values > 0 AND type = 'string') AS counted,
           toInt64(sum(arrays)) AS arrays
    FROM typed
    GROUP BY field, type, grp, bucket_ns
)
SELECT field, type, grp, bucket_ns, count, n_true, n_false, sum, avg, median, min, max,
       pcts[1], pcts[2], pcts[3], distinct,
       arraySlice(arraySort(x -> (-toInt64(x.2), x.1), arrayZip(counted.1, counted.2)),
                  1, {int(query.top)}),
       arrays
FROM cells
ORDER BY field, grp, bucket_ns
SETTINGS join_use_nulls = 1
"""


def rows_from(records: Sequence[Sequence[Any]], skipped: Skipped, query: Query) -> Result:
    """Rows of the measures from what :func:`build_sql` returned."""
    rows: list[Row] = []
    for record in records:
        cell = dict(zip(COLUMNS, record, strict=True))
        skipped.add("array-valued attributes (arrays are not measured)", int(cell["arrays"] or 0))
        count = int(cell["count"] or 0)
        if not count:
            continue
        kind = cell["type"]
        values: dict[str, Any]
        if kind == "bool":
            trues = int(cell["n_true"])
            values = {
                "count": count,
                "true": trues,
                "false": int(cell["n_false"]),
                "percent_true": 100.0 * trues / count,
            }
        elif kind == "number":
            values = {
                "count": count,
                **{
                    name: float(cell[name])
                    for name in ("sum", "avg", "median", "min", "max", "p95", "p98", "p99")
                },
            }
        else:
            top = [[str(value), int(n)] for value, n in (cell["top"] or [])]
            values = {"count": count, "distinct": int(cell["distinct"]), "top": top}
        bucket_ns = cell["bucket_ns"]
        rows.append(
            Row(
                cell["field"],
                kind,
                cell["grp"],
                bucket_iso(int(bucket_ns)) if bucket_ns is not None else None,
                {name: values[name] for name in MEASURES[kind]},
            )
        )
    matched = {row.field for row in rows}
    unmatched = tuple(
        pattern
        for pattern in query.fields
        if not any(Query(fields=(pattern,)).matches(field) for field in matched)
    )
    return Result(sort_rows(rows), skipped, unmatched)


Runner = Callable[[str], Sequence[Sequence[Any]]]
"""Runs one SQL statement and returns its rows (clickhouse-connect, or chdb in the tests)."""


def measure_with(run: Runner, query: Query, database: str, table: str, skipped: Skipped) -> Result:
    """Measure through ``run``, a function executing ClickHouse SQL (two queries: the field
    types, then everything else)."""
    types = field_types(run(types_sql(query, database, table)))
    if not types:
        return Result([], skipped, tuple(query.fields))
    return rows_from(run(build_sql(query, database, table, types)), skipped, query)


def measure(source: SourceURL, query: Query, skipped: Skipped) -> Result:
    """Measure the feedback in a ClickHouse server's ``otel_traces`` table."""
    import clickhouse_connect  # noqa: PLC0415 - the [stats] extra

    table = source.option("table", DEFAULT_TABLE)
    database = source.path
    identifier(database)
    identifier(table)
    address = f"{source.host}:{source.port or DEFAULT_PORT}"
    try:
        client = clickhouse_connect.get_client(
            host=source.host,
            port=source.port or DEFAULT_PORT,
            username=source.username or os.environ.get("CLICKHOUSE_USER") or "default",
            password=source.password or os.environ.get("CLICKHOUSE_PASSWORD") or "",
            database=database,
            connect_timeout=10,
        )
    except Exception as error:  # noqa: BLE001 - the driver raises several kinds
        raise SourceError(f"cannot reach ClickHouse at {address}: {error}") from None
    try:
        return measure_with(
            lambda sql: client.query(sql).result_rows, query, database, table, skipped
        )
    except Exception as error:  # noqa: BLE001 - a server-side error, reported as such
        raise SourceError(f"ClickHouse at {address} failed the query: {error}") from None
    finally:
        client.close()
