"""Opik's ``Trace`` and ``Span`` objects, each over one OpenTelemetry span.

An Opik trace is the root span of what it groups; an Opik span is a span under it. ``id`` is
the OpenTelemetry id in hex (32 digits for a trace, 16 for a span): paste it into Jaeger's
search, or hand it back to ``log_traces_feedback_scores`` / ``log_spans_feedback_scores``.
"""

from __future__ import annotations

import atexit
import contextvars
import datetime as dt
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span as OtelSpan
from opentelemetry.trace import Status, StatusCode

import otel_feedback as fb
from otel_feedback.compat._runtime import tracer
from otel_feedback.compat._spans import io_attributes, merged_io
from otel_feedback.conventions import (
    LLM_COST_TOTAL,
    LLM_MODEL_NAME,
    LLM_PROVIDER,
    LLM_TOKEN_COUNT_COMPLETION,
    LLM_TOKEN_COUNT_PROMPT,
    LLM_TOKEN_COUNT_TOTAL,
    OPENINFERENCE_SPAN_KIND,
    OPENINFERENCE_TAGS,
    SESSION_ID,
)
from otel_feedback.delivery import track
from otel_feedback.errors import InvalidFeedbackError
from otel_feedback.ids import span_id_hex, trace_id_hex
from otel_feedback.reporting import count, guarded, logger, report

SDK = "opik"

SPAN_KINDS = {"general": "CHAIN", "llm": "LLM", "tool": "TOOL", "guardrail": "GUARDRAIL"}
"""Opik span types as OpenInference span kinds."""

_USAGE_KEYS = {
    "prompt_tokens": LLM_TOKEN_COUNT_PROMPT,
    "completion_tokens": LLM_TOKEN_COUNT_COMPLETION,
    "total_tokens": LLM_TOKEN_COUNT_TOTAL,
}

CURRENT_SPAN: contextvars.ContextVar[Span | None] = contextvars.ContextVar(
    "otel_feedback_opik_span", default=None
)
CURRENT_TRACE: contextvars.ContextVar[Trace | None] = contextvars.ContextVar(
    "otel_feedback_opik_trace", default=None
)


_open_spans: set[Span] = set()
"""Manual traces and spans not ended yet (held here: Opik code often drops the handle)."""
_open_lock = threading.Lock()
_exit_hook_lock = threading.Lock()
_exit_hook: list[bool] = []


def remember_open(span: Span) -> None:
    """Opik logs a manual trace or span even if ``end()`` is never called: remember it, to
    end it at ``flush()`` or at exit."""
    with _open_lock:
        _open_spans.add(span)
    with _exit_hook_lock:
        if not _exit_hook:  # registered after the provider's own hook, so it runs first
            _exit_hook.append(True)
            atexit.register(end_open_spans)


def end_open_spans() -> None:
    """End the manual traces and spans still open (children before their trace)."""
    with _open_lock:
        still_open = sorted(_open_spans, key=lambda item: isinstance(item, Trace))
        _open_spans.clear()
    now = time.time_ns()
    for span in still_open:
        span._finish(now)


def to_ns(value: dt.datetime | None) -> int | None:
    """A datetime (naive = UTC) as nanoseconds since the epoch."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return int(value.timestamp() * 1_000_000) * 1000


def span_attributes(
    type: str | None = None,
    input: Any = None,
    output: Any = None,
    tags: Sequence[str] | None = None,
    model: str | None = None,
    provider: str | None = None,
    usage: Mapping[str, Any] | None = None,
    total_cost: float | None = None,
) -> dict[str, Any]:
    """The attributes of a new span from Opik's arguments."""
    attributes: dict[str, Any] = {}
    if type is not None:
        attributes[OPENINFERENCE_SPAN_KIND] = SPAN_KINDS.get(str(type).lower(), "UNKNOWN")
    if input is not None:
        attributes.update(io_attributes("input", input))
    if output is not None:
        attributes.update(io_attributes("output", output))
    if tags:
        tags = [tags] if isinstance(tags, str) else tags
        attributes[OPENINFERENCE_TAGS] = [str(tag) for tag in tags]
    if model is not None:
        attributes[LLM_MODEL_NAME] = str(model)
    if provider is not None:
        attributes[LLM_PROVIDER] = str(getattr(provider, "value", provider))
    if isinstance(usage, Mapping):
        for key, attribute in _USAGE_KEYS.items():
            value = usage.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                attributes[attribute] = value
    if isinstance(total_cost, (int, float)) and not isinstance(total_cost, bool):
        attributes[LLM_COST_TOTAL] = float(total_cost)
    return attributes


