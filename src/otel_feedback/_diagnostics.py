"""Where problems go: the ``otel_feedback`` logger and a process-wide counter, or an exception.

Every drop, truncation or repair calls :func:`report`. In the default mode it logs a warning
and counts the problem; in strict mode it raises the typed error instead.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter

from otel_feedback.errors import FeedbackError

logger = logging.getLogger("otel_feedback")

STRICT_ENV = "OTEL_FEEDBACK_STRICT"
_TRUE = frozenset({"1", "true", "yes", "on"})

_lock = threading.Lock()
_counts: Counter[str] = Counter()


def is_strict(strict: bool | None) -> bool:
    """Resolve a ``strict`` argument: ``None`` defers to ``OTEL_FEEDBACK_STRICT``."""
    if strict is not None:
        return strict
    return os.environ.get(STRICT_ENV, "").strip().lower() in _TRUE


def report(problem: str, error: FeedbackError, strict: bool | None) -> None:
    """Raise ``error`` in strict mode; otherwise log it and count it under ``problem``."""
    if is_strict(strict):
        raise error
    with _lock:
        _counts[problem] += 1
    logger.warning("%s: %s", problem, error)


def count(problem: str, amount: int = 1) -> None:
    """Count a problem already logged elsewhere."""
    with _lock:
        _counts[problem] += amount


def diagnostics() -> dict[str, int]:
    """Counts of every problem logged since start (or the last reset), by kind."""
    with _lock:
        return dict(_counts)


def reset_diagnostics() -> None:
    """Zero all problem counts (for tests)."""
    with _lock:
        _counts.clear()
