"""The helpers users call: ``enrich_span``, ``enrich_session``, ``log_feedback`` and friends.

Feedback for a span that is still open in this process is written onto it. Feedback for a
span that has ended, or lives in another process, becomes a ``feedback`` span under it
(:mod:`otel_feedback._emit`). None of these helpers raises into the caller unless strict
mode is on (argument ``strict=True`` or ``OTEL_FEEDBACK_STRICT=true``).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ParamSpec, TypeVar, cast

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import Span as ApiSpan
from opentelemetry.trace import SpanContext

from otel_feedback import _spanwrite
from otel_feedback._diagnostics import count, is_strict, logger, report
from otel_feedback._emit import (
    Target,
    emit_feedback_span,
    emit_log_record,
    tracer_provider_or_report,
)
from otel_feedback.context import current_session_id, current_user_id
from otel_feedback.errors import (
    FeedbackError,
    InvalidFeedbackError,
    InvalidTargetError,
    InvalidTokenError,
)
from otel_feedback.flatten import Attributes, flatten
from otel_feedback.ids import parse_span_id, parse_trace_id
from otel_feedback.processor import FeedbackSpanProcessor, active_processors
from otel_feedback.record import EVENT_NAME, Feedback, build_feedback
from otel_feedback.token import FeedbackToken, now_ns, parse_feedback_token

NAMESPACES = ("feedback", "metrics", "metadata", "user_properties")
"""Attribute namespaces ``enrich_span`` / ``enrich_session`` write."""

FeedbackTarget = str | FeedbackToken | ApiSpan | SpanContext
"""What ``target=`` accepts: a token string, a parsed token, a span or a span context."""

P = ParamSpec("P")
R = TypeVar("R")


def _never_raise(default: Any) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Typed errors pass through in strict mode; nothing else ever reaches the caller."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return function(*args, **kwargs)
            except FeedbackError:
                strict = kwargs.get("strict")
                if is_strict(strict if isinstance(strict, bool) else None):
                    raise
                return cast(R, default)
            except Exception:  # noqa: BLE001 - instrumentation must not break the host app
                count("internal_error")
                logger.exception("otel_feedback.%s failed; feedback dropped", function.__name__)
                return cast(R, default)

        return guarded

    return decorate


# -- enrich_span / enrich_session --------------------------------------------------------------


def _namespaced(
    feedback: Mapping[str, Any] | None,
    metrics: Mapping[str, Any] | None,
    metadata: Mapping[str, Any] | None,
    user_properties: Mapping[str, Any] | None,
    strict: bool | None,
) -> Attributes:
    """The four namespaces flattened into one set of attributes."""
    if metrics is None and metadata is None and user_properties is None and (
        type(feedback) is dict
    ):
        return flatten(feedback, "feedback", strict=strict)  # the usual call, directly
    attributes: Attributes = {}
    values = zip(NAMESPACES, (feedback, metrics, metadata, user_properties), strict=True)
    for namespace, value in values:
        if value is None:
            continue
        if not isinstance(value, Mapping):
            report(
                "invalid_value",
                InvalidFeedbackError(
                    f"{namespace}= must be a mapping such as {{'rating': 5}}, "
                    f"got {type(value).__name__}; ignored"
                ),
                strict,
            )
            continue
        attributes.update(flatten(value, prefix=namespace, strict=strict))
    return attributes


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
    # Guarded inline rather than by @_never_raise: this is the hot path of the library.
    try:
        attributes = _namespaced(feedback, metrics, metadata, user_properties, strict)
        if not attributes:
            return
        target_span = span if span is not None else trace.get_current_span()
        if target_span.is_recording():
            overflow = _spanwrite.write(cast(Any, target_span), attributes)
            if overflow is not None:  # written; None means it ended meanwhile
                if overflow:
                    _spill(_target_of(target_span), overflow, len(attributes), None, strict)
                return
        _enrich_not_recording(target_span, attributes, strict)
    except FeedbackError:
        if is_strict(strict):
            raise
    except Exception:  # noqa: BLE001 - instrumentation must not break the host app
        count("internal_error")
        logger.exception("otel_feedback.enrich_span failed; feedback dropped")


def _target_of(span: ApiSpan) -> Target:
    span_context = span.get_span_context()
    return Target(span_context.trace_id, span_context.span_id, span_context.trace_flags.sampled)


def _enrich_not_recording(
    target_span: ApiSpan, attributes: Attributes, strict: bool | None
) -> None:
    """An ended span gets a ``feedback`` span; no span at all is reported."""
    span_context = target_span.get_span_context()
    if not span_context.is_valid:
        report(
            "no_target",
            InvalidTargetError(
                "enrich_span() found no current span; call it inside "
                "tracer.start_as_current_span(...) or pass span="
            ),
            strict,
        )
        return
    _deliver(
        _target_of(target_span),
        attributes,
        None,
        candidate=target_span,
        issued_at_ns=None,
        strict=strict,
    )


@_never_raise(None)
def enrich_session(
    feedback: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    user_properties: Mapping[str, Any] | None = None,
    *,
    strict: bool | None = None,
) -> None:
    """Like :func:`enrich_span`, for the local root span of the current trace (the session)."""
    attributes = _namespaced(feedback, metrics, metadata, user_properties, strict)
    if not attributes:
        return
    current = trace.get_current_span()
    span_context = current.get_span_context()
    if not span_context.is_valid:
        report(
            "no_target",
            InvalidTargetError("enrich_session() found no current span, so no trace to enrich"),
            strict,
        )
        return
    root_id = _root_span_id(span_context.trace_id, current)
    if root_id is None:
        report(
            "no_target",
            InvalidTargetError(
                "the root span of the current trace is unknown; add "
                "otel_feedback.FeedbackSpanProcessor() to your TracerProvider"
            ),
            strict,
        )
        return
    _deliver(
        Target(span_context.trace_id, root_id, span_context.trace_flags.sampled),
        attributes,
        None,
        candidate=current if root_id == span_context.span_id else None,
        issued_at_ns=None,
        strict=strict,
    )


def _root_span_id(trace_id: int, current: ApiSpan | None) -> int | None:
    if isinstance(current, ReadableSpan) and (current.parent is None or current.parent.is_remote):
        return current.get_span_context().span_id  # the current span is itself a local root
    for processor in active_processors():
        root = processor.root_of(trace_id)
        if root is not None:
            return root.span_id
    return None


# -- tokens ----------------------------------------------------------------------------------


@_never_raise(None)
def current_feedback_token(
    span: ApiSpan | None = None,
    *,
    secret: str | bytes | None = None,
    strict: bool | None = None,
) -> str | None:
    """A token for the current span (or ``span``) to hand to a frontend with the response.

    Pass it back as ``log_feedback(..., target=token)``, in any process, at any later time.
    """
    target_span = span if span is not None else trace.get_current_span()
    span_context = target_span.get_span_context()
    if not span_context.is_valid:
        report(
            "no_target",
            InvalidTargetError("current_feedback_token() found no current span"),
            strict,
        )
        return None
    attributes = getattr(target_span, "attributes", None) or {}
    if span is None:  # the current span: the context's identity is the freshest
        session_id = current_session_id() or attributes.get("session.id")
        user_id = current_user_id() or attributes.get("user.id")
    else:  # a span handed in: its own identity, whatever the current context says
        session_id = attributes.get("session.id") or current_session_id()
        user_id = attributes.get("user.id") or current_user_id()
    issued_at_ns = now_ns()
    ended_at_ns = getattr(target_span, "end_time", None)
    if isinstance(ended_at_ns, int) and ended_at_ns < issued_at_ns:
        issued_at_ns = ended_at_ns  # issued after the span ended: keep inside its lifetime
    token = FeedbackToken(
        trace_id=span_context.trace_id,
        span_id=span_context.span_id,
        issued_at_ns=issued_at_ns,
        root_span_id=_root_span_id(span_context.trace_id, target_span),
        sampled=span_context.trace_flags.sampled,
        session_id=session_id if isinstance(session_id, str) else None,
        user_id=user_id if isinstance(user_id, str) else None,
    )
    return token.encode(secret)


# -- log_feedback ------------------------------------------------------------------------------


@_never_raise(None)
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
    timestamp: dt.datetime | int | None = None,
    tracer_provider: trace.TracerProvider | None = None,
    strict: bool | None = None,
) -> str | None:
    """Record one feedback on a span and return its id (``None`` if it was dropped).

    The target is ``target`` (a token from :func:`current_feedback_token`, a span or a span
    context), else ``trace_id`` + ``span_id`` (hex), else ``trace_id`` alone (the trace's
    root span), else the current span. Sets ``feedback.<name>`` and adds a
    ``gen_ai.evaluation.result`` event; on an ended or remote span, emits a ``feedback`` span.
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
        strict=strict,
    )
    if feedback is None:
        return None
    resolved = _resolve_target(target, trace_id, span_id, strict)
    if resolved is None:
        return None
    found, candidate, issued_at_ns = resolved
    delivered = _deliver(
        found,
        feedback.state,
        feedback,
        candidate=candidate,
        issued_at_ns=issued_at_ns,
        strict=strict,
        tracer_provider=tracer_provider,
    )
    return feedback.feedback_id if delivered else None


