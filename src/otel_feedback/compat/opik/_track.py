"""Opik's ``@track``: each call of the function is a span; the outermost one is the trace."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import otel_feedback as fb
from otel_feedback.compat import _runtime
from otel_feedback.compat._runtime import tracer
from otel_feedback.compat._spans import (
    Run,
    arguments,
    bound,
    io_attributes,
    join_items,
    signature_of,
    wrap,
)
from otel_feedback.compat.opik._objects import (
    CURRENT_SPAN,
    CURRENT_TRACE,
    SDK,
    Span,
    Trace,
    end_open_spans,
    span_attributes,
)


def track(
    name: str | Callable[..., Any] | None = None,
    type: str = "general",
    tags: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    capture_input: bool = True,
    ignore_arguments: Sequence[str] | None = None,
    capture_output: bool = True,
    generations_aggregator: Callable[[list[Any]], Any] | None = None,
    flush: bool = False,
    project_name: str | None = None,
) -> Any:
    """Trace each call of the decorated function (sync, async or generator) as a span.

    ``@track`` or ``@track(name=, type=, tags=, metadata=, ...)``. The arguments become
    ``input.value`` and the result ``output.value`` (OpenInference), ``type`` the
    ``openinference.span.kind``, ``tags`` ``tag.tags``, ``metadata`` ``metadata.*``.
    Calls nest: a tracked call inside another is its child span. ``project_name`` has no
    OpenTelemetry counterpart and is ignored (name the service with ``OTEL_SERVICE_NAME``).
    """
    del project_name

    def decorate(func: Callable[..., Any]) -> Any:
        return _tracked(
            func,
            name if isinstance(name, str) else None,
            type,
            tags,
            metadata,
            capture_input,
            tuple(ignore_arguments or ()),
            capture_output,
            generations_aggregator,
            flush,
        )

    if callable(name):
        return decorate(name)
    return decorate


def _tracked(
    func: Callable[..., Any],
    name: str | None,
    span_type: str,
    tags: Sequence[str] | None,
    metadata: Mapping[str, Any] | None,
    capture_input: bool,
    ignore_arguments: tuple[str, ...],
    capture_output: bool,
    aggregator: Callable[[list[Any]], Any] | None,
    flush: bool,
) -> Any:
    signature = signature_of(func)
    span_name: str = name or getattr(func, "__name__", None) or "span"

    def begin(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Run:
        attributes = span_attributes(type=span_type, tags=tags)
        if capture_input:
            captured = arguments(signature, args, kwargs, ignore_arguments)
            attributes.update(io_attributes("input", captured))
        otel_span = tracer(SDK).start_span(span_name, attributes=attributes)
        trace_id = otel_span.get_span_context().trace_id
        outer = CURRENT_TRACE.get()
        if outer is not None and outer.otel_span.get_span_context().trace_id == trace_id:
            trace_handle = outer
        else:
            trace_handle = Trace(otel_span)
        handle = Span(otel_span, trace_handle)
        if metadata:
            fb.enrich_span(metadata=metadata, span=otel_span)
        return Run(
            otel_span,
            (lambda: bound(CURRENT_SPAN, handle), lambda: bound(CURRENT_TRACE, trace_handle)),
        )

    def end(run: Run, output: Any, error: BaseException | None) -> None:
        if capture_output and error is None and output is not None:
            run.span.set_attributes(io_attributes("output", output))
        run.finish(error)
        if flush:
            _runtime.flush()

    return wrap(func, begin, end, reduce=aggregator or join_items)


def flush_tracker(timeout: int | None = None) -> bool:
    """Export everything traced so far (Opik's ``opik.flush_tracker``); manual traces and
    spans still open are ended first, as :meth:`Opik.flush` does."""
    end_open_spans()
    return _runtime.flush((timeout or 30) * 1000)
