"""HoneyHive's API on OpenTelemetry:
``from otel_feedback.compat.honeyhive import HoneyHiveTracer, trace, enrich_span, enrich_session``.

- ``HoneyHiveTracer.init(api_key=, project=, session_name=, session_id=, ...)`` sets up
  OpenTelemetry (:func:`otel_feedback.configure`, ``project`` as ``service.name``) when no
  provider is set, and starts a session: every span of a ``@trace``-d call carries
  ``session.id`` (the ``session_id`` given, else a new UUID). The API key is ignored.
- ``@trace`` / ``@atrace``: a span per call, arguments as ``input.value``, result as
  ``output.value``, ``event_type`` as ``openinference.span.kind``.
- ``enrich_span(...)`` / ``enrich_session(...)`` with ``feedback``, ``metrics``, ``metadata``,
  ``user_properties`` (``<namespace>.*`` attributes), ``config`` (``config.*``), ``inputs`` /
  ``outputs`` (``input.value`` / ``output.value``); a plain dict or extra keywords go to
  ``metadata``, as in HoneyHive.

``enrich_session`` inside a trace enriches the trace's root span. Without one (outside any
span, or ``session_id=`` of a session started elsewhere, even in another process), it exports a
session record: a zero-duration ``feedback`` span carrying ``session.id`` and the attributes,
found with the session's traces by a ``session.id`` search (it is not nested under them, as no
span of that session is known here).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

from opentelemetry import trace as otel_trace
from opentelemetry.trace import Span as OtelSpan
from opentelemetry.trace import Status, StatusCode

import otel_feedback as fb
from otel_feedback.compat import _runtime
from otel_feedback.compat._runtime import tracer
from otel_feedback.compat._session import session_record
from otel_feedback.compat._spans import (
    Binder,
    Run,
    arguments,
    bound,
    decorator_or_call,
    io_attributes,
    merged_io,
    signature_of,
    wrap,
)
from otel_feedback.compat.honeyhive import models
from otel_feedback.conventions import CONFIG, OPENINFERENCE_SPAN_KIND, SESSION_ID
from otel_feedback.errors import InvalidTargetError
from otel_feedback.reporting import count, guarded, logger, report

__all__ = [
    "HoneyHiveTracer",
    "atrace",
    "enrich_session",
    "enrich_span",
    "flush",
    "models",
    "set_default_tracer",
    "trace",
]

SDK = "honeyhive"

EVENT_KINDS = {"model": "LLM", "tool": "TOOL", "chain": "CHAIN", "session": "CHAIN"}
"""HoneyHive event types as OpenInference span kinds."""

_ROOT: contextvars.ContextVar[OtelSpan | None] = contextvars.ContextVar(
    "otel_feedback_honeyhive_root", default=None
)


class HoneyHiveTracer:
    """A HoneyHive session on OpenTelemetry; ``init(...)`` makes it the default one."""

    _default: ClassVar[HoneyHiveTracer | None] = None
    session_id: str | None = None
    """This tracer's session; on the class, the session of the last ``init`` (HoneyHive's
    ``HoneyHiveTracer.session_id``, to hand to another service)."""

    def __init__(
        self,
        api_key: str | None = None,
        project: str | None = None,
        session_name: str | None = None,
        source: str | None = None,
        server_url: str | None = None,
        session_id: str | None = None,
        **options: Any,
    ) -> None:
        del api_key, server_url, options  # a vendor account is not needed
        self.project = project
        self.source = source
        self.session_name = session_name
        self.session_id = str(session_id) if session_id else str(uuid.uuid4())
        # The project names the service, unless OTEL_SERVICE_NAME does.
        named = None if os.environ.get("OTEL_SERVICE_NAME") else project
        _runtime.ensure_provider(service_name=named)
        if HoneyHiveTracer._default is None:
            set_default_tracer(self)

    @classmethod
    def init(
        cls,
        api_key: str | None = None,
        project: str | None = None,
        session_name: str | None = None,
        source: str | None = None,
        server_url: str | None = None,
        session_id: str | None = None,
        **options: Any,
    ) -> HoneyHiveTracer:
        """Set up OpenTelemetry if needed and start (or, with ``session_id``, continue) a
        session; the API key and server are ignored."""
        tracer_ = cls(api_key, project, session_name, source, server_url, session_id, **options)
        set_default_tracer(tracer_)
        return tracer_

    @contextlib.contextmanager
    def start_span(
        self, name: str, attributes: Mapping[str, Any] | None = None
    ) -> Iterator[OtelSpan]:
        """``with tracer.start_span("operation") as span:`` a span of this session, current
        inside (the OpenTelemetry span: ``span.set_attribute(...)``)."""
        session = fb.using_session(self.session_id) if self.session_id else None
        with (
            session or contextlib.nullcontext(),
            tracer(SDK).start_as_current_span(
                name, attributes={**(attributes or {}), SESSION_ID: self.session_id}
            ) as span,
        ):
            yield span

    def enrich_session(self, *args: Any, **kwargs: Any) -> None:
        """:func:`enrich_session` for this tracer's session."""
        enrich_session(*args, tracer=self, **kwargs)

    def enrich_span(self, *args: Any, **kwargs: Any) -> None:
        """:func:`enrich_span`."""
        enrich_span(*args, **kwargs)

    @classmethod
    def flush(cls) -> bool:
        """Export everything traced so far."""
        return _runtime.flush()

    force_flush = flush

    def __repr__(self) -> str:
        return f"HoneyHiveTracer(project={self.project!r}, session_id={self.session_id!r})"