def _resolve_target(
    target: FeedbackTarget | None,
    trace_id: str | int | None,
    span_id: str | int | None,
    strict: bool | None,
) -> tuple[Target, ApiSpan | None, int | None] | None:
    """Work out which span feedback is for: (target, span object if at hand, token time)."""
    try:
        if target is not None:
            if trace_id is not None or span_id is not None:
                raise InvalidTargetError("pass either target= or trace_id=/span_id=, not both")
            return _from_target(target)
        if trace_id is not None:
            parsed_trace = parse_trace_id(trace_id)
            parsed_span = parse_span_id(span_id) if span_id is not None else None
            return Target(parsed_trace, parsed_span), None, None
        if span_id is not None:
            raise InvalidTargetError("span_id= needs trace_id= too (span ids are per trace)")
    except InvalidTargetError as error:
        report("invalid_target", error, strict)
        return None
    current = trace.get_current_span()
    span_context = current.get_span_context()
    if not span_context.is_valid:
        report(
            "no_target",
            InvalidTargetError(
                "log_feedback() has no target: there is no current span; pass target= (a token "
                "from current_feedback_token()) or trace_id= and span_id="
            ),
            strict,
        )
        return None
    return (
        Target(span_context.trace_id, span_context.span_id, span_context.trace_flags.sampled),
        current,
        None,
    )


