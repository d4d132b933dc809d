"""The helpers users call: ``enrich_span``, ``enrich_session``, ``log_feedback`` and tokens.

Each is a thin public function: shape the data (:mod:`otel_feedback.record`), then hand it
to :mod:`otel_feedback.delivery`, which writes it onto the span if it is open here or emits
a ``feedback`` span under it. Every helper runs under :func:`~otel_feedback.reporting.guarded`:
nothing raises into the caller unless strict mode is on (``strict=True`` or
``OTEL_FEEDBACK_STRICT=true``), and then only typed :class:`~otel_feedback.FeedbackError`\\ s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span as ApiSpan
from opentelemetry.trace import SpanContext

from otel_feedback import _sdk, delivery
from otel_feedback.context import current_session_id, current_user_id
from otel_feedback.conventions import NAMESPACES, SESSION_ID, USER_ID
from otel_feedback.errors import InvalidTargetError
from otel_feedback.record import build_feedback, now_ns, shape_namespaces
from otel_feedback.reporting import guarded, report
from otel_feedback.token import FeedbackToken

__all__ = [
    "NAMESPACES",
    "FeedbackTarget",
    "current_feedback_token",
    "enrich_session",
    "enrich_span",
    "log_feedback",
]

_current_span = _sdk.current_span_getter()
"""``trace.get_current_span``, without its per-call ABC check (see the function)."""

FeedbackTarget = str | FeedbackToken | ApiSpan | SpanContext
"""What ``target=`` accepts: a token string, a parsed token, a span or a span context."""


@guarded(None)
def enrich_span(
    feedback: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    user_properties: Mapping[str, Any] | None = None,
    *,
    span: ApiSpan | None = None,
    strict: bool | None = None,
) -> None:
    """Add nested feedback, metrics, metadata or user properties to a span (default: current).

    Updates, never overwrites: leaf keys are added or replaced, earlier keys stay. On a span
    that has ended, the attributes go onto a ``feedback`` span under it.
    """
    attributes = shape_namespaces(feedback, metrics, metadata, user_properties)
    if not attributes:
        return
    if span is None:
        target_span = _current_span()
    elif _is_span(span, "enrich_span"):
        target_span = span
    else:
        return
    if not delivery.deliver_to_span(target_span, attributes):
        report(
            "no_target",
            InvalidTargetError(
                "enrich_span() found no current span; call it inside "
                "tracer.start_as_current_span(...) or pass span="
            ),
        )


def _is_span(span: object, helper: str) -> bool:
    """Whether ``span=`` is ``None`` or an OpenTelemetry span (else reported)."""
    if span is None or isinstance(span, ApiSpan):
        return True
    report(
        "invalid_target",
        InvalidTargetError(
            f"{helper}(span=...) takes an OpenTelemetry span, got a {type(span).__name__}"
        ),
    )
    return False


@guarded(None)
def enrich_session(
    feedback: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    user_properties: Mapping[str, Any] | None = None,
    *,
    strict: bool | None = None,
) -> None:
    """Like :func:`enrich_span`, for the local root span of the current trace (the session)."""
    attributes = shape_namespaces(feedback, metrics, metadata, user_properties)
    if not attributes:
        return
    current = trace.get_current_span()
    span_context = current.get_span_context()
    if not span_context.is_valid:
        report(
            "no_target",
            InvalidTargetError("enrich_session() found no current span, so no trace to enrich"),
        )
        return
    root_id = delivery.root_span_id(span_context.trace_id, current)
    if root_id is None:
        report(
            "no_target",
            InvalidTargetError(
                "the root span of the current trace is unknown; add "
                "otel_feedback.FeedbackSpanProcessor() to your TracerProvider"
            ),
        )
        return
    target = delivery.Target(span_context.trace_id, root_id, span_context.trace_flags.sampled)
    delivery.deliver(
        target, attributes, span=current if root_id == span_context.span_id else None
    )


@guarded(None)
def current_feedback_token(
    span: ApiSpan | None = None,
    *,
    secret: str | bytes | None = None,
    include_identity: bool = True,
    strict: bool | None = None,
) -> str | None:
    """A token for the current span (or ``span``) to hand to a frontend with the response.

    Pass it back as ``log_feedback(..., target=token)``, in any process, at any later time.
    Tokens carry the session and user ids in the clear (signed when a secret is set, never
    encrypted); ``include_identity=False`` leaves them out.
    """
    if not _is_span(span, "current_feedback_token"):
        return None
    target_span = span if span is not None else trace.get_current_span()
    span_context = target_span.get_span_context()
    if not span_context.is_valid:
        report("no_target", InvalidTargetError("current_feedback_token() found no current span"))
        return None
    session_id = user_id = None
    if include_identity:
        attributes = getattr(target_span, "attributes", None) or {}
        if span is None:  # the current span: the context's identity is the freshest
            session_id = current_session_id() or attributes.get(SESSION_ID)
            user_id = current_user_id() or attributes.get(USER_ID)
        else:  # a span handed in: its own identity, whatever the current context says
            session_id = attributes.get(SESSION_ID) or current_session_id()
            user_id = attributes.get(USER_ID) or current_user_id()
    issued_at_ns = now_ns()
    ended_at_ns = getattr(target_span, "end_time", None)
    if isinstance(ended_at_ns, int) and ended_at_ns < issued_at_ns:
        issued_at_ns = ended_at_ns  # issued after the span ended: keep inside its lifetime
    delivery.track(target_span)
    token = FeedbackToken(
        trace_id=span_context.trace_id,
        span_id=span_context.span_id,
        issued_at_ns=issued_at_ns,
        root_span_id=delivery.root_span_id(span_context.trace_id, target_span),
        sampled=span_context.trace_flags.sampled,
        session_id=session_id if isinstance(session_id, str) else None,
        user_id=user_id if isinstance(user_id, str) else None,
    )
    return token.encode(secret)


@guarded(None)
def log_feedback(
    name: str,
    value: Any,
    *,
    target: FeedbackTarget | None = None,
    trace_id: str | int | None = None,
    span_id: str | int | None = None,
    source: str | None = "HUMAN",
    source_id: str | None = None,
    reason: str | None = None,
    label: str | None = None,
    kind: str = "explicit",
    metadata: Mapping[str, Any] | None = None,
    timestamp: dt.datetime | int | str | None = None,
    error: str | BaseException | None = None,
    feedback_id: str | None = None,
    tracer_provider: trace.TracerProvider | None = None,
    strict: bool | None = None,
) -> str | None:
    """Record one feedback on a span and return its id (``None`` if it was dropped).

    The target is ``target`` (a token from :func:`current_feedback_token`, a span or a span
    context), else ``trace_id`` + ``span_id`` (hex), else ``trace_id`` alone (the trace's
    root span), else ``span_id`` alone (a span this process tracks), else the current span.
    Sets ``feedback.<name>`` and adds a ``gen_ai.evaluation.result`` event; on an ended or
    remote span, emits a ``feedback`` span. ``timestamp`` (datetime, ns, or ISO 8601) is when
    the feedback was given; ``error`` records an evaluation that failed (``value`` may then be
    ``None``); ``feedback_id`` (32 hex) makes a retry idempotent.
    """
    feedback = build_feedback(
        name,
        value,
        source=source,
        source_id=source_id,
        reason=reason,
        label=label,
        kind=kind,
        metadata=metadata,
        timestamp=timestamp,
        error=error,
        feedback_id=feedback_id,
    )
    if feedback is None:
        return None
    resolved = delivery.resolve(target, trace_id, span_id)
    if resolved is None:
        return None
    sent = delivery.deliver(
        resolved.target,
        feedback.state,
        feedback,
        span=resolved.span,
        issued_at_ns=resolved.issued_at_ns,
        tracer_provider=tracer_provider,
    )
    return feedback.feedback_id if sent else None
