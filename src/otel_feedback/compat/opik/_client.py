"""Opik's client, ``Opik()``: manual traces and feedback scores by id.

``trace(...)`` starts a root span (a new trace); ``trace.span(...)`` a span under it; ``end()``
ends either. Feedback scores by id go through :func:`otel_feedback.log_traces_feedback_scores`
and :func:`otel_feedback.log_spans_feedback_scores` (a span ``id`` alone is enough for spans
this process traced). Thread (conversation) scores become session records: a ``feedback``
span carrying ``session.id`` = the thread id (see :mod:`otel_feedback.compat._session`).
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from opentelemetry import context as otel_context

import otel_feedback as fb
from otel_feedback.compat import _runtime
from otel_feedback.compat._runtime import ensure_provider, tracer
from otel_feedback.compat._session import session_record
from otel_feedback.compat.opik._objects import (
    SDK,
    Span,
    Trace,
    end_open_spans,
    remember_open,
    span_attributes,
    to_ns,
)
from otel_feedback.conventions import SESSION_ID
from otel_feedback.errors import InvalidFeedbackError, InvalidTargetError
from otel_feedback.reporting import guarded, report

_SCORE_KEYS = frozenset({"id", "name", "value", "reason", "category_name", "project_name"})

_traces: weakref.WeakValueDictionary[str, Trace] = weakref.WeakValueDictionary()


def _trace_id(value: object) -> object:
    """Opik's UUID form (``8-4-4-4-12`` hex) of a 128-bit id as 32 hex digits."""
    if isinstance(value, str) and len(value) == 36 and value.count("-") == 4:
        return value.replace("-", "").lower()
    return value


def _opik_scores(scores: Iterable[Any], id_key: str) -> list[Any]:
    """Opik score dicts for the core: ``project_name`` dropped, trace ids in hex."""
    converted: list[Any] = []
    for score in scores:
        if not isinstance(score, Mapping):
            converted.append(score)  # reported by the core
            continue
        fields = {key: value for key, value in score.items() if key != "project_name"}
        if id_key == "trace" and "id" in fields:
            fields["id"] = _trace_id(fields["id"])
        if "trace_id" in fields:
            fields["trace_id"] = _trace_id(fields["trace_id"])
        converted.append(fields)
    return converted