def _from_target(target: object) -> tuple[Target, ApiSpan | None, int | None]:
    if isinstance(target, str):
        target = parse_feedback_token(target)
    if isinstance(target, FeedbackToken):
        return (
            Target(
                target.trace_id,
                target.span_id,
                target.sampled,
                target.session_id,
                target.user_id,
            ),
            None,
            target.issued_at_ns,
        )
    if isinstance(target, ApiSpan):
        span_context = target.get_span_context()
        if not span_context.is_valid:
            raise InvalidTargetError("target= is a span with an invalid (all-zero) context")
        return (
            Target(span_context.trace_id, span_context.span_id, span_context.trace_flags.sampled),
            target,
            None,
        )
    if isinstance(target, SpanContext):
        if not target.is_valid:
            raise InvalidTargetError("target= is an invalid (all-zero) span context")
        return Target(target.trace_id, target.span_id, target.trace_flags.sampled), None, None
    raise InvalidTokenError(
        f"target= must be a feedback token string, a FeedbackToken, a span or a span context, "
        f"got {type(target).__name__}"
    )


# -- delivery ----------------------------------------------------------------------------------


def _deliver(
    target: Target,
    state: Attributes,
    feedback: Feedback | None,
    *,
    candidate: ApiSpan | None,
    issued_at_ns: int | None,
    strict: bool | None,
    tracer_provider: trace.TracerProvider | None = None,
) -> bool:
    """Write onto the open span if it is here, else emit a ``feedback`` span; True if sent."""
    processors = _owners_first(target, active_processors())
    if target.span_id is None:
        for processor in processors:
            root = processor.root_of(target.trace_id)
            if root is not None:
                target = Target(target.trace_id, root.span_id, target.sampled)
                break
    event = (EVENT_NAME, feedback.event) if feedback is not None else None
    span = _open_span(target, candidate, processors)
    if span is not None:
        overflow = _spanwrite.write(span, state, event)
        if overflow is not None:
            if overflow:
                _spill(target, overflow, len(state), tracer_provider, strict, processors)
            _emit_log(target, feedback, now_ns(), processors)
            return True
    ended_ns = _remembered_end(target, candidate, processors)
    at_ns = issued_at_ns or ended_ns or now_ns()
    if ended_ns and at_ns > ended_ns:
        at_ns = ended_ns  # a token issued after the span ended: stay inside its lifetime
    if feedback is not None:
        state = {**state, "feedback.timestamp": feedback.event["feedback.timestamp"]}
    if not _emit_late(target, state, event, at_ns, processors, tracer_provider, strict):
        return False
    _emit_log(target, feedback, at_ns, processors)
    return True


