"""Traces with live, late and overridden feedback, recorded through the real pipeline, and
the exact measures they should give (numpy / plain counting), for the ``stats`` tests.

:func:`record` drives a real ``TracerProvider`` with ``FeedbackSpanProcessor`` and the
public API (``enrich_span``, ``enrich_session``, ``log_feedback`` after the spans ended), while
:class:`Truth` keeps, independently, what each rated span's final values must be.
:func:`expected_rows` computes the rows ``otel-feedback stats --format json`` must print.
:class:`OTLPJsonLinesExporter` writes what the OTel Collector's ``file`` exporter writes.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import threading
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import numpy as np
from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import format_span_id, format_trace_id, set_span_in_context

import otel_feedback as fb

BASE = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.timezone.utc)
MODELS = ("model-a", "model-b", "model-c")
COMMENTS = ("great", "too long", "wrong city", "great", "helpful")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def ns(moment: dt.datetime) -> int:
    return (moment - EPOCH) // dt.timedelta(microseconds=1) * 1000


class OTLPJsonLinesExporter(SpanExporter):
    """One ``ExportTraceServiceRequest`` per line, in OTLP/JSON (hex ids, camelCase)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        message = MessageToDict(encode_spans(spans))
        for resource_spans in message.get("resourceSpans", []):
            for scope_spans in resource_spans.get("scopeSpans", []):
                for span in scope_spans.get("spans", []):
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if span.get(key):
                            span[key] = base64.b64decode(span[key]).hex()
                    for link in span.get("links", []):
                        for key in ("traceId", "spanId"):
                            link[key] = base64.b64decode(link[key]).hex()
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(message) + "\n")
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


@dataclass
class Unit:
    """One rated span as the test knows it."""

    start_ns: int
    groups: dict[str, str]
    own: dict[str, Any] = field(default_factory=dict)
    late: list[tuple[int, int, str, Any]] = field(default_factory=list)
    """(given_ns, send order, field, value)."""

    def final(self) -> dict[str, Any]:
        values = dict(self.own)
        values.update((key, value) for _, _, key, value in sorted(self.late))
        return values


@dataclass
class Truth:
    units: dict[tuple[str, str], Unit] = field(default_factory=dict)
    sent = 0

    def late(self, key: tuple[str, str], given: dt.datetime, name: str, value: Any) -> None:
        self.sent += 1
        self.units[key].late.append((ns(given), self.sent, name, value))


