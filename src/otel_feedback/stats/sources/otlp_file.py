"""``file:PATH``: OTLP JSON Lines read by DuckDB, one pass, no Python loop over spans.

The format is the one the OTel Collector's ``file`` exporter and
``opentelemetry-exporter-otlp-json-file`` write: one ``ExportTraceServiceRequest`` per line,
``resourceSpans[].scopeSpans[].spans[]``, ids in hex, ``intValue`` as a string. ``.gz``
files are read compressed; a directory means every ``*.jsonl*`` in it (recursively).
Lines that are not JSON, spans without valid ids and values of unexpected types are
skipped and counted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from otel_feedback import conventions as names
from otel_feedback.stats.engine import (
    SPANS_TABLE,
    field_condition,
    hex_id,
    late_condition,
    record_key_condition,
    sql_literal,
)
from otel_feedback.stats.query import Query, Skipped
from otel_feedback.stats.sources.base import SourceError

_VALUE = (
    "STRUCT(stringValue VARCHAR, boolValue VARCHAR, intValue VARCHAR, doubleValue VARCHAR, "
    "arrayValue JSON, kvlistValue JSON, bytesValue VARCHAR)"
)
_ATTRS = f"STRUCT(key VARCHAR, value {_VALUE})[]"
_SPAN = (
    f"STRUCT(traceId VARCHAR, spanId VARCHAR, parentSpanId VARCHAR, name VARCHAR, "
    f"startTimeUnixNano VARCHAR, attributes {_ATTRS})"
)
COLUMNS = (
    "{'resourceSpans': 'STRUCT(resource STRUCT(attributes "
    + _ATTRS
    + "), scopeSpans STRUCT(scope STRUCT(name VARCHAR), spans "
    + _SPAN
    + "[])[])[]'}"
)
"""The part of the OTLP JSON schema that is read; everything else is never parsed."""

MAX_LINE_BYTES = 1 << 30
"""Largest line (one export request) accepted."""


def typed_value(v: str, key: str) -> str:
    """SQL turning attribute ``key`` with OTLP ``AnyValue`` struct ``v`` into the engine's
    attribute struct."""
    number = f"TRY_CAST({v}.intValue AS DOUBLE)"
    double = f"TRY_CAST({v}.doubleValue AS DOUBLE)"
    return f"""CASE
        WHEN {v}.stringValue IS NOT NULL THEN {{'key': {key}, 't': 'string', 'b': NULL, 'n': NULL, 's': {v}.stringValue}}
        WHEN {v}.boolValue IN ('true', 'false') THEN {{'key': {key}, 't': 'bool', 'b': {v}.boolValue = 'true', 'n': NULL, 's': {v}.boolValue}}
        WHEN {v}.intValue IS NOT NULL AND {number} IS NOT NULL THEN {{'key': {key}, 't': 'number', 'b': NULL, 'n': {number}, 's': {v}.intValue}}
        WHEN {v}.doubleValue IS NOT NULL AND isfinite({double}) THEN {{'key': {key}, 't': 'number', 'b': NULL, 'n': {double}, 's': {v}.doubleValue}}
        WHEN {v}.arrayValue IS NOT NULL THEN {{'key': {key}, 't': 'array', 'b': NULL, 'n': NULL, 's': NULL}}
        ELSE {{'key': {key}, 't': 'other', 'b': NULL, 'n': NULL, 's': NULL}} END"""  # noqa: E501


def files_of(path: Path) -> list[Path]:
    """The files ``file:PATH`` names: the file itself, or every ``*.jsonl*`` under a directory."""
    if path.is_dir():
        found = sorted(p for p in path.rglob("*.jsonl*") if p.is_file())
        if not found:
            raise SourceError(f"no *.jsonl or *.jsonl.gz files in directory {path}", code=0)
        return found
    if path.is_file():
        return [path]
    raise SourceError(f"file not found: {path}", code=1)


def load(con: Any, path: Path, query: Query, skipped: Skipped) -> None:
    """Fill the engine's ``spans`` table of ``con`` from the OTLP JSON Lines at ``path``.

    One streaming statement: parse, unnest, keep the measured attributes. An unreadable line
    becomes one row with ``late`` NULL, so the engine counts it.
    """
    del skipped  # unreadable lines and spans without ids are counted by the engine
    files = files_of(path)
    listing = "[" + ", ".join(sql_literal(str(f)) for f in files) + "]"
    group = sql_literal(query.group_by) if query.group_by else None
    timestamp = sql_literal(names.TIMESTAMP)
    wanted = field_condition(query, "a.key") + f" OR a.key = {timestamp}"
    if group:
        wanted += f" OR a.key = {group}"
    own_group = res_group = "NULL"
    if group:
        own_group = _text_of(f"list_filter(wanted, lambda a: a.key = {group})[1].value")
        res_group = _text_of(f"list_filter(res, lambda a: a.key = {group})[1].value")
    con.execute(
        f"""
        INSERT INTO {SPANS_TABLE}
        WITH lines AS (
            SELECT resourceSpans FROM read_json({listing}, format = 'newline_delimited',
                columns = {COLUMNS}, records = 'true', ignore_errors = true,
                maximum_object_size = {MAX_LINE_BYTES})
        ),
        resources AS (
            SELECT resourceSpans IS NULL AS unreadable,
                   unnest(CASE WHEN resourceSpans IS NULL THEN [NULL] ELSE resourceSpans END) AS r
            FROM lines
        ),
        scopes AS (
            SELECT unreadable, r.resource.attributes AS res,
                   unnest(CASE WHEN unreadable THEN [NULL] ELSE r.scopeSpans END) AS ss
            FROM resources
        ),
        raw AS (
            SELECT unreadable, res, ss.scope.name AS scope,
                   unnest(CASE WHEN unreadable THEN [NULL] ELSE ss.spans END) AS s
            FROM scopes
        ),
        tagged AS (
            SELECT unreadable, res, s.traceId AS trace_id, s.spanId AS span_id,
                   s.parentSpanId AS parent_id, s.startTimeUnixNano AS start,
                   CASE WHEN NOT unreadable THEN {late_condition("s.name", "scope")} END AS late,
                   list_filter(s.attributes, lambda a: {wanted}) AS wanted
            FROM raw
        )
        SELECT
            {hex_id("trace_id", 32)}, {hex_id("span_id", 16)}, {hex_id("parent_id", 16)},
            late,
            TRY_CAST(start AS BIGINT),
            CASE WHEN late THEN coalesce(
                epoch_ns(TRY_CAST(
                    list_filter(wanted, lambda a: a.key = {timestamp})[1].value.stringValue
                    AS TIMESTAMPTZ)),
                TRY_CAST(start AS BIGINT)) END,
            {own_group},
            {res_group},
            list_transform(
                list_filter(wanted, lambda a: {field_condition(query, "a.key")}
                            AND NOT (late AND {record_key_condition("a.key")})),
                lambda a: {typed_value("a.value", "a.key")})
        FROM tagged
        """
    )


def _text_of(value: str) -> str:
    return (
        f"coalesce({value}.stringValue, {value}.intValue, {value}.boolValue, "
        f"{value}.doubleValue)"
    )
