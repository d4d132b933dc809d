"""Synthetic traces for the ``stats`` benchmark, written directly as text (no SDK, no dicts).

:func:`write` writes the same spans twice: as OTLP JSON Lines (one
``ExportTraceServiceRequest`` of about ``batch`` spans per line, as the OTel Collector's
``file`` exporter writes them) and, optionally, as JSONEachRow rows of the Collector's
ClickHouse table (attribute values as strings, as the ``clickhouseexporter`` stores them).

Every trace has one rated ``chat`` span with live feedback (``feedback.rating`` int,
``feedback.thumbs_up`` bool, ``metrics.relevance`` double, ``feedback.comment`` string on
one in five) and ``gen_ai.request.model``; one in ``late_every`` gets a late ``feedback``
span (child of the rated span, ``feedback.timestamp`` a minute later) overriding the rating.
1,000,000 rated spans with ``late_every=2`` make 1,500,000 spans.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import TextIO

MODELS = ("gpt-4o", "gpt-4o-mini", "claude-sonnet", "llama-3")
COMMENTS = ("great", "too long", "wrong city", "helpful", "slow")
START_S = 1_764_460_800  # 2025-11-30T00:00:00Z
SPANS_PER_SECOND = 10


def _iso(ns: int) -> str:
    import time  # noqa: PLC0415

    seconds, rest = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{rest // 1000:06d}Z"


def _otlp_attr(key: str, kind: str, value: str) -> str:
    return f'{{"key":"{key}","value":{{"{kind}":{value}}}}}'


def write(
    path: Path,
    rated: int,
    *,
    rows_path: Path | None = None,
    late_every: int = 2,
    batch: int = 512,
    seed: int = 7,
) -> int:
    """Write ``rated`` rated spans and their late feedback; returns the number of spans."""
    rng = random.Random(seed)
    head = (
        '{"resourceSpans":[{"resource":{"attributes":['
        + _otlp_attr("service.name", "stringValue", '"chat-service"')
        + ']},"scopeSpans":['
    )
    app_scope = '{"scope":{"name":"chat-app"},"spans":['
    late_scope = '{"scope":{"name":"otel_feedback","version":"0.1.0"},"spans":['
    total = 0
    spans: list[str] = []
    late: list[str] = []
    rows_out: TextIO | None = rows_path.open("w", encoding="utf-8") if rows_path else None
    try:
        with path.open("w", encoding="utf-8") as out:
            for index in range(rated):
                trace_id = f"{rng.getrandbits(128):032x}"
                span_id = f"{rng.getrandbits(64):016x}"
                start = (START_S + index // SPANS_PER_SECOND) * 1_000_000_000 + (
                    index % SPANS_PER_SECOND
                ) * 100_000_000
                model = MODELS[index % len(MODELS)]
                rating = rng.randint(1, 5)
                thumbs = "true" if rng.random() < 0.7 else "false"
                relevance = round(rng.random(), 4)
                session = f"s-{index // 8}"
                comment = rng.choice(COMMENTS) if index % 5 == 0 else None
                attributes = [
                    _otlp_attr("gen_ai.request.model", "stringValue", f'"{model}"'),
                    _otlp_attr("input.value", "stringValue", '"How long do refunds take?"'),
                    _otlp_attr("session.id", "stringValue", f'"{session}"'),
                    _otlp_attr("feedback.rating", "intValue", f'"{rating}"'),
                    _otlp_attr("feedback.thumbs_up", "boolValue", thumbs),
                    _otlp_attr("metrics.relevance", "doubleValue", repr(relevance)),
                ]
                if comment:
                    attributes.append(_otlp_attr("feedback.comment", "stringValue", f'"{comment}"'))
                spans.append(
                    f'{{"traceId":"{trace_id}","spanId":"{span_id}","parentSpanId":"",'
                    f'"name":"chat","kind":2,"startTimeUnixNano":"{start}",'
                    f'"endTimeUnixNano":"{start + 250_000_000}",'
                    f'"attributes":[{",".join(attributes)}],"status":{{}}}}'
                )
                span_attrs = {
                    "gen_ai.request.model": model,
                    "input.value": "How long do refunds take?",
                    "session.id": session,
                    "feedback.rating": str(rating),
                    "feedback.thumbs_up": thumbs,
                    "metrics.relevance": repr(relevance),
                }
                if comment:
                    span_attrs["feedback.comment"] = comment
                if rows_out:
                    rows_out.write(
                        _row(start, trace_id, span_id, "", "chat", "chat-app", span_attrs)
                    )
                if index % late_every == 0:
                    late_id = f"{rng.getrandbits(64):016x}"
                    late_rating = rng.randint(1, 5)
                    given = _iso(start + 60_000_000_000)
                    late.append(
                        f'{{"traceId":"{trace_id}","spanId":"{late_id}",'
                        f'"parentSpanId":"{span_id}","name":"feedback","kind":1,'
                        f'"startTimeUnixNano":"{start + 1000}",'
                        f'"endTimeUnixNano":"{start + 1000}","attributes":['
                        + _otlp_attr("feedback.rating", "intValue", f'"{late_rating}"')
                        + ","
                        + _otlp_attr("feedback.timestamp", "stringValue", f'"{given}"')
                        + ","
                        + _otlp_attr("session.id", "stringValue", f'"{session}"')
                        + f'],"links":[{{"traceId":"{trace_id}","spanId":"{span_id}"}}],'
                        '"status":{}}'
                    )
                    if rows_out:
                        rows_out.write(
                            _row(
                                start + 1000,
                                trace_id,
                                late_id,
                                span_id,
                                "feedback",
                                "otel_feedback",
                                {
                                    "feedback.rating": str(late_rating),
                                    "feedback.timestamp": given,
                                    "session.id": session,
                                },
                            )
                        )
                if len(spans) + len(late) >= batch:
                    total += _flush(out, head, app_scope, late_scope, spans, late)
            if spans or late:
                total += _flush(out, head, app_scope, late_scope, spans, late)
    finally:
        if rows_out:
            rows_out.close()
    return total


def _flush(
    out: TextIO, head: str, app_scope: str, late_scope: str, spans: list[str], late: list[str]
) -> int:
    scopes = [app_scope + ",".join(spans) + "]}"]
    if late:
        scopes.append(late_scope + ",".join(late) + "]}")
    out.write(head + ",".join(scopes) + "]}]}\n")
    count = len(spans) + len(late)
    spans.clear()
    late.clear()
    return count


def _row(
    start: int,
    trace_id: str,
    span_id: str,
    parent: str,
    name: str,
    scope: str,
    attributes: dict[str, str],
) -> str:
    pairs = ",".join(f'"{k}":"{v}"' for k, v in attributes.items())
    return (
        f'{{"ts":{start},"TraceId":"{trace_id}","SpanId":"{span_id}",'
        f'"ParentSpanId":"{parent}","SpanName":"{name}","ServiceName":"chat-service",'
        f'"ResourceAttributes":{{"service.name":"chat-service"}},"ScopeName":"{scope}",'
        f'"SpanAttributes":{{{pairs}}},"Duration":250000000}}\n'
    )