def record(provider: TracerProvider, traces: int = 24, seed: int = 3) -> Truth:
    """Record ``traces`` chat turns with feedback; returns what the stats must find."""
    rng = random.Random(seed)
    tracer = provider.get_tracer("stats-scenario")
    truth = Truth()
    service = str(provider.resource.attributes.get("service.name"))
    ended: list[tuple[int, str, str, str]] = []
    for i in range(traces):
        start = BASE + dt.timedelta(minutes=17 * i)
        team = ("team-a", "team-b")[i % 2]
        model = MODELS[i % 3]
        root = tracer.start_span("chat_turn", start_time=ns(start), attributes={"team": team})
        trace_id = format_trace_id(root.get_span_context().trace_id)
        root_id = format_span_id(root.get_span_context().span_id)
        truth.units[(trace_id, root_id)] = Unit(ns(start), {"team": team, "service.name": service})
        llm = tracer.start_span(
            "llm",
            context=set_span_in_context(root),
            start_time=ns(start) + 1_000_000,
            attributes={"gen_ai.request.model": model},
        )
        llm_id = format_span_id(llm.get_span_context().span_id)
        unit = Unit(
            ns(start) + 1_000_000,
            {"gen_ai.request.model": model, "team": team, "service.name": service},
        )
        truth.units[(trace_id, llm_id)] = unit
        rating = rng.randint(1, 5)
        thumbs = rng.random() < 0.6
        relevance = round(rng.uniform(0, 1), 3)
        live: dict[str, Any] = {
            "rating": rating,
            "thumbs_up": thumbs,
            "step1": {"retry": i % 3 == 1},
        }
        if i % 2 == 0:
            live["comment"] = COMMENTS[i % len(COMMENTS)]
        fb.enrich_span(feedback=live, metrics={"relevance": relevance}, span=llm)
        unit.own.update(
            {
                "feedback.rating": rating,
                "feedback.thumbs_up": thumbs,
                "feedback.step1.retry": i % 3 == 1,
                "metrics.relevance": relevance,
            }
        )
        if "comment" in live:
            unit.own["feedback.comment"] = live["comment"]
        if i % 4 == 3:  # a live update replaces the rating while the span is open
            rating = rng.randint(1, 5)
            fb.enrich_span(feedback={"rating": rating}, span=llm)
            unit.own["feedback.rating"] = rating
        if i % 2 == 0:  # feedback logged while the span is open lands on it
            fb.log_feedback("copied", True, target=llm, kind="implicit", tracer_provider=provider)
            unit.own["feedback.copied"] = True
        llm.end(end_time=ns(start) + 2_000_000_000)
        # A span with no feedback of its own, rated later: a long one, whose end (where its
        # late feedback span is placed) falls in a later hour than its start.
        tool = tracer.start_span(
            "tool",
            context=set_span_in_context(root),
            start_time=ns(start) + 2_000_000,
            attributes={"tool.name": "search"},
        )
        tool.end(end_time=ns(start) + 50 * 60 * 1_000_000_000)
        truth.units[(trace_id, format_span_id(tool.get_span_context().span_id))] = Unit(
            ns(start) + 2_000_000, {"team": team, "service.name": service}
        )
        if i % 4 == 0:  # session feedback: the root span is rated too
            fb.enrich_span(feedback={"resolved": i % 8 == 0}, span=root)
            truth.units[(trace_id, root_id)].own["feedback.resolved"] = i % 8 == 0
        root.end(end_time=ns(start) + 3_000_000_000)
        ended.append(
            (i, trace_id, root_id, llm_id, format_span_id(tool.get_span_context().span_id))
        )

    def late(ids: tuple[str, str], name: str, value: Any, given: dt.datetime) -> None:
        """Send late feedback by ids, as another process would, and note what it means."""
        fb.log_feedback(
            name, value, trace_id=ids[0], span_id=ids[1], timestamp=given, tracer_provider=provider
        )
        truth.late(ids, given, f"feedback.{name}", value)

    # Late feedback, after every span ended.
    for i, trace_id, root_id, llm_id, tool_id in ended:
        key = (trace_id, llm_id)
        start = BASE + dt.timedelta(minutes=17 * i)
        if i % 3 == 0:
            late(key, "rating", rng.randint(1, 5), start + dt.timedelta(hours=1))
        if i % 6 == 0:  # sent first but given later: it wins over the one sent after it
            late(key, "rating", rng.randint(1, 5), start + dt.timedelta(hours=3))
            late(key, "rating", rng.randint(1, 5), start + dt.timedelta(hours=2))
        if i % 5 == 0:  # the user changed a thumbs up to down (or back): counted once
            flipped = not truth.units[key].own["feedback.thumbs_up"]
            late(key, "thumbs_up", flipped, start + dt.timedelta(minutes=30))
        if i % 4 == 1:  # a field that only late feedback carries
            late(key, "accuracy", round(rng.uniform(0, 10), 2), start + dt.timedelta(minutes=45))
        if i % 2 == 1:  # the only feedback the tool span gets
            late((trace_id, tool_id), "useful", i % 3 != 0, start + dt.timedelta(hours=2))
        if i % 7 == 0:  # about the whole trace: lands on the root span
            late((trace_id, root_id), "helpful", i % 2 == 0, start + dt.timedelta(minutes=50))
    return truth


def expected_rows(
    truth: Truth,
    *,
    fields: Sequence[str] = ("feedback.*", "metrics.*"),
    group_by: str | None = None,
    every_seconds: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    top: int = 5,
) -> list[dict[str, Any]]:
    """The rows docs/DESIGN.md §8 defines, computed exactly from what was recorded."""
    cells: dict[tuple[str, str | None, str | None], list[Any]] = defaultdict(list)
    for unit in truth.units.values():
        if since is not None and unit.start_ns < ns(since):
            continue
        if until is not None and unit.start_ns >= ns(until):
            continue
        group = unit.groups.get(group_by) if group_by else None
        bucket = None
        if every_seconds:
            width = every_seconds * 1_000_000_000
            start = unit.start_ns // width * width
            bucket = (EPOCH + dt.timedelta(microseconds=start // 1000)).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            )
        for key, value in unit.final().items():
            if any(fnmatchcase(key, pattern) for pattern in fields):
                cells[(key, group, bucket)].append(value)
    rows = []
    for (key, group, bucket), values in cells.items():
        row: dict[str, Any] = {"field": key, "group": group, "bucket": bucket}
        if all(isinstance(v, bool) for v in values):
            trues = sum(values)
            row.update(
                type="bool",
                count=len(values),
                true=trues,
                false=len(values) - trues,
                percent_true=100.0 * trues / len(values),
            )
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            data = np.array(values, dtype=float)
            row.update(
                type="number",
                count=len(values),
                sum=float(data.sum()),
                avg=float(data.mean()),
                median=float(np.median(data)),
                min=float(data.min()),
                max=float(data.max()),
                p95=float(np.percentile(data, 95)),
                p98=float(np.percentile(data, 98)),
                p99=float(np.percentile(data, 99)),
            )
        else:
            counts = Counter(values)
            ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]
            row.update(
                type="string",
                count=len(values),
                distinct=len(counts),
                top=[[v, n] for v, n in ranked],
            )
        rows.append(row)
    return sorted(
        rows,
        key=lambda r: (r["field"], r["group"] is not None, r["group"] or "", r["bucket"] or ""),
    )
