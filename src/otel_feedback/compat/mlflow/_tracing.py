"""MLflow's fluent tracing API: ``@trace``, ``start_span``, the active span and trace ids."""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from opentelemetry import trace as otel_trace
from opentelemetry.trace import Span as OtelSpan

import otel_feedback as fb
from otel_feedback.compat._runtime import tracer
from otel_feedback.compat._spans import (
    Run,
    arguments,
    bound,
    decorator_or_call,
    io_attributes,
    record_error,
    signature_of,
    wrap,
)
from otel_feedback.compat.mlflow.entities.span import (
    OPENINFERENCE_KINDS,
    LiveSpan,
    SpanType,
    mlflow_trace_id,
)
from otel_feedback.conventions import OPENINFERENCE_SPAN_KIND, SESSION_ID, USER_ID
from otel_feedback.reporting import guarded

SDK = "mlflow"

SESSION_METADATA = "mlflow.trace.session"
USER_METADATA = "mlflow.trace.user"
"""MLflow's trace metadata keys for the session and the user: ``session.id`` / ``user.id``."""

_ROOT: contextvars.ContextVar[LiveSpan | None] = contextvars.ContextVar(
    "otel_feedback_mlflow_root", default=None
)
_last_trace_id: list[str] = []
_last_lock = threading.Lock()


def _span_attributes(span_type: str | None, attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    found: dict[str, Any] = dict(fb.flatten(dict(attributes))) if attributes else {}
    kind = str(span_type or SpanType.UNKNOWN).upper()
    found[OPENINFERENCE_SPAN_KIND] = OPENINFERENCE_KINDS.get(kind, "UNKNOWN")
    return found


def _is_local_root(span: OtelSpan) -> bool:
    parent = getattr(span, "parent", None)
    return parent is None or bool(parent.is_remote)


def _finished_root(span: OtelSpan) -> None:
    with _last_lock:
        _last_trace_id[:] = [mlflow_trace_id(span.get_span_context().trace_id)]


def _binders(live: LiveSpan) -> tuple[Callable[[], contextlib.AbstractContextManager[Any]], ...]:
    if _is_local_root(live.otel_span):  # the root of the trace in this process
        return (lambda: bound(_ROOT, live),)
    return ()


def trace(
    func: Callable[..., Any] | None = None,
    name: str | None = None,
    span_type: str = SpanType.UNKNOWN,
    attributes: Mapping[str, Any] | None = None,
    output_reducer: Callable[[list[Any]], Any] | None = None,
    trace_destination: Any = None,
) -> Any:
    """``@mlflow.trace`` or ``@mlflow.trace(name=, span_type=, attributes=, output_reducer=)``.

    Each call is a span: arguments as ``input.value``, the result (or, for a generator,
    ``output_reducer(items)`` or the items) as ``output.value``, ``span_type`` as
    ``openinference.span.kind``. ``trace_destination`` is ignored (spans go to the
    OpenTelemetry exporter).
    """
    del trace_destination

    def decorate(target: Callable[..., Any]) -> Any:
        signature = signature_of(target)
        span_name: str = name or getattr(target, "__name__", None) or "span"
        static = _span_attributes(span_type, attributes)

        def begin(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Run:
            captured = arguments(signature, args, kwargs)
            otel_span = tracer(SDK).start_span(
                span_name, attributes={**static, **io_attributes("input", captured)}
            )
            live = LiveSpan(otel_span, span_type)
            live._inputs = captured
            return Run(otel_span, _binders(live))

        def end(run: Run, output: Any, error: BaseException | None) -> None:
            if error is None and output is not None:
                run.span.set_attributes(io_attributes("output", output))
            run.finish(error)
            if _is_local_root(run.span):
                _finished_root(run.span)

        return wrap(target, begin, end, reduce=output_reducer or list)

    return decorator_or_call(func, decorate)


@contextlib.contextmanager
def start_span(
    name: str = "span",
    span_type: str | None = SpanType.UNKNOWN,
    attributes: Mapping[str, Any] | None = None,
    trace_destination: Any = None,
) -> Iterator[LiveSpan]:
    """``with mlflow.start_span("name", span_type=...) as span:`` a span, current inside."""
    del trace_destination
    otel_span = tracer(SDK).start_span(name, attributes=_span_attributes(span_type, attributes))
    live = LiveSpan(otel_span, span_type)
    run = Run(otel_span, _binders(live))
    try:
        with run:
            yield live
    except BaseException as error:
        record_error(otel_span, error)
        raise
    finally:
        otel_span.end()
        if _is_local_root(otel_span):
            _finished_root(otel_span)


def get_current_active_span() -> LiveSpan | None:
    """The span being recorded now (any OpenTelemetry span), or ``None``."""
    span = otel_trace.get_current_span()
    if not span.get_span_context().is_valid or not span.is_recording():
        return None
    return LiveSpan(span)


def get_active_trace_id() -> str | None:
    """``tr-<hex>`` of the trace being recorded now, or ``None``."""
    span = otel_trace.get_current_span()
    context = span.get_span_context()
    return mlflow_trace_id(context.trace_id) if context.is_valid else None


def get_last_active_trace_id(thread_local: bool = False) -> str | None:
    """``tr-<hex>`` of the last trace whose root span (traced here) has ended."""
    del thread_local
    with _last_lock:
        return _last_trace_id[0] if _last_trace_id else None


@guarded(None)
def update_current_trace(
    tags: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    client_request_id: str | None = None,
    request_preview: str | None = None,
    response_preview: str | None = None,
    state: str | None = None,
) -> None:
    """Tags and metadata of the current trace as ``metadata.*`` on its root span; the
    metadata keys ``mlflow.trace.session`` / ``mlflow.trace.user`` as ``session.id`` /
    ``user.id``."""
    del request_preview, response_preview, state
    fields: dict[str, Any] = {**(tags or {}), **(metadata or {})}
    identity = {
        attribute: str(fields.pop(key))
        for key, attribute in ((SESSION_METADATA, SESSION_ID), (USER_METADATA, USER_ID))
        if fields.get(key) is not None
    }
    if client_request_id is not None:
        fields["client_request_id"] = client_request_id
    root = _ROOT.get()
    if root is None:  # a root this module did not start: the core finds it
        if identity:
            otel_trace.get_current_span().set_attributes(identity)
        if fields:
            fb.enrich_session(metadata=fields)
        return
    if identity:
        root.otel_span.set_attributes(identity)
    if fields:
        fb.enrich_span(metadata=fields, span=root.otel_span)
