"""The ClickHouse SQL of ``clickhouse://`` sources, run on ClickHouse's own engine (chdb).

The traces are recorded through the real pipeline, stored as the OTel Collector's
``clickhouseexporter`` stores them (its table DDL, attribute values as strings, arrays as
JSON), and every measure the pushed-down SQL returns is compared with the exact computation.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from stats_scenario import BASE, Truth, expected_rows, record
from test_stats_file import assert_rows

import otel_feedback as fb
from otel_feedback.stats.query import Query, Skipped
from otel_feedback.stats.sources import clickhouse

chdb_session = pytest.importorskip("chdb.session")

DDL = (Path(__file__).parent / "data" / "clickhouse_otel_traces.sql").read_text()
DATABASE = "otel"


def as_string(value: Any) -> str:
    """pcommon.Value.AsString(), as the exporter writes attribute values."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else str(int(value))
    if isinstance(value, (list, tuple)):
        return json.dumps(list(value), separators=(",", ":"))
    return str(value)


def exporter_row(span: ReadableSpan) -> dict[str, Any]:
    context = span.get_span_context()
    parent = span.parent
    return {
        "ts": span.start_time,
        "TraceId": format(context.trace_id, "032x"),
        "SpanId": format(context.span_id, "016x"),
        "ParentSpanId": format(parent.span_id, "016x") if parent else "",
        "SpanName": span.name,
        "ServiceName": str(span.resource.attributes.get("service.name", "")),
        "ResourceAttributes": {k: as_string(v) for k, v in span.resource.attributes.items()},
        "ScopeName": span.instrumentation_scope.name if span.instrumentation_scope else "",
        "SpanAttributes": {k: as_string(v) for k, v in (span.attributes or {}).items()},
        "Duration": (span.end_time or 0) - (span.start_time or 0),
    }


class Store:
    """A chdb session holding the exporter's table."""

    def __init__(self, folder: Path) -> None:
        self.session = chdb_session.Session(str(folder))
        self.session.query(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")

    def create(self, table: str) -> None:
        self.session.query(DDL.format(database=DATABASE, table=table))

    def insert(self, table: str, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        data = clickhouse.literal("\n".join(json.dumps(row) for row in rows))
        self.session.query(
            f"INSERT INTO {DATABASE}.{table} (Timestamp, TraceId, SpanId, ParentSpanId, "
            "SpanName, ServiceName, ResourceAttributes, ScopeName, SpanAttributes, Duration) "
            "SELECT fromUnixTimestamp64Nano(ts), TraceId, SpanId, ParentSpanId, SpanName, "
            "ServiceName, ResourceAttributes, ScopeName, SpanAttributes, Duration FROM format("
            "JSONEachRow, 'ts Int64, TraceId String, SpanId String, ParentSpanId String, "
            "SpanName String, ServiceName String, ResourceAttributes Map(String, String), "
            "ScopeName String, SpanAttributes Map(String, String), Duration UInt64', "
            f"{data})"
        )

    def run(self, sql: str) -> list[list[Any]]:
        settings = ", " if "SETTINGS" in sql else " SETTINGS "
        result = self.session.query(
            sql + settings + "output_format_json_quote_64bit_integers = 0", "JSONCompact"
        )
        return list(json.loads(result.bytes())["data"])

    def measure(
        self, query: Query, table: str = "otel_traces"
    ) -> tuple[list[dict[str, Any]], Skipped]:
        skipped = Skipped()
        result = clickhouse.measure_with(self.run, query, DATABASE, table, skipped)
        return [row.as_dict() for row in result.rows], skipped


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Truth]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "chat-svc"}))
    provider.add_span_processor(fb.FeedbackSpanProcessor(tracer_provider=provider))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    truth = record(provider)
    provider.shutdown()
    db = Store(tmp_path_factory.mktemp("chdb"))
    db.create("otel_traces")
    db.insert("otel_traces", [exporter_row(span) for span in exporter.get_finished_spans()])
    yield db, truth
    db.session.close()


def test_every_measure_matches_through_clickhouse_sql(store: tuple[Store, Truth]) -> None:
    db, truth = store
    rows, skipped = db.measure(Query())
    assert_rows(rows, expected_rows(truth))
    assert not skipped.counts


@pytest.mark.parametrize("group_by", ["gen_ai.request.model", "team", "service.name"])
def test_groups_buckets_and_window_through_clickhouse_sql(
    store: tuple[Store, Truth], group_by: str
) -> None:
    db, truth = store
    since = BASE + dt.timedelta(hours=1)
    until = BASE + dt.timedelta(hours=5, minutes=30)
    query = Query(
        fields=("feedback.*",),
        group_by=group_by,
        every_seconds=3600,
        since=since,
        until=until,
        top=2,
    )
    rows, _ = db.measure(query)
    expected = expected_rows(
        truth,
        fields=["feedback.*"],
        group_by=group_by,
        every_seconds=3600,
        since=since,
        until=until,
        top=2,
    )
    assert_rows(rows, expected)


def test_string_values_are_typed_by_what_they_hold(store: tuple[Store, Truth]) -> None:
    db, _ = store
    db.create("typed")
    trace = "0af7651916cd43dd8448eb211c80319c"
    base = {
        "TraceId": trace,
        "ParentSpanId": "",
        "SpanName": "chat",
        "ServiceName": "s",
        "ResourceAttributes": {},
        "ScopeName": "app",
        "Duration": 1,
    }
    values = [
        {
            "feedback.flag": "true",
            "feedback.score": "1.5",
            "feedback.mixed": "2",
            "feedback.tags": '["a","b"]',
        },
        {"feedback.flag": "false", "feedback.score": "-2", "feedback.mixed": "two"},
        {"feedback.flag": "true", "feedback.score": "1e3", "feedback.mixed": "2"},
    ]
    db.insert(
        "typed",
        [
            {
                **base,
                "ts": 1_762_070_400_000_000_000 + i,
                "SpanId": f"{i + 1:016x}",
                "SpanAttributes": attributes,
            }
            for i, attributes in enumerate(values)
        ],
    )
    rows, skipped = db.measure(Query(), table="typed")
    by_field = {row["field"]: row for row in rows}
    assert by_field["feedback.flag"]["type"] == "bool"
    assert by_field["feedback.flag"]["true"] == 2
    assert by_field["feedback.score"]["type"] == "number"
    assert by_field["feedback.score"]["sum"] == pytest.approx(999.5)
    assert by_field["feedback.mixed"]["type"] == "string"
    assert by_field["feedback.mixed"]["top"] == [["2", 2], ["two", 1]]
    assert "feedback.tags" not in by_field
    assert skipped.counts["array-valued attributes (arrays are not measured)"] == 1
    assert math.isfinite(by_field["feedback.score"]["p99"])


def test_an_empty_table_gives_no_rows(store: tuple[Store, Truth]) -> None:
    db, _ = store
    db.create("empty")
    rows, _ = db.measure(Query(), table="empty")
    assert rows == []