def _spill(
    target: Target,
    overflow: Attributes,
    total: int,
    tracer_provider: trace.TracerProvider | None,
    strict: bool | None,
    processors: list[FeedbackSpanProcessor] | None = None,
) -> None:
    """Put what did not fit on an open span onto a ``feedback`` child span, and say so."""
    report_overflow(len(overflow), total)
    if processors is None:
        processors = _owners_first(target, active_processors())
    _emit_late(target, overflow, None, now_ns(), processors, tracer_provider, strict)


def report_overflow(overflowing: int, total: int) -> None:
    """Log that some attributes went onto a ``feedback`` child span for lack of room."""
    count("attribute_budget", overflowing)
    logger.warning(
        "%d of %d feedback attributes did not fit under the span's attribute limit; they are "
        "on a 'feedback' child span instead (raise OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT to keep "
        "them on the span)",
        overflowing,
        total,
    )


def _owners_first(
    target: Target, processors: list[FeedbackSpanProcessor]
) -> list[FeedbackSpanProcessor]:
    """Processors that track the target (so its provider emits the feedback span) first."""
    if len(processors) < 2:
        return processors

    def foreign(processor: FeedbackSpanProcessor) -> bool:
        span_id = target.span_id
        if span_id is not None and (
            processor.open_span(span_id) is not None or processor.end_time_of(span_id)
        ):
            return False
        return processor.root_of(target.trace_id) is None

    return sorted(processors, key=foreign)


def _open_span(
    target: Target, candidate: ApiSpan | None, processors: list[FeedbackSpanProcessor]
) -> Any:
    if target.span_id is None:
        return None
    if (
        candidate is not None
        and candidate.is_recording()
        and candidate.get_span_context().span_id == target.span_id
    ):
        return candidate
    for processor in processors:
        span = processor.open_span(target.span_id)
        if span is not None and span.context.trace_id == target.trace_id:
            return span
    return None


