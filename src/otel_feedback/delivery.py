"""One route for every write (docs/DESIGN.md §3): onto the open span, else a late span / log record.

Every helper of :mod:`otel_feedback.api` ends here, after :mod:`otel_feedback.record` has
validated and shaped its data:

1. **Resolve** what the feedback is about (:func:`resolve`): a token, a span, a span
   context, trace and span ids, or the current span.
2. **Route** it (:func:`deliver`): the registered :class:`FeedbackSpanProcessor` that tracks
   the target span or its trace's root is its *owner* (see
   :class:`~otel_feedback.processor.ProcessorRegistry`); trace-level feedback goes to the
   trace's local root.
3. **Write** onto the span when it is open here (:func:`otel_feedback._sdk.write`, which
   never evicts an attribute; what does not fit goes onto a ``feedback`` child span), or
   **emit** a zero-duration ``feedback`` span inside the target's lifetime through the
   owner's :class:`~otel_feedback.emit.Emitter` (else the global provider), plus a log
   record when those are on.

Nothing here calls back into the public layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import Span as ApiSpan
from opentelemetry.trace import SpanContext

from otel_feedback import _sdk, outbox
from otel_feedback import conventions as names
from otel_feedback.emit import Emitter, Target
from otel_feedback.errors import InvalidTargetError, InvalidTokenError
from otel_feedback.flatten import Attributes
from otel_feedback.ids import parse_span_id, parse_trace_id
from otel_feedback.processor import REGISTRY, FeedbackSpanProcessor
from otel_feedback.record import Feedback, now_ns
from otel_feedback.reporting import count, logger, report
from otel_feedback.token import FeedbackToken, parse_feedback_token

__all__ = [
    "Resolved",
    "Target",
    "add_record_observer",
    "deliver",
    "deliver_to_span",
    "remove_record_observer",
    "resolve",
    "root_span_id",
    "target_of",
    "track",
]

_DEFAULT_EMITTER = Emitter()

RecordObserver = Callable[[Feedback, Target, "ApiSpan | None"], None]
"""Called with each delivered record, its target and the rated span when it is at hand."""
_observers: tuple[RecordObserver, ...] = ()


def add_record_observer(observer: RecordObserver) -> None:
    """Call ``observer`` after each feedback record is delivered (feedback metrics use it)."""
    global _observers
    _observers = (*_observers, observer)


def remove_record_observer(observer: RecordObserver) -> None:
    """Stop calling ``observer``."""
    global _observers
    _observers = tuple(item for item in _observers if item is not observer)


@dataclass(frozen=True, slots=True)
class Resolved:
    """A target, the span object when at hand, and when a token was issued (if any)."""

    target: Target
    span: ApiSpan | None = None
    issued_at_ns: int | None = None


# -- 1. resolve ----------------------------------------------------------------------------


def resolve(target: object, trace_id: object, span_id: object) -> Resolved | None:
    """Which span feedback is for: ``target`` (a token, span or span context), else ids
    (``span_id`` alone: a span this process tracks), else the current span."""
    try:
        if target is not None:
            if trace_id is not None or span_id is not None:
                raise InvalidTargetError("pass either target= or trace_id=/span_id=, not both")
            return _from_target(target)
        if trace_id is not None:
            parsed_trace = parse_trace_id(trace_id)
            parsed_span = parse_span_id(span_id) if span_id is not None else None
            current = trace.get_current_span()
            current_context = current.get_span_context()
            if (current_context.trace_id, current_context.span_id) == (parsed_trace, parsed_span):
                return Resolved(target_of(current), current)
            return Resolved(Target(parsed_trace, parsed_span))
        if span_id is not None:
            return _from_span_id(parse_span_id(span_id))
    except InvalidTargetError as error:
        report("invalid_target", error)
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
        )
        return None
    return Resolved(target_of(current), current)


def target_of(span: ApiSpan) -> Target:
    """The target a span object stands for."""
    span_context = span.get_span_context()
    return Target(span_context.trace_id, span_context.span_id, span_context.trace_flags.sampled)


def _from_target(target: object) -> Resolved:
    if isinstance(target, str):
        target = parse_feedback_token(target)
    if isinstance(target, FeedbackToken):
        return Resolved(
            Target(
                target.trace_id, target.span_id, target.sampled, target.session_id, target.user_id
            ),
            None,
            target.issued_at_ns,
        )
    if isinstance(target, ApiSpan):
        if not target.get_span_context().is_valid:
            raise InvalidTargetError("target= is a span with an invalid (all-zero) context")
        return Resolved(target_of(target), target)
    if isinstance(target, SpanContext):
        if not target.is_valid:
            raise InvalidTargetError("target= is an invalid (all-zero) span context")
        return Resolved(Target(target.trace_id, target.span_id, target.trace_flags.sampled))
    raise InvalidTokenError(
        f"target= must be a feedback token string, a FeedbackToken, a span or a span context, "
        f"got {type(target).__name__}"
    )


def _from_span_id(span_id: int) -> Resolved:
    """A span id alone (Opik's span scores): the span this process tracks, or the trace root."""
    current = trace.get_current_span()
    if current.get_span_context().span_id == span_id:
        return Resolved(target_of(current), current)
    for processor in REGISTRY.processors():
        found = processor.find_span(span_id)
        if found is not None:
            return Resolved(Target(found[0], span_id))
    raise InvalidTargetError(
        "span_id= alone needs trace_id= for a span this process does not track (it tracks "
        "the current span, trace roots, and spans a feedback token was issued for)"
    )


def root_span_id(trace_id: int, span: ApiSpan | None) -> int | None:
    """The local root span of ``trace_id``: ``span`` itself when it is one, else remembered."""
    if isinstance(span, ReadableSpan) and (span.parent is None or span.parent.is_remote):
        return span.get_span_context().span_id
    for processor in REGISTRY.processors():
        root = processor.root_of(trace_id)
        if root is not None:
            return root.span_id
    return None


def track(span: ApiSpan) -> None:
    """Track ``span`` in the processors: a token was issued for it, or its id handed out
    (the compat layers' ``span.id``), so feedback by its id finds it after it ended."""
    for processor in REGISTRY.processors():
        processor.track(span)


# -- 2. route, 3. write or emit ----------------------------------------------------------------


def deliver_to_span(span: ApiSpan, state: Attributes) -> bool:
    """``enrich_span``'s route: straight onto ``span`` while it records (the hot path), else
    the general route of :func:`deliver`. False, doing nothing, when ``span`` neither
    records nor has a valid context (no span at all)."""
    if span.is_recording():
        sdk_span: Any = span  # not cast(): a call on the hot path
        overflow = _sdk.write(sdk_span, state)
        if overflow is not None:  # None: it ended meanwhile
            if overflow:
                _spill(target_of(span), overflow, len(state), None)
            return True
    elif not span.get_span_context().is_valid:
        return False
    deliver(target_of(span), state, span=span)
    return True


def deliver(
    target: Target,
    state: Attributes,
    feedback: Feedback | None = None,
    *,
    span: ApiSpan | None = None,
    issued_at_ns: int | None = None,
    tracer_provider: trace.TracerProvider | None = None,
) -> bool:
    """Write ``state`` (and the record of ``feedback``) onto the target span if it is open
    here, else emit a ``feedback`` span under it. True if the feedback was sent."""
    owner = REGISTRY.owner(target.trace_id, target.span_id)
    if target.span_id is None and owner is not None:
        root = owner.root_of(target.trace_id)
        if root is not None:
            target = Target(target.trace_id, root.span_id, target.sampled)
    emitter = owner.emitter if owner is not None else _DEFAULT_EMITTER
    open_span = _open_span(target, span, owner)
    if open_span is not None:
        event = (names.EVENT_NAME, feedback.event) if feedback is not None else None
        annotation = feedback.annotation if feedback is not None else None
        overflow = _sdk.write(open_span, state, event, annotation=annotation)
        if overflow is not None:  # None: it ended meanwhile, so it gets a late span below
            if overflow:
                _spill(target, overflow, len(state) + len(annotation or ()), tracer_provider)
            if feedback is not None:
                emitter.log(target, _log_attributes(feedback), now_ns(), feedback.given_at_ns)
                _observe(feedback, target, open_span)
            return True
    at_ns = _late_time(target, span, owner, issued_at_ns)
    late_state = state
    late_event: Attributes | None = None
    if feedback is not None:
        late_state = {**state, **_late_record(feedback)}
        late_event = feedback.event
    if not target.sampled:
        count("not_sampled")
        logger.debug("feedback for an unsampled span dropped")
        return False
    provider = tracer_provider or emitter.tracer_provider
    if not outbox.offer(target, late_state, late_event, at_ns, provider) and not emitter.span(
        target, late_state, late_event, at_ns, tracer_provider
    ):
        return False
    if feedback is not None:
        emitter.log(target, _log_attributes(feedback), at_ns, feedback.given_at_ns)
        _observe(feedback, target, None)
    return True


def _spill(
    target: Target,
    overflow: Attributes,
    total: int,
    tracer_provider: trace.TracerProvider | None,
) -> None:
    """What did not fit on an open span goes onto a ``feedback`` child span, and is said."""
    count("attribute_budget", len(overflow))
    logger.warning(
        "%d of %d feedback attributes did not fit under the span's attribute limit; they are "
        "on a 'feedback' child span instead (raise OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT to keep "
        "them on the span)",
        len(overflow),
        total,
    )
    owner = REGISTRY.owner(target.trace_id, target.span_id)
    emitter = owner.emitter if owner is not None else _DEFAULT_EMITTER
    emitter.span(target, overflow, None, now_ns(), tracer_provider)


def _open_span(target: Target, span: ApiSpan | None, owner: FeedbackSpanProcessor | None) -> Any:
    if target.span_id is None:
        return None
    if span is not None and span.is_recording() and (
        span.get_span_context().span_id == target.span_id
    ):
        return span
    if owner is not None:
        return owner.open_span(target.trace_id, target.span_id)
    return None


def _late_time(
    target: Target,
    span: ApiSpan | None,
    owner: FeedbackSpanProcessor | None,
    issued_at_ns: int | None,
) -> int:
    """Where a late feedback span goes: inside the target's lifetime (docs/DESIGN.md §3).

    The token's issue time, else the target's remembered end, else the end of its trace's
    local root (still inside the trace), else now. Never after a known end.
    """
    ended = getattr(span, "end_time", None)
    if not isinstance(ended, int):
        ended = None
        if owner is not None and target.span_id is not None:
            ended = owner.end_time_of(target.trace_id, target.span_id)
    at_ns = issued_at_ns or ended
    if at_ns is None and owner is not None:
        root = owner.root_of(target.trace_id)
        if root is not None and root.end_time:
            ended = at_ns = root.end_time
    if at_ns is None:
        at_ns = now_ns()
    if ended and at_ns > ended:
        at_ns = ended  # a token issued after the span ended: stay inside its lifetime
    return at_ns


def _late_record(feedback: Feedback) -> Attributes:
    """What a late ``feedback`` span carries besides the state: the searchable record fields,
    ``feedback.timestamp`` and the record as OpenInference annotation 0."""
    attributes = feedback.summary
    attributes[names.TIMESTAMP] = feedback.event[names.TIMESTAMP]
    for field, value in feedback.annotation.items():
        attributes[names.annotation_key(0, field)] = value
    return attributes


def _log_attributes(feedback: Feedback) -> Attributes:
    return {**feedback.state, **feedback.event}


def _observe(feedback: Feedback, target: Target, span: ApiSpan | None) -> None:
    for observer in _observers:
        try:
            observer(feedback, target, span)
        except Exception:  # noqa: BLE001, PERF203 - an observer must not stop delivery
            count("internal_error")
            logger.exception("feedback record observer %r failed", observer)
