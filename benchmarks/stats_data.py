"""Synthetic OTLP JSON Lines for the ``stats`` benchmark, written directly (no SDK).

Each line is one ``ExportTraceServiceRequest`` of ``batch`` spans, as the OTel Collector's
``file`` exporter writes them. Every trace has one rated ``chat`` span carrying live
feedback (``feedback.rating`` int, ``feedback.thumbs_up`` bool, ``metrics.relevance``
double, ``feedback.comment`` string on some) and ``gen_ai.request.model``; half of them get a
late ``feedback`` span (child of the rated span, ``feedback.timestamp`` later than the span)
that overrides the rating — so 1,000,000 rated spans make about 1,500,000 spans.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

MODELS = ("gpt-4o", "gpt-4o-mini", "claude-sonnet", "llama-3")
COMMENTS = ("great", "too long", "wrong city", "helpful", "slow")
START_NS = 1_764_460_800_000_000_000  # 2025-11-30T00:00:00Z


def _attr(key: str, value: object) -> dict[str, object]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": str(value)}}


def _iso(ns: int) -> str:
    import datetime as dt  # noqa: PLC0415

    seconds, rest = divmod(ns, 1_000_000_000)
    moment = dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{rest // 1000:06d}Z"


def write(path: Path, rated: int, *, late_every: int = 2, batch: int = 512, seed: int = 7) -> int:
    """Write ``rated`` rated spans (and their late feedback) to ``path``; returns span count."""
    rng = random.Random(seed)
    resource = {"attributes": [_attr("service.name", "chat-service")]}
    scope = {"name": "chat-app"}
    late_scope = {"name": "otel_feedback", "version": "0.1.0"}
    spans: list[dict[str, object]] = []
    late: list[dict[str, object]] = []
    total = 0
    with path.open("w", encoding="utf-8") as out:

        def flush() -> None:
            scope_spans = [{"scope": scope, "spans": spans}]
            if late:
                scope_spans.append({"scope": late_scope, "spans": late})
            line = {"resourceSpans": [{"resource": resource, "scopeSpans": scope_spans}]}
            out.write(json.dumps(line, separators=(",", ":")))
            out.write("\n")

        for index in range(rated):
            trace_id = f"{rng.getrandbits(128):032x}"
            span_id = f"{rng.getrandbits(64):016x}"
            start = START_NS + index * 1_000_000_000 // 10  # 10 spans a second
            attributes = [
                _attr("gen_ai.request.model", MODELS[index % len(MODELS)]),
                _attr("input.value", "How long do refunds take?"),
                _attr("session.id", f"s-{index // 8}"),
                _attr("feedback.rating", rng.randint(1, 5)),
                _attr("feedback.thumbs_up", rng.random() < 0.7),
                _attr("metrics.relevance", round(rng.random(), 4)),
            ]
            if index % 5 == 0:
                attributes.append(_attr("feedback.comment", rng.choice(COMMENTS)))
            spans.append(
                {
                    "traceId": trace_id,
                    "spanId": span_id,
                    "parentSpanId": "",
                    "name": "chat",
                    "kind": 2,
                    "startTimeUnixNano": str(start),
                    "endTimeUnixNano": str(start + 250_000_000),
                    "attributes": attributes,
                    "status": {},
                }
            )
            if index % late_every == 0:
                late.append(
                    {
                        "traceId": trace_id,
                        "spanId": f"{rng.getrandbits(64):016x}",
                        "parentSpanId": span_id,
                        "name": "feedback",
                        "kind": 1,
                        "startTimeUnixNano": str(start + 1000),
                        "endTimeUnixNano": str(start + 1000),
                        "attributes": [
                            _attr("feedback.rating", rng.randint(1, 5)),
                            _attr("feedback.timestamp", _iso(start + 60_000_000_000)),
                            _attr("session.id", f"s-{index // 8}"),
                        ],
                        "links": [{"traceId": trace_id, "spanId": span_id}],
                        "status": {},
                    }
                )
            if len(spans) + len(late) >= batch:
                total += len(spans) + len(late)
                flush()
                spans, late = [], []
        if spans or late:
            total += len(spans) + len(late)
            flush()
    return total