def _remembered_end(
    target: Target, candidate: ApiSpan | None, processors: list[FeedbackSpanProcessor]
) -> int | None:
    end = getattr(candidate, "end_time", None)
    if isinstance(end, int):
        return end
    if target.span_id is None:
        return None
    for processor in processors:
        end = processor.end_time_of(target.span_id)
        if end:
            return end
    for processor in processors:  # the root's end outlives the bounded table of ended spans
        root = processor.root_of(target.trace_id)
        if root is not None and root.span_id == target.span_id and root.end_time:
            return root.end_time
    return None


def _emit_late(
    target: Target,
    state: Attributes,
    event: tuple[str, Attributes] | None,
    at_ns: int,
    processors: list[FeedbackSpanProcessor],
    tracer_provider: trace.TracerProvider | None,
    strict: bool | None,
) -> bool:
    if not target.sampled:
        count("not_sampled")
        logger.debug("feedback for an unsampled span dropped")
        return False
    provider = tracer_provider
    if provider is None:
        provider = next((p.tracer_provider for p in processors if p.tracer_provider), None)
    checked = tracer_provider_or_report(provider, strict)
    if checked is None:
        return False
    emit_feedback_span(checked, target, state, event, at_ns)
    return True


def _emit_log(
    target: Target,
    feedback: Feedback | None,
    at_ns: int,
    processors: list[FeedbackSpanProcessor],
) -> bool:
    if feedback is None:
        return False
    for processor in processors:
        if processor.emit_log_records:
            emit_log_record(
                processor.logger_provider,
                target,
                {**feedback.state, **feedback.event},
                at_ns,
                feedback.given_at_ns,
            )
            return True
    return False


# -- Opik-shaped batches ---------------------------------------------------------------------


def _log_scores(
    scores: Iterable[Mapping[str, Any]],
    id_key: str,
    strict: bool | None,
    tracer_provider: trace.TracerProvider | None,
) -> list[str | None]:
    results: list[str | None] = []
    for index, score in enumerate(scores):
        if not isinstance(score, Mapping) or "name" not in score or "value" not in score:
            report(
                "invalid_value",
                InvalidFeedbackError(
                    f"score #{index} must be a mapping with 'id', 'name' and 'value'"
                    + (" and 'trace_id'" if id_key == "span" else "")
                ),
                strict,
            )
            results.append(None)
            continue
        ids: dict[str, Any] = (
            {"trace_id": score.get("id")}
            if id_key == "trace"
            else {"trace_id": score.get("trace_id"), "span_id": score.get("id")}
        )
        if ids["trace_id"] is None:
            report(
                "invalid_target",
                InvalidTargetError(
                    f"score #{index} has no {'id' if id_key == 'trace' else 'trace_id'}"
                ),
                strict,
            )
            results.append(None)
            continue
        results.append(
            log_feedback(
                score["name"],
                score["value"],
                **ids,
                reason=score.get("reason"),
                label=score.get("category_name"),
                source=score.get("source", "HUMAN"),
                source_id=score.get("source_id"),
                kind=score.get("kind", "explicit"),
                metadata=score.get("metadata"),
                tracer_provider=tracer_provider,
                strict=strict,
            )
        )
    return results


@_never_raise([])
def log_traces_feedback_scores(
    scores: Iterable[Mapping[str, Any]],
    *,
    tracer_provider: trace.TracerProvider | None = None,
    strict: bool | None = None,
) -> list[str | None]:
    """Opik-style batch of trace scores: ``{"id": trace_id, "name", "value", "reason",
    "category_name"}``; ``category_name`` becomes the label. Returns each feedback id."""
    return _log_scores(scores, "trace", strict, tracer_provider)


@_never_raise([])
def log_spans_feedback_scores(
    scores: Iterable[Mapping[str, Any]],
    *,
    tracer_provider: trace.TracerProvider | None = None,
    strict: bool | None = None,
) -> list[str | None]:
    """Opik-style batch of span scores: ``{"id": span_id, "trace_id", "name", "value",
    "reason", "category_name"}``. Returns each feedback id (``None`` where dropped)."""
    return _log_scores(scores, "span", strict, tracer_provider)
