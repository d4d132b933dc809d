"""Feedback as numbers: read spans back from a trace store and measure the feedback.

``otel-feedback stats SOURCE`` (extra ``[stats]``) — see docs/DESIGN.md §8. Sources: OTLP JSON
Lines files (``file:``), Phoenix (``phoenix://``) and the OTel Collector's ClickHouse table
(``clickhouse://``). The unit is the rated span; late feedback is folded in by
``feedback.timestamp``, later wins.
"""

from __future__ import annotations

from otel_feedback.stats.query import Query, Result, Row
from otel_feedback.stats.sources import measure_source, parse_source


def measure(source: str, query: Query | None = None) -> Result:
    """Measure the feedback in ``source`` (a SOURCE URL such as ``file:spans.jsonl``)."""
    return measure_source(parse_source(source), query or Query())


__all__ = ["Query", "Result", "Row", "measure", "measure_source", "parse_source"]