class Opik:
    """Opik's client. Connection settings are accepted and ignored: spans go to the
    OpenTelemetry exporter (``OTEL_EXPORTER_OTLP_*``)."""

    def __init__(
        self,
        project_name: str | None = None,
        workspace: str | None = None,
        host: str | None = None,
        api_key: str | None = None,
        _use_batching: bool = False,
        _show_misconfiguration_message: bool = True,
    ) -> None:
        self.project_name = project_name
        del workspace, host, api_key
        ensure_provider()

    # -- manual traces ----------------------------------------------------------------------

    def trace(
        self,
        id: str | None = None,
        name: str | None = None,
        start_time: dt.datetime | None = None,
        end_time: dt.datetime | None = None,
        metadata: Mapping[str, Any] | None = None,
        input: Any = None,
        output: Any = None,
        tags: Sequence[str] | None = None,
        feedback_scores: Sequence[Mapping[str, Any]] | None = None,
        project_name: str | None = None,
        error_info: Mapping[str, Any] | None = None,
        thread_id: str | None = None,
        attachments: Any = None,
        **ignored_kwargs: Any,
    ) -> Trace:
        """Start a trace (a root span); end it with ``trace.end()``."""
        del id, project_name, attachments, ignored_kwargs
        attributes = span_attributes(input=input, output=output, tags=tags)
        if thread_id is not None:
            attributes[SESSION_ID] = str(thread_id)
        otel_span = tracer(SDK).start_span(
            name or "trace",
            context=otel_context.Context(),
            attributes=attributes,
            start_time=to_ns(start_time),
        )
        handle = Trace(otel_span)
        remember_open(handle)
        _traces[handle.id] = handle
        handle.update(metadata=metadata, feedback_scores=feedback_scores, error_info=error_info)
        if end_time is not None:
            handle.end(end_time=end_time)
        return handle

    def span(
        self,
        trace_id: str | None = None,
        parent_span_id: str | None = None,
        name: str | None = None,
        **fields: Any,
    ) -> Span:
        """A span under ``parent_span_id`` (or the root of ``trace_id``), for spans made apart
        from their trace; prefer ``trace.span(...)``."""
        from opentelemetry.trace import (  # noqa: PLC0415
            NonRecordingSpan,
            SpanContext,
            TraceFlags,
        )

        from otel_feedback.ids import parse_span_id, parse_trace_id  # noqa: PLC0415

        known = _traces.get(str(_trace_id(trace_id))) if trace_id is not None else None
        if trace_id is None or (parent_span_id is None and known is None):
            if trace_id is not None:
                report(
                    "invalid_target",
                    InvalidTargetError(
                        f"trace {trace_id!r} was not started by this process: pass "
                        "parent_span_id= too; the span starts a trace of its own"
                    ),
                )
            return self.trace(name=name, **fields)  # Opik starts a trace for it
        if parent_span_id is None and known is not None:
            child = known.span(name=name, **fields)
        else:
            parent = NonRecordingSpan(
                SpanContext(
                    parse_trace_id(_trace_id(trace_id)),
                    parse_span_id(parent_span_id),
                    is_remote=True,
                    trace_flags=TraceFlags(TraceFlags.SAMPLED),
                )
            )
            child = Span(parent).span(name=name, **fields)
        remember_open(child)
        return child

    # -- feedback by id -----------------------------------------------------------------------

    @guarded([])
    def log_traces_feedback_scores(
        self, scores: Iterable[Mapping[str, Any]], project_name: str | None = None
    ) -> list[str | None]:
        """``[{"id": trace_id, "name", "value", "reason", "category_name"}]`` on each trace's
        root span; returns each ``feedback.id`` (``None`` where dropped)."""
        del project_name
        return fb.log_traces_feedback_scores(_opik_scores(scores, "trace"))

    @guarded([])
    def log_spans_feedback_scores(
        self, scores: Iterable[Mapping[str, Any]], project_name: str | None = None
    ) -> list[str | None]:
        """``[{"id": span_id, "name", "value", ...}]``; ``trace_id`` is needed only for spans
        another process traced."""
        del project_name
        return fb.log_spans_feedback_scores(_opik_scores(scores, "span"))

    @guarded([])
    def log_threads_feedback_scores(
        self, scores: Iterable[Mapping[str, Any]], project_name: str | None = None
    ) -> list[str | None]:
        """``[{"id": thread_id, "name", "value", ...}]``: each a session record (a ``feedback``
        span with ``session.id`` = the thread id and the score as its event)."""
        del project_name
        ids: list[str | None] = []
        for index, score in enumerate(scores):
            checked = _thread_score(index, score)
            if checked is None:
                ids.append(None)
                continue
            thread_id, record = checked
            ids.extend(session_record(SDK, thread_id, scores=[record]))
        return ids

    # -- flushing -------------------------------------------------------------------------------

    def get_threads_client(self) -> Opik:
        """Opik's threads client: here the client itself (``log_threads_feedback_scores``)."""
        return self

    def flush(self, timeout: int | None = None) -> bool:
        """Export everything logged so far. Opik logs a manual trace or span when it is
        created; OpenTelemetry exports a span when it ends: so the manual traces and spans
        still open are ended first (feedback and metadata given later still arrive, on
        ``feedback`` spans under them)."""
        end_open_spans()
        return _runtime.flush((timeout or 30) * 1000)

    def end(self, timeout: int | None = None) -> None:
        """End the manual traces still open and export everything."""
        self.flush(timeout)


def _thread_score(index: int, score: object) -> tuple[str, dict[str, Any]] | None:
    if not isinstance(score, Mapping) or not {"id", "name", "value"} <= score.keys():
        report(
            "invalid_value",
            InvalidFeedbackError(
                f"thread score #{index} must be a mapping with 'id' (the thread id), 'name' "
                "and 'value'"
            ),
        )
        return None
    unknown = sorted(str(key) for key in score.keys() - _SCORE_KEYS)
    if unknown:
        report(
            "unknown_key",
            InvalidFeedbackError(
                f"thread score #{index} has unknown keys {unknown} (known: "
                f"{sorted(_SCORE_KEYS)}); they are ignored"
            ),
        )
    thread_id = score["id"]
    if not isinstance(thread_id, str) or not thread_id:
        report(
            "invalid_target",
            InvalidTargetError(f"thread score #{index}: 'id' must be a non-empty str"),
        )
        return None
    record = {
        "name": score["name"],
        "value": score["value"],
        "reason": score.get("reason"),
        "label": score.get("category_name"),
    }
    return thread_id, record