class Span:
    """An Opik span: ``update``, ``log_feedback_score``, ``span`` (a child) and ``end``."""

    def __init__(self, otel_span: OtelSpan, trace_handle: Trace | None = None) -> None:
        self.otel_span = otel_span
        self._trace = trace_handle
        self._children: list[Span] = []

    @property
    def trace_id(self) -> str:
        """The trace id (32 hex digits)."""
        return trace_id_hex(self.otel_span.get_span_context().trace_id)

    @property
    def span_id(self) -> str:
        """The span id (16 hex digits). Handing it out tracks the span, so scores logged by
        this id alone find it after it ended."""
        track(self.otel_span)
        return span_id_hex(self.otel_span.get_span_context().span_id)

    @property
    def id(self) -> str:
        """The span id (16 hex digits)."""
        return self.span_id

    @property
    def name(self) -> str:
        return str(getattr(self.otel_span, "name", ""))

    @property
    def trace(self) -> Trace | None:
        """The trace this span belongs to, when known here."""
        return self._trace

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r}, name={self.name!r})"

    # -- writing -------------------------------------------------------------------------

    @guarded(None)
    def update(
        self,
        name: str | None = None,
        input: Mapping[str, Any] | Any = None,
        output: Mapping[str, Any] | Any = None,
        metadata: Mapping[str, Any] | None = None,
        tags: Sequence[str] | None = None,
        feedback_scores: Sequence[Mapping[str, Any]] | None = None,
        usage: Mapping[str, Any] | None = None,
        model: str | None = None,
        provider: str | None = None,
        total_cost: float | None = None,
        error_info: Mapping[str, Any] | None = None,
        type: str | None = None,
        end_time: dt.datetime | None = None,
        thread_id: str | None = None,
        attachments: Any = None,
        prompts: Any = None,
    ) -> None:
        """Rename, add input/output/metadata/tags/usage, and log feedback scores.

        Metadata and input/output mappings update what is there (never overwrite). On a span
        that has ended, metadata and feedback scores still arrive (on a ``feedback`` span
        under it); the other fields cannot change any more and are reported.
        """
        del end_time, attachments, prompts  # not recorded: no OpenTelemetry counterpart
        span = self.otel_span
        changes: dict[str, Any] = span_attributes(
            type=type,
            tags=None,
            model=model,
            provider=provider,
            usage=usage,
            total_cost=total_cost,
        )
        if input is not None:
            changes.update(merged_io(span, "input", input))
        if output is not None:
            changes.update(merged_io(span, "output", output))
        if tags:
            before = (getattr(span, "attributes", None) or {}).get(OPENINFERENCE_TAGS) or ()
            merged = list(dict.fromkeys([*before, *(str(tag) for tag in tags)]))
            changes[OPENINFERENCE_TAGS] = merged
        if thread_id is not None:
            changes[SESSION_ID] = str(thread_id)
        if span.is_recording():
            if name is not None:
                span.update_name(str(name))
            if changes:
                span.set_attributes(changes)
            if error_info:
                _record_error_info(span, error_info)
        elif name is not None or changes or error_info:
            count("span_ended")
            logger.warning(
                "Opik update() on %r after it ended: name, input, output, tags, usage and "
                "errors can no longer change in OpenTelemetry (metadata and feedback scores "
                "still arrive)",
                self,
            )
        if metadata is not None:
            fb.enrich_span(metadata=metadata, span=span)
        for score in feedback_scores or ():
            self._log_score_dict(score)

    def log_feedback_score(
        self,
        name: str,
        value: Any,
        category_name: str | None = None,
        reason: str | None = None,
    ) -> str | None:
        """A feedback score on this span; returns its ``feedback.id`` (``None`` if dropped)."""
        return fb.log_feedback(
            name, value, target=self.otel_span, label=category_name, reason=reason
        )

    def _log_score_dict(self, score: Mapping[str, Any]) -> None:
        if not isinstance(score, Mapping) or "name" not in score:
            report(
                "invalid_value",
                InvalidFeedbackError(
                    f"each feedback score must be a mapping with 'name' and 'value', got {score!r}"
                ),
            )
            return
        self.log_feedback_score(
            score["name"],
            score.get("value"),
            category_name=score.get("category_name"),
            reason=score.get("reason"),
        )

    def span(
        self,
        name: str | None = None,
        type: str = "general",
        input: Any = None,
        output: Any = None,
        metadata: Mapping[str, Any] | None = None,
        tags: Sequence[str] | None = None,
        usage: Mapping[str, Any] | None = None,
        feedback_scores: Sequence[Mapping[str, Any]] | None = None,
        model: str | None = None,
        provider: str | None = None,
        total_cost: float | None = None,
        start_time: dt.datetime | None = None,
        end_time: dt.datetime | None = None,
        error_info: Mapping[str, Any] | None = None,
        id: str | None = None,
        parent_span_id: str | None = None,
        project_name: str | None = None,
        attachments: Any = None,
    ) -> Span:
        """A child span, for manual tracing; call :meth:`end` on it when done."""
        del id, parent_span_id, project_name, attachments
        child = tracer(SDK).start_span(
            name or "span",
            context=trace.set_span_in_context(self.otel_span),
            attributes=span_attributes(
                type, input, output, tags, model, provider, usage, total_cost
            ),
            start_time=to_ns(start_time),
        )
        handle = Span(child, self._trace if self._trace is not None else _as_trace(self))
        remember_open(handle)
        self._children.append(handle)
        if metadata is not None:
            fb.enrich_span(metadata=metadata, span=child)
        if error_info:
            _record_error_info(child, error_info)
        for score in feedback_scores or ():
            handle._log_score_dict(score)
        if end_time is not None:
            handle.end(end_time=end_time)
        return handle

    def end(self, **fields: Any) -> None:
        """Apply ``update(**fields)`` and end the span (at ``end_time`` if given).

        Child spans made with :meth:`span` and still open end with it (Opik's documentation
        often leaves them open), so no child outlasts its parent.
        """
        end_time = fields.get("end_time")
        if fields:
            self.update(**fields)
        self._finish(to_ns(end_time) or time.time_ns())

    def _finish(self, end_ns: int) -> None:
        if not self.otel_span.is_recording():
            return
        children, self._children = self._children, []
        for child in children:
            child._finish(end_ns)
        self.otel_span.end(end_time=end_ns)
        with _open_lock:
            _open_spans.discard(self)


def _as_trace(span: Span) -> Trace | None:
    return span if isinstance(span, Trace) else None


class Trace(Span):
    """An Opik trace: the root span of its OpenTelemetry trace. ``id`` is the trace id."""

    @property
    def id(self) -> str:
        """The trace id (32 hex digits)."""
        return self.trace_id

    @property
    def trace(self) -> Trace:
        return self

    @property
    def thread_id(self) -> str | None:
        value = (getattr(self.otel_span, "attributes", None) or {}).get(SESSION_ID)
        return value if isinstance(value, str) else None


def _record_error_info(span: OtelSpan, error_info: Mapping[str, Any]) -> None:
    """Opik's ``error_info`` (``exception_type``, ``message``, ``traceback``) as an error."""
    kind = str(error_info.get("exception_type") or "Error")
    message = str(error_info.get("message") or "")
    attributes = {"exception.type": kind, "exception.message": message}
    if error_info.get("traceback"):
        attributes["exception.stacktrace"] = str(error_info["traceback"])
    span.add_event("exception", attributes)
    span.set_status(Status(StatusCode.ERROR, f"{kind}: {message}"))
