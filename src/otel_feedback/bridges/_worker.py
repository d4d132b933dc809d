"""A background delivery queue with bounded retries, and the span exporter on top of it.

The exporter hands records over and returns at once; one daemon thread delivers them in
batches. A delivery that answers :data:`RETRY` (the backend has not ingested the span or
trace yet, or is unreachable) is tried again with exponential backoff until ``max_wait``
seconds after it was queued; then it is given up, logged and counted. Nothing here ever
raises into the application.
"""

from __future__ import annotations

import enum
import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from otel_feedback import reporting
from otel_feedback.bridges.records import FeedbackRecord, records_from_spans
from otel_feedback.errors import BridgeError

logger = logging.getLogger("otel_feedback")


class Outcome(enum.Enum):
    """What happened to one record in one delivery attempt."""

    DONE = "done"
    RETRY = "retry"
    FAILED = "failed"


Deliver = Callable[[Sequence[FeedbackRecord]], Sequence[Outcome]]
"""Deliver a batch; one outcome per record, in order. May raise: then all are retried."""


@dataclass(slots=True)
class _Pending:
    record: FeedbackRecord
    queued_at: float
    due: float
    attempts: int = 0


class DeliveryWorker:
    """Deliver records in the background; bounded memory, bounded retries."""

    def __init__(
        self,
        name: str,
        deliver: Deliver,
        *,
        max_queue: int = 10_000,
        max_wait: float = 300.0,
        first_backoff: float = 0.25,
        max_backoff: float = 5.0,
        batch_size: int = 100,
        remember: int = 10_000,
    ) -> None:
        self.name = name
        self._deliver = deliver
        self._max_queue = max_queue
        self._max_wait = max_wait
        self._first_backoff = first_backoff
        self._max_backoff = max_backoff
        self._batch_size = batch_size
        self._remember = remember
        self._pending: OrderedDict[str, _Pending] = OrderedDict()
        self._done: OrderedDict[str, None] = OrderedDict()
        self._in_flight = 0
        self._closed = False
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition()
        #: Records delivered, refused (``failed``), given up after retries, and dropped.
        self.counts: dict[str, int] = {"delivered": 0, "failed": 0, "gave_up": 0, "dropped": 0}

    # -- producer side -----------------------------------------------------------------

    def submit(self, records: Iterable[FeedbackRecord]) -> int:
        """Queue records not yet delivered or queued (by ``feedback.id``); returns how many."""
        accepted = dropped = 0
        with self._cond:
            if self._closed:
                dropped = sum(1 for _ in records)
            else:
                now = time.monotonic()
                for record in records:
                    key = record.feedback_id
                    if key in self._done or key in self._pending:
                        continue
                    if len(self._pending) >= self._max_queue:
                        dropped += 1
                        continue
                    self._pending[key] = _Pending(record, now, now)
                    accepted += 1
                if accepted:
                    self._start()
                    self._cond.notify_all()
        if dropped:
            with self._cond:
                self.counts["dropped"] += dropped
            self._report(
                "bridge_dropped",
                f"{self.name}: {dropped} feedback record(s) dropped "
                f"({'bridge shut down' if self._closed else 'queue full'})",
                dropped,
            )
        return accepted

    def flush(self, timeout: float) -> bool:
        """Wait until nothing is pending (or ``timeout`` seconds); True when drained."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def shutdown(self, timeout: float) -> None:
        """Deliver what can be delivered within ``timeout`` seconds, then stop."""
        self.flush(timeout)
        with self._cond:
            self._closed = True
            left = len(self._pending)
            self.counts["dropped"] += left
            self._pending.clear()
            self._cond.notify_all()
        if left:
            self._report(
                "bridge_dropped",
                f"{self.name}: {left} feedback record(s) not delivered before shutdown",
                left,
            )

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._pending) + self._in_flight

    # -- worker side -------------------------------------------------------------------

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def _take_due(self) -> list[_Pending] | None:
        """Due items (removed from the queue), waiting as needed; None when closed."""
        with self._cond:
            while True:
                if self._closed:
                    return None
                now = time.monotonic()
                due = [item for item in self._pending.values() if item.due <= now]
                if due:
                    batch = due[: self._batch_size]
                    for item in batch:
                        del self._pending[item.record.feedback_id]
                    self._in_flight = len(batch)
                    return batch
                wake = min((item.due for item in self._pending.values()), default=None)
                self._cond.wait(None if wake is None else max(wake - now, 0.001))

    def _run(self) -> None:
        while True:
            batch = self._take_due()
            if batch is None:
                return
            outcomes = self._attempt(batch)
            self._settle(batch, outcomes)

    def _attempt(self, batch: list[_Pending]) -> Sequence[Outcome]:
        records = [item.record for item in batch]
        try:
            outcomes = self._deliver(records)
        except Exception as error:  # noqa: BLE001 - a bridge never fails the app
            logger.debug("%s: delivery raised %r; will retry", self.name, error)
            return [Outcome.RETRY] * len(batch)
        if len(outcomes) != len(batch):  # pragma: no cover - a deliver() bug
            return [Outcome.RETRY] * len(batch)
        return outcomes

    def _settle(self, batch: list[_Pending], outcomes: Sequence[Outcome]) -> None:
        now = time.monotonic()
        gave_up = failed = 0
        with self._cond:
            for item, outcome in zip(batch, outcomes, strict=True):
                key = item.record.feedback_id
                if outcome is Outcome.DONE:
                    self._mark_done(key)
                    self.counts["delivered"] += 1
                elif outcome is Outcome.FAILED:
                    failed += 1
                    self.counts["failed"] += 1
                elif now - item.queued_at >= self._max_wait or self._closed:
                    gave_up += 1
                    self.counts["gave_up"] += 1
                else:
                    item.attempts += 1
                    backoff = min(self._max_backoff, self._first_backoff * 2 ** (item.attempts - 1))
                    item.due = now + backoff * random.uniform(0.8, 1.2)  # jitter
                    self._pending[key] = item
            self._in_flight = 0
            self._cond.notify_all()
        if gave_up:
            self._report(
                "bridge_gave_up",
                f"{self.name}: gave up on {gave_up} feedback record(s) after "
                f"{self._max_wait:.0f} s of retries (span or trace never appeared, or the "
                "backend was unreachable)",
                gave_up,
            )
        if failed:
            reporting.count("bridge_failed", failed)

    def _mark_done(self, key: str) -> None:
        self._done[key] = None
        if len(self._done) > self._remember:
            self._done.popitem(last=False)

    def _report(self, problem: str, message: str, amount: int) -> None:
        reporting.count(problem, amount)
        logger.warning("%s: %s", problem, BridgeError(message))


class QueueingExporter(SpanExporter):
    """A span exporter that hands the feedback records in its spans to a
    :class:`DeliveryWorker` and returns at once. Subclasses implement :meth:`_deliver`."""

    def __init__(self, name: str, **worker_options: Any) -> None:
        self._worker = DeliveryWorker(name, self._deliver, **worker_options)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Queue the feedback records in ``spans``; returns at once."""
        try:
            self._worker.submit(records_from_spans(spans))
        except Exception as error:  # noqa: BLE001 - never fail the span pipeline
            reporting.count("bridge_failed")
            logger.warning("bridge_failed: %s could not read spans: %r", self._worker.name, error)
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Wait until every queued record is written (or given up), at most the timeout."""
        return self._worker.flush(timeout_millis / 1000)

    def shutdown(self) -> None:
        """Write what can be written within 30 s, then stop."""
        self._worker.shutdown(30.0)

    def submit(self, records: Iterable[FeedbackRecord]) -> int:
        """Queue records directly (not from spans); returns how many were new."""
        return self._worker.submit(records)

    def _deliver(self, records: Sequence[FeedbackRecord]) -> Sequence[Outcome]:
        raise NotImplementedError
