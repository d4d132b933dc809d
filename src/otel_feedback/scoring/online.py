"""Online scoring: a span processor that scores finished spans in the background.

Three steps, so that neither the application nor a slow judge holds up the others:

1. ``on_end`` (the application's thread) only samples by trace id, applies the user's
   ``filter`` if one was given, and appends the span to a bounded *incoming* queue; a full
   queue drops the span and counts it as ``scoring_queue_full``.
2. A dispatcher thread keeps the incoming queue short: it passes on the spans that have
   something to score (an input or output in the OpenInference or GenAI conventions, when no
   filter was given) to a bounded *ready* queue and forgets the rest (and otel-feedback's
   own ``feedback`` spans). It never waits on a scorer.
3. Worker threads take ready spans, read input, output and context from their attributes
   (:mod:`.spans`), run the scorers and record each result as late feedback on that span.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from otel_feedback import conventions as names
from otel_feedback.reporting import count, logger
from otel_feedback.scoring.base import Scorer
from otel_feedback.scoring.errors import MissingInputError, ScorerConfigError
from otel_feedback.scoring.spans import fields_of, has_io
from otel_feedback.token import FeedbackToken

SpanFilter = Callable[[ReadableSpan], bool]
"""Decides which finished spans are scored."""

_ID_MASK = (1 << 64) - 1
_IDLE_WAIT = 0.05


class OnlineScorer(SpanProcessor):
    """Runs ``scorers`` on finished spans in the background and records their scores.

    Args:
        scorers: the scorers to run on every selected span (one scorer or several).
        sample_rate: share of traces scored (by trace id, so a trace is scored entirely or
            not at all).
        filter: ``filter(span) -> bool``, run in ``on_end`` (keep it cheap); default: every
            span with an input or output in the OpenInference or GenAI conventions (checked
            in the background).
        max_queue_size: bound of each of the two queues; past it spans are dropped and
            counted (``scoring_queue_full`` in ``fb.diagnostics()``, :attr:`dropped`).
        workers: scoring threads (judges wait on the network, so more than one helps).
        tracer_provider: where late feedback spans go (default: as ``log_feedback``).
        shutdown_timeout: seconds :meth:`shutdown` waits for the queues to drain.

    Add it to the provider **before** the exporting processor, so that at shutdown the
    remaining scores are recorded while the exporter still runs.
    """

    def __init__(
        self,
        scorers: Scorer | Iterable[Scorer],
        sample_rate: float = 1.0,
        filter: SpanFilter | None = None,
        *,
        max_queue_size: int = 2048,
        workers: int = 1,
        tracer_provider: trace.TracerProvider | None = None,
        shutdown_timeout: float = 30.0,
    ) -> None:
        chosen = [scorers] if isinstance(scorers, Scorer) else list(scorers)
        if not chosen or not all(isinstance(scorer, Scorer) for scorer in chosen):
            raise ScorerConfigError("OnlineScorer needs one or more scorers (Scorer instances)")
        if isinstance(sample_rate, bool) or not 0.0 <= sample_rate <= 1.0:
            raise ScorerConfigError(f"sample_rate= must be within 0..1, got {sample_rate!r}")
        if filter is not None and not callable(filter):
            raise ScorerConfigError("filter= must be a callable taking a span")
        if not isinstance(max_queue_size, int) or max_queue_size < 1:
            raise ScorerConfigError(f"max_queue_size= must be an int >= 1, got {max_queue_size!r}")
        if not isinstance(workers, int) or workers < 1:
            raise ScorerConfigError(f"workers= must be an int >= 1, got {workers!r}")
        self.scorers: tuple[Scorer, ...] = tuple(chosen)
        self.sample_rate = float(sample_rate)
        self.filter: SpanFilter | None = filter
        self.max_queue_size = max_queue_size
        self.tracer_provider = tracer_provider
        self.shutdown_timeout = shutdown_timeout
        self._threshold = int(self.sample_rate * (_ID_MASK + 1))
        self._sampling = self._threshold <= _ID_MASK
        self._incoming: deque[ReadableSpan] = deque()
        self._ready: deque[ReadableSpan] = deque()
        self._dropped = 0
        self._lock = threading.Lock()  # guards _busy, _dropped and the hand-overs
        self._busy = 0
        self._wake_dispatcher = threading.Event()
        self._wake_workers = threading.Event()
        self._closed = False
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._dispatch, name="otel-feedback-scoring-in", daemon=True)
        ] + [
            threading.Thread(target=self._work, name=f"otel-feedback-scoring-{index}", daemon=True)
            for index in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    # -- the hot path ------------------------------------------------------------------------

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Nothing to do when a span starts."""

    def on_end(self, span: ReadableSpan) -> None:
        """Queue ``span`` for scoring if it is sampled (and selected); never blocks or raises."""
        try:
            if self._closed:
                return
            if self._sampling:
                context = span.context
                if context is None or (context.trace_id & _ID_MASK) >= self._threshold:
                    return
            if self.filter is not None and not self.filter(span):
                return
            if len(self._incoming) >= self.max_queue_size:
                self._drop()
                return
            self._incoming.append(span)
        except Exception:  # noqa: BLE001 - instrumentation must not break the host app
            count("scoring_enqueue_failed")
            logger.exception("online scoring could not queue a span; it is not scored")

    @property
    def dropped(self) -> int:
        """Spans dropped because a queue was full (also ``scoring_queue_full``)."""
        return self._dropped

    def _drop(self) -> None:
        with self._lock:
            self._dropped += 1
            dropped = self._dropped
        count("scoring_queue_full")
        if dropped == 1 or dropped % 1000 == 0:
            logger.warning(
                "online scoring queue is full (%d spans); %d span(s) dropped so far, unscored",
                self.max_queue_size,
                dropped,
            )

    # -- the dispatcher and the workers -------------------------------------------------------

    def _dispatch(self) -> None:
        self._loop(self._incoming, self._wake_dispatcher, self._pass_on, "read")

    def _work(self) -> None:
        self._loop(self._ready, self._wake_workers, self.score_span, "score")

    def _loop(
        self,
        queue: deque[ReadableSpan],
        wake: threading.Event,
        handle: Callable[[ReadableSpan], object],
        what: str,
    ) -> None:
        """Take spans from ``queue`` and ``handle`` them until shutdown empties it."""
        while True:
            try:
                with self._lock:
                    span = queue.popleft()
                    self._busy += 1
            except IndexError:
                if self._stopping and not self._incoming:
                    return
                wake.wait(_IDLE_WAIT)
                wake.clear()
                continue
            try:
                handle(span)
            except Exception:  # noqa: BLE001 - one bad span must not stop the thread
                count("scoring_failed")
                logger.exception("online scoring could not %s span %r", what, span.name)
            finally:
                with self._lock:
                    self._busy -= 1

    def _pass_on(self, span: ReadableSpan) -> None:
        """Hand ``span`` to the workers if it has something to score."""
        scope = span.instrumentation_scope
        if scope is not None and scope.name == names.SCOPE_NAME:
            return  # our own feedback spans are never scored
        if self.filter is None and not has_io(span.attributes):
            return
        if len(self._ready) >= self.max_queue_size:
            self._drop()
            return
        self._ready.append(span)
        self._wake_workers.set()

    def score_span(self, span: ReadableSpan) -> list[str | None]:
        """Run every scorer on ``span`` now and record the results; returns the feedback ids.

        A scorer that finds nothing to read on the span (``MissingInputError``) records
        nothing (counted as ``scoring_not_applicable``); every other failure is recorded as an
        error.
        """
        context = span.context
        if context is None:
            return []
        attributes = span.attributes or {}
        fields = fields_of(attributes)
        target = FeedbackToken(
            trace_id=context.trace_id,
            span_id=context.span_id,
            issued_at_ns=span.end_time or 0,
            sampled=context.trace_flags.sampled,
            session_id=_text_or_none(attributes.get(names.SESSION_ID)),
            user_id=_text_or_none(attributes.get(names.USER_ID)),
        )
        recorded = []
        for scorer in self.scorers:
            result = scorer.score_fields(fields)
            if isinstance(result.exception, MissingInputError):
                # Not a failure: this span lacks what the scorer reads (no context for a
                # Hallucination judge, no expected output for Equals). Nothing is recorded.
                count("scoring_not_applicable")
                continue
            recorded.append(result.log(target, tracer_provider=self.tracer_provider))
        return recorded

    # -- flush and shutdown ---------------------------------------------------------------------

    @property
    def queued(self) -> int:
        """Spans waiting in the queues."""
        return len(self._incoming) + len(self._ready)

    @property
    def pending(self) -> int:
        """Spans queued or being handled."""
        with self._lock:
            return len(self._incoming) + len(self._ready) + self._busy

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Wait until every queued span is scored (or the timeout passes)."""
        return self._drain(timeout_millis / 1000)

    def shutdown(self) -> None:
        """Stop taking spans, score what is queued (up to ``shutdown_timeout``), stop."""
        if self._closed:
            return
        self._closed = True
        drained = self._drain(self.shutdown_timeout)
        left = 0
        if not drained:
            with self._lock:
                left = len(self._incoming) + len(self._ready)
                self._incoming.clear()
                self._ready.clear()
        self._stopping = True
        self._wake_dispatcher.set()
        self._wake_workers.set()
        for thread in self._threads:
            thread.join(timeout=1.0)  # a span being scored finishes on its own (daemon thread)
        if left:
            count("scoring_shutdown_dropped", left)
            logger.warning(
                "online scoring: %d span(s) were still queued after %.1f s at shutdown; not scored",
                left,
                self.shutdown_timeout,
            )

    def _drain(self, timeout: float) -> bool:
        deadline = time.monotonic() + max(0.0, timeout)
        while self.pending:
            self._wake_dispatcher.set()
            self._wake_workers.set()
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
