"""Durable delivery of late feedback (DESIGN.md §11): a SQLite outbox, exported at least once.

Turned on with ``OTEL_FEEDBACK_OUTBOX=<path>`` or ``configure(outbox=...)``. Each late
``feedback`` span is built in full (ids included) and committed to the outbox before
``log_feedback`` returns; a background thread exports it through its own ``SpanExporter``
(OTLP by default) and deletes it only when the exporter reports success. Failures are
retried with exponential backoff; what a crash leaves behind is sent by the next process
that opens the file. A resend is the same span (same span id, same ``feedback.id``): a
backend sees a duplicate, never a second vote.

Policy (the file itself is :mod:`otel_feedback._outboxfile`):

* **WAL mode, ``synchronous=NORMAL`` by default**: a committed record survives the process
  being killed (``SIGKILL``, OOM, a crash), which is what happens in practice. With
  ``OTEL_FEEDBACK_OUTBOX_SYNC=full`` each commit is also fsynced, so records survive power
  loss and kernel crashes, at the cost of one fsync per record.
* **Shared by processes**: a sender *leases* the rows it exports (``lease_owner``,
  ``lease_until``); a lease expires after ``lease_seconds``, and a lease held by a process that
  no longer runs on this host is released at once. So rows are never held forever; two
  processes may both send a row (a duplicate), none is lost.
* **Bounded**: at most ``max_records`` records and ``max_bytes`` bytes of stored spans
  (``OTEL_FEEDBACK_OUTBOX_MAX_RECORDS`` / ``_MAX_BYTES``). Past either bound a new record is
  refused: logged and counted as ``outbox_full`` (raised as :class:`OutboxFullError` in strict
  mode), then sent directly through the tracer provider, without the outbox's guarantee.
* **Corrupt or unusable file**: a file SQLite cannot read is moved aside
  (``<path>.corrupt-<time>``, with its ``-wal``/``-shm``) and a fresh outbox is created; a path
  that cannot be opened or written is refused with the reason. Either way the application
  keeps running: records go directly to the tracer provider, counted as ``outbox_fallback``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import random
import sqlite3
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from otel_feedback import _spancodec
from otel_feedback._outboxfile import OutboxFile, Row
from otel_feedback.conventions import FEEDBACK_ID
from otel_feedback.emit import Target, build_feedback_spans
from otel_feedback.errors import OutboxError, OutboxFullError
from otel_feedback.flatten import Attributes
from otel_feedback.reporting import count, logger, report
from otel_feedback.settings import Settings, get_settings

__all__ = ["FlushResult", "Outbox", "close", "current", "flush", "install", "offer"]


@dataclass(frozen=True, slots=True)
class FlushResult:
    """What :func:`flush` achieved: records ``sent`` during the call, and still ``pending``
    (``-1`` when the outbox could not be read)."""

    sent: int
    pending: int


class Outbox:
    """A SQLite outbox at ``path``, exporting through ``exporter`` (default: OTLP from the
    ``OTEL_EXPORTER_OTLP_*`` variables, see :func:`otel_feedback.otlp_span_exporter`).

    Bounds and the sync policy default to the settings (``OTEL_FEEDBACK_OUTBOX_*``). Raises
    :class:`OutboxError` when the file cannot be used (a corrupt one is moved aside first).
    The background sender starts at once and sends whatever the file already holds.

    The sender exports up to ``batch_size`` records at a time, as soon as that many wait or
    ``linger_seconds`` after the first (like ``BatchSpanProcessor``'s schedule delay), and
    every ``poll_seconds`` looks for records other processes left. A failed export is
    retried after ``retry_initial_seconds``, doubling up to ``retry_max_seconds``. A batch
    is leased for ``lease_seconds``. At a normal exit it tries ``exit_flush_seconds`` to
    send what is left, never longer.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        exporter: SpanExporter | None = None,
        *,
        max_records: int | None = None,
        max_bytes: int | None = None,
        sync: str | None = None,
        batch_size: int = 512,
        lease_seconds: float = 60.0,
        retry_initial_seconds: float = 0.5,
        retry_max_seconds: float = 5.0,
        poll_seconds: float = 1.0,
        linger_seconds: float = 1.0,
        exit_flush_seconds: float = 1.0,
    ) -> None:
        settings = get_settings()
        self.path = os.fspath(path)
        self.max_records = max_records if max_records is not None else settings.outbox_max_records
        self.max_bytes = max_bytes if max_bytes is not None else settings.outbox_max_bytes
        self.sync = (sync or settings.outbox_sync).lower()
        if self.sync not in ("normal", "full"):
            raise ValueError("sync must be 'normal' or 'full'")
        if batch_size < 1 or lease_seconds <= 0 or poll_seconds <= 0:
            raise ValueError("batch_size, lease_seconds and poll_seconds must be positive")
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.retry_initial_seconds = retry_initial_seconds
        self.retry_max_seconds = retry_max_seconds
        self.poll_seconds = poll_seconds
        self.linger_seconds = linger_seconds
        self.exit_flush_seconds = exit_flush_seconds
        if exporter is None:
            from otel_feedback.configure import otlp_span_exporter  # noqa: PLC0415 - a cycle

            exporter = otlp_span_exporter()
        self.exporter = exporter
        self._file = OutboxFile(self.path, self.sync)
        self._sent = 0
        self._start()
        _LIVE.add(self)

    def _start(self) -> None:
        """Signals and the sender thread of this process (again in a forked child)."""
        self._cond = threading.Condition()
        self._new = 0  # records put since the sender last claimed (approximate)
        self._kick = self._stop = self._sleeping = False
        self._worker = threading.Thread(
            target=self._run, name="otel-feedback-outbox", daemon=True
        )
        self._worker.start()

    def _after_fork(self) -> None:
        self._file.reopen_after_fork()
        if not self._file.closed:
            self._start()

    # -- writing ---------------------------------------------------------------------------

    def put(self, spans: Sequence[ReadableSpan], feedback_id: str | None = None) -> None:
        """Commit ``spans`` (one record) to the outbox; the sender is woken.

        Raises :class:`OutboxFullError` past the bounds, :class:`OutboxError` if SQLite fails.
        """
        data = _spancodec.encode(spans)
        try:
            stored = self._file.insert(feedback_id, data, self.max_records, self.max_bytes)
        except sqlite3.Error as error:
            message = f"the outbox {self.path!r} could not store a record: {error}"
            raise OutboxError(message) from error
        if not stored:
            raise OutboxFullError(
                f"the outbox {self.path!r} is full (bounds: {self.max_records} records, "
                f"{self.max_bytes} bytes; see OTEL_FEEDBACK_OUTBOX_MAX_RECORDS / _MAX_BYTES): "
                f"feedback {feedback_id or '(no id)'} was refused and is sent directly, "
                "without the outbox's guarantee"
            )
        self._new += 1
        if self._sleeping and self._new in (1, self.batch_size):  # see _idle
            with self._cond:
                self._cond.notify_all()

    def pending(self) -> int:
        """Records in the file not yet confirmed by an exporter (of every process)."""
        try:
            return self._file.pending()
        except sqlite3.Error as error:
            raise OutboxError(f"the outbox {self.path!r} cannot be read: {error}") from error

    # -- flushing and closing ----------------------------------------------------------------

    def flush(self, timeout: float = 30.0) -> FlushResult:
        """Send now and wait until the outbox is empty or ``timeout`` seconds passed."""
        deadline = time.monotonic() + max(0.0, timeout)
        before = self._sent
        with self._cond:
            self._kick = True
            self._cond.notify_all()
        pending = self.pending()
        while pending and not self._file.closed:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            with self._cond:
                self._cond.wait(min(left, 0.1))
            pending = self.pending()
        return FlushResult(self._sent - before, pending)

    def close(self, timeout: float = 1.0) -> None:
        """Stop the sender (waiting up to ``timeout`` s for an export in flight) and close.

        Records not sent stay in the file for the next process that opens it.
        """
        with self._cond:
            if self._stop:
                return
            self._stop = True
            self._cond.notify_all()
        if self._worker is not threading.current_thread():
            self._worker.join(timeout)
        self._file.close()
        _LIVE.discard(self)
        if not self._worker.is_alive():
            with contextlib.suppress(Exception):
                self.exporter.shutdown()

    def __repr__(self) -> str:
        return f"<Outbox {self.path!r} sync={self.sync}>"

    # -- the sender ------------------------------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        limit = self.batch_size
        last_sweep = 0.0
        while not self._stop:
            try:
                if time.monotonic() - last_sweep > self.poll_seconds * 5:
                    self._file.release_dead_leases()
                    last_sweep = time.monotonic()
                with self._cond:
                    self._new, self._kick = 0, False
                batch = self._file.claim(limit, self.lease_seconds)
                if not batch:
                    self._idle()
                    continue
                if self._send(batch):
                    failures, limit = 0, self.batch_size
                    continue
                # Halve the batch after a failure: one record a collector refuses ends up
                # alone, and the others get through.
                limit = max(1, len(batch) // 2)
            except sqlite3.Error as error:
                if self._stop:
                    break
                count("outbox_error")
                logger.warning("outbox %r: %s; retrying", self.path, error)
            except Exception:  # noqa: BLE001 - the sender must survive anything
                count("internal_error")
                logger.exception("outbox %r: the sender failed; retrying", self.path)
            failures += 1
            self._back_off(failures)

    def _idle(self) -> None:
        """Wait for a new record (or a flush, or the poll interval, to pick up what other
        processes left); then linger up to ``linger_seconds`` until a whole batch is
        waiting, as ``BatchSpanProcessor`` does, so the sender works in batches and rarely
        competes with the threads that log feedback."""
        with self._cond:
            self._cond.notify_all()  # flushers re-check what is pending
            self._sleeping = True
            try:
                if not (self._new or self._kick or self._stop):
                    self._cond.wait(self.poll_seconds)
                deadline = time.monotonic() + self.linger_seconds
                while self._new and self._new < self.batch_size and not (self._kick or self._stop):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
            finally:
                self._sleeping = False

    def _back_off(self, failures: int) -> None:
        delay = min(self.retry_max_seconds, self.retry_initial_seconds * 2 ** (failures - 1))
        deadline = time.monotonic() + delay * random.uniform(0.8, 1.2)
        with self._cond:
            self._cond.notify_all()
            while not (self._kick or self._stop):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)

    def _send(self, batch: list[Row]) -> bool:
        """Export one claimed batch; delete it on success, release it on failure."""
        spans: list[ReadableSpan] = []
        readable: list[int] = []
        unreadable: list[int] = []
        resources: dict[str, Any] = {}
        for row_id, _feedback_id, data in batch:
            decoded = _decode(data, resources)
            if decoded is None:
                unreadable.append(row_id)
            else:
                spans.extend(decoded)
                readable.append(row_id)
        if unreadable:
            self._file.set_aside(unreadable)
            count("outbox_unreadable", len(unreadable))
            logger.error(
                "outbox %r: %d stored record(s) could not be read back; they were moved to "
                "the table outbox_unreadable of that file and are not sent",
                self.path,
                len(unreadable),
            )
        if not readable:
            return True
        try:
            result = self.exporter.export(spans)
        except Exception:  # noqa: BLE001 - an exporter bug is a failed export
            logger.exception("outbox %r: the exporter raised", self.path)
            result = SpanExportResult.FAILURE
        if result is SpanExportResult.SUCCESS:
            self._file.delete(readable)
            self._sent += len(readable)
            with self._cond:
                self._cond.notify_all()
            return True
        self._file.release(readable)
        count("outbox_export_failed")
        logger.warning(
            "outbox %r: exporting %d feedback record(s) failed; they stay in the outbox and "
            "are retried",
            self.path,
            len(readable),
        )
        return False