def set_default_tracer(tracer_: HoneyHiveTracer) -> None:
    """The tracer whose session ``@trace`` and ``enrich_session`` use by default."""
    HoneyHiveTracer._default = tracer_
    HoneyHiveTracer.session_id = tracer_.session_id


def _session_id() -> str | None:
    """The session of the current context, else of the default tracer."""
    current = fb.current_session_id()
    if current:
        return current
    default = HoneyHiveTracer._default
    return default.session_id if default is not None else None


def _session_of(tracer_: HoneyHiveTracer | None) -> str | None:
    return tracer_.session_id if tracer_ is not None else _session_id()


# -- @trace -----------------------------------------------------------------------------------


def trace(
    func: Callable[..., Any] | None = None,
    *,
    event_type: str | None = None,
    event_name: str | None = None,
    config: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    tracer: HoneyHiveTracer | None = None,
    **options: Any,
) -> Any:
    """``@trace`` or ``@trace(event_type=, event_name=, config=, metadata=)``: a span per call
    (sync, async or generator) in the current session."""
    del options

    def decorate(target: Callable[..., Any]) -> Any:
        signature = signature_of(target)
        name: str = event_name or getattr(target, "__name__", None) or "event"

        def begin(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Run:
            attributes: dict[str, Any] = io_attributes("input", arguments(signature, args, kwargs))
            if event_type is not None:
                kind = str(getattr(event_type, "value", event_type))
                attributes[OPENINFERENCE_SPAN_KIND] = EVENT_KINDS.get(kind, "UNKNOWN")
            if config:
                attributes.update(fb.flatten(config, prefix=CONFIG))
            session = _session_of(tracer)
            binders: list[Binder] = []
            if session:
                attributes[SESSION_ID] = session
                if fb.current_session_id() != session:
                    binders.append(lambda: fb.using_session(session))
            otel_span = _start(name, attributes)
            if metadata:
                fb.enrich_span(metadata=metadata, span=otel_span)
            if _is_local_root(otel_span):  # the root of the trace in this process
                binders.append(lambda: bound(_ROOT, otel_span))
            return Run(otel_span, binders)

        def end(run: Run, output: Any, error: BaseException | None) -> None:
            if error is None and output is not None:
                run.span.set_attributes(io_attributes("output", output))
            run.finish(error)

        return wrap(target, begin, end)

    return decorator_or_call(func, decorate)


atrace = trace


def _start(name: str, attributes: dict[str, Any]) -> OtelSpan:
    return tracer(SDK).start_span(name, attributes=attributes)


def _is_local_root(span: OtelSpan) -> bool:
    parent = getattr(span, "parent", None)
    return parent is None or bool(parent.is_remote)


# -- enrich_span / enrich_session ----------------------------------------------------------


def _extra_attributes(
    span: OtelSpan | None,
    config: Mapping[str, Any] | None,
    inputs: Any,
    outputs: Any,
) -> dict[str, Any]:
    """``config.*``, ``input.value`` and ``output.value`` (inputs/outputs update a JSON
    object already on ``span``)."""
    attributes: dict[str, Any] = {}
    if config:
        attributes.update(fb.flatten(config, prefix=CONFIG))
    for key, value in (("input", inputs), ("output", outputs)):
        if value is not None:
            attributes.update(
                merged_io(span, key, value) if span is not None else io_attributes(key, value)
            )
    return attributes


def _metadata(
    attributes: Mapping[str, Any] | None,
    metadata: Mapping[str, Any] | None,
    extra: Mapping[str, Any],
) -> dict[str, Any] | None:
    merged = {**(attributes or {}), **(metadata or {}), **extra}
    return merged or None


def _write(
    span: OtelSpan,
    namespaces: dict[str, Any],
    extra: dict[str, Any],
    error: str | None = None,
) -> None:
    """Namespaces through ``enrich_span`` (late span if ended); the rest straight on."""
    if any(value is not None for value in namespaces.values()):
        fb.enrich_span(**namespaces, span=span)
    if not extra and error is None:
        return
    if not span.is_recording():
        count("span_ended")
        logger.warning(
            "config, inputs, outputs and error can no longer change on a span that has "
            "ended; %d attributes dropped",
            len(extra),
        )
        return
    span.set_attributes(extra)
    if error is not None:
        span.set_status(Status(StatusCode.ERROR, str(error)))


@guarded(None)
def enrich_span(
    attributes: Mapping[str, Any] | None = None,
    *,
    metadata: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    feedback: Mapping[str, Any] | None = None,
    inputs: Any = None,
    outputs: Any = None,
    config: Mapping[str, Any] | None = None,
    user_properties: Mapping[str, Any] | None = None,
    error: str | None = None,
    event_id: str | None = None,
    tracer: HoneyHiveTracer | None = None,
    **kwargs: Any,
) -> None:
    """Add to the current span; updates, never overwrites (a later call adds and replaces
    leaf keys). A plain dict (``attributes``) and extra keywords go to ``metadata``."""
    del event_id, tracer
    span = otel_trace.get_current_span()
    if not span.get_span_context().is_valid:
        report(
            "no_target",
            InvalidTargetError("enrich_span() found no current span; call it in a @trace-d call"),
        )
        return
    namespaces = {
        "feedback": feedback,
        "metrics": metrics,
        "metadata": _metadata(attributes, metadata, kwargs),
        "user_properties": user_properties,
    }
    _write(span, namespaces, _extra_attributes(span, config, inputs, outputs), error)


@guarded(None)
def enrich_session(
    session_id: str | Mapping[str, Any] | None = None,
    *,
    metadata: Mapping[str, Any] | None = None,
    inputs: Any = None,
    outputs: Any = None,
    config: Mapping[str, Any] | None = None,
    feedback: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    user_properties: Mapping[str, Any] | None = None,
    tracer: HoneyHiveTracer | None = None,
    **kwargs: Any,
) -> None:
    """Add to the session: the root span of the current trace, or (outside a trace, or for
    ``session_id`` of another session) a session record carrying ``session.id``.

    A plain dict (``tracer.enrich_session({...})``) and extra keywords go to ``metadata``.
    """
    attributes: Mapping[str, Any] | None = None
    if isinstance(session_id, Mapping):  # tracer.enrich_session({...}): a plain dict
        attributes, session_id = session_id, None
    namespaces = {
        "feedback": feedback,
        "metrics": metrics,
        "metadata": _metadata(attributes, metadata, kwargs),
        "user_properties": user_properties,
    }
    current_session = _session_of(tracer)
    target = str(session_id) if session_id else current_session
    span = otel_trace.get_current_span()
    in_trace = span.get_span_context().is_valid
    span_session = (getattr(span, "attributes", None) or {}).get(SESSION_ID)
    if in_trace and (session_id is None or target in (span_session, fb.current_session_id())):
        root = _ROOT.get()
        if root is not None and root.get_span_context().trace_id == (
            span.get_span_context().trace_id
        ):
            _write(root, namespaces, _extra_attributes(root, config, inputs, outputs))
            return
        fb.enrich_session(  # a root started elsewhere: the core finds it
            feedback=namespaces["feedback"],
            metrics=namespaces["metrics"],
            metadata=namespaces["metadata"],
            user_properties=namespaces["user_properties"],
        )
        extra = _extra_attributes(None, config, inputs, outputs)
        if extra:
            count("unsupported")
            logger.warning(
                "enrich_session(): config, inputs and outputs are written only on roots "
                "started by @trace; %d attributes dropped",
                len(extra),
            )
        return
    if not target:
        report(
            "no_target",
            InvalidTargetError(
                "enrich_session() has no session: call HoneyHiveTracer.init(...) first or "
                "pass session_id="
            ),
        )
        return
    session_record(
        SDK,
        target,
        attributes=_extra_attributes(None, config, inputs, outputs),
        namespaces={key: value for key, value in namespaces.items() if value is not None},
    )


def flush() -> bool:
    """Export everything traced so far."""
    return _runtime.flush()
