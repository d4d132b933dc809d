"""Feedback on a whole session (Opik's threads, HoneyHive's sessions) as OpenTelemetry data.

A session is not a span: it groups many traces under one ``session.id``. Feedback on it, given
without a span of that session at hand (after the session ended, or from another process), is
exported as a **session record**: a zero-duration span named ``feedback``, the root of a trace
of its own, carrying ``session.id`` = the session, the state attributes (``feedback.<name>``,
``metrics.*``, ...) and one ``gen_ai.evaluation.result`` event per scored feedback. Backends
that group by ``session.id`` (Phoenix sessions, a Jaeger tag search ``session.id=<id>``) show it
with the session's traces; it is not nested under any of them, since no span of the session is
known here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.util.types import AttributeValue

import otel_feedback as fb
from otel_feedback.compat._runtime import tracer
from otel_feedback.conventions import FEEDBACK_SPAN_NAME, SESSION_ID


def session_record(
    sdk: str,
    session_id: str,
    attributes: Mapping[str, AttributeValue] | None = None,
    scores: Sequence[Mapping[str, Any]] = (),
    *,
    namespaces: Mapping[str, Mapping[str, Any] | None] | None = None,
    strict: bool | None = None,
) -> list[str | None]:
    """Export one session record; returns the feedback id of each score (``None`` if dropped).

    ``attributes`` are written as given, ``namespaces`` through ``enrich_span`` (feedback,
    metrics, metadata, user_properties), each of ``scores`` (keyword arguments of
    :func:`otel_feedback.log_feedback`, with ``name`` and ``value``) as a feedback record.
    """
    span = tracer(sdk).start_span(
        FEEDBACK_SPAN_NAME,
        context=otel_context.Context(),  # a root: not under whatever span is current
        attributes={SESSION_ID: session_id, **(attributes or {})},
    )
    try:
        if namespaces:
            fb.enrich_span(**namespaces, span=span, strict=strict)
        ids = [fb.log_feedback(**score, target=span, strict=strict) for score in scores]
    finally:
        start = getattr(span, "start_time", None)
        span.end(end_time=start if isinstance(start, int) else None)  # zero duration
    return ids