def _decode(data: bytes, resources: dict[str, Any]) -> list[ReadableSpan] | None:
    try:
        return _spancodec.decode(data, resources)
    except ValueError:
        return None


# -- the outbox in force ------------------------------------------------------------------------


class _Unavailable:
    """An outbox was asked for but cannot be used: records go direct, counted."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


_lock = threading.Lock()
_installed: Outbox | _Unavailable | None = None
_from_settings: tuple[Settings | None, str | None, Outbox | _Unavailable | None] = (
    None,
    None,
    None,
)
_LIVE: weakref.WeakSet[Outbox] = weakref.WeakSet()


def install(outbox: Outbox | str | os.PathLike[str] | None) -> Outbox | None:
    """Use ``outbox`` (an :class:`Outbox`, or a path to open one) for late feedback from now
    on; ``None`` goes back to ``OTEL_FEEDBACK_OUTBOX``. Returns the outbox, or ``None`` when
    it cannot be used (reported; records then go directly to the tracer provider)."""
    global _installed
    chosen: Outbox | _Unavailable | None
    if outbox is None or isinstance(outbox, Outbox):
        chosen = outbox
    else:
        chosen = _open_reported(os.fspath(outbox))
    with _lock:
        _installed = chosen
    return chosen if isinstance(chosen, Outbox) else None


def current() -> Outbox | None:
    """The outbox in force: installed by ``configure(outbox=...)``, else opened from
    ``OTEL_FEEDBACK_OUTBOX`` on first use; ``None`` when there is none (or it is unusable)."""
    box = _active()
    return box if isinstance(box, Outbox) else None


def _active() -> Outbox | _Unavailable | None:
    global _from_settings
    installed = _installed
    if installed is not None:
        return installed
    settings = get_settings()
    seen, path, box = _from_settings
    if settings is seen:
        return box
    with _lock:
        seen, path, box = _from_settings
        if settings is not seen:
            if settings.outbox_path != path:
                box = _open_reported(settings.outbox_path) if settings.outbox_path else None
            _from_settings = (settings, settings.outbox_path, box)
    return box


def _open_reported(path: str) -> Outbox | _Unavailable:
    try:
        return Outbox(path)
    except OutboxError as error:
        report("outbox_unavailable", error)
        return _Unavailable(str(error))


def offer(
    target: Target,
    state: Attributes,
    event: Attributes | None,
    at_ns: int,
    tracer_provider: trace.TracerProvider | None,
) -> bool:
    """The hook of late delivery: True when the record is now committed to the outbox (or
    the provider's sampler dropped it); False when there is no usable outbox and the record
    must be emitted directly (a fallback is counted and logged)."""
    box = _active()
    if box is None:
        return False
    if isinstance(box, _Unavailable):
        count("outbox_fallback")
        return False
    provider = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
    feedback_id = event.get(FEEDBACK_ID) if event else None
    spans = build_feedback_spans(provider, target, state, event, at_ns)
    if not spans:
        return True
    try:
        box.put(spans, str(feedback_id) if feedback_id is not None else None)
    except OutboxFullError as error:
        report("outbox_full", error)  # raises in strict mode: then nothing is sent
        count("outbox_fallback")
        return False
    except OutboxError as error:
        report("outbox_error", error)
        count("outbox_fallback")
        return False
    return True


def flush(timeout: float = 30.0) -> FlushResult:
    """Send what the outbox holds, waiting up to ``timeout`` seconds; also flush the global
    tracer provider with the time left. Returns the records sent and still pending."""
    deadline = time.monotonic() + max(0.0, timeout)
    box = current()
    result = FlushResult(0, 0)
    if box is not None:
        try:
            result = box.flush(timeout)
        except OutboxError as error:
            report("outbox_error", error)
            result = FlushResult(0, -1)
    provider: Any = trace.get_tracer_provider()
    force_flush = getattr(provider, "force_flush", None)
    if force_flush is not None:
        left_ms = max(0, int((deadline - time.monotonic()) * 1000))
        with contextlib.suppress(Exception):
            force_flush(left_ms)
    return result


def close() -> None:
    """Close every outbox of this process and forget the one in force (records not yet
    sent stay in their files)."""
    global _installed, _from_settings
    with _lock:
        _installed = None
        _from_settings = (None, None, None)
    for box in list(_LIVE):
        box.close(timeout=0.5)


def _at_exit() -> None:
    for box in list(_LIVE):
        with contextlib.suppress(Exception):
            box.flush(box.exit_flush_seconds)
            box.close(timeout=0.2)


def _after_fork_in_child() -> None:
    for box in list(_LIVE):
        with contextlib.suppress(Exception):
            box._after_fork()


atexit.register(_at_exit)
os.register_at_fork(after_in_child=_after_fork_in_child)
