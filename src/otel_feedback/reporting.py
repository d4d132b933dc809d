"""Where problems go: the ``otel_feedback`` logger and a process-wide counter, or an exception.

Every drop, truncation or repair calls :func:`report`. In the default mode it logs a warning
and counts the problem (see :func:`diagnostics`); in strict mode it raises the typed error.

Strict mode is ``OTEL_FEEDBACK_STRICT`` (read once, see :mod:`otel_feedback.settings`),
overridden for the duration of one public call by its ``strict=`` argument. The override
travels in a context variable, so no internal function takes a ``strict`` parameter.
:func:`guarded` is the one guard every public helper runs under: typed errors reach the
caller only in strict mode, nothing else ever does, and a call with the wrong arguments
still raises ``TypeError`` like any Python function.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar, cast

from otel_feedback.conventions import SCOPE_NAME
from otel_feedback.errors import FeedbackError
from otel_feedback.settings import get_settings

logger = logging.getLogger(SCOPE_NAME)

_strict_override: ContextVar[bool | None] = ContextVar("otel_feedback.strict", default=None)
_lock = threading.Lock()
_counts: Counter[str] = Counter()

P = ParamSpec("P")
R = TypeVar("R")


def is_strict() -> bool:
    """Whether problems raise: the current call's ``strict=``, else ``OTEL_FEEDBACK_STRICT``."""
    override = _strict_override.get()
    return get_settings().strict if override is None else override


@contextmanager
def strict_mode(strict: bool | None) -> Iterator[None]:
    """Within the block, :func:`is_strict` answers ``strict`` (``None``: the setting)."""
    if strict is None:
        yield
        return
    token = _strict_override.set(strict)
    try:
        yield
    finally:
        _strict_override.reset(token)


def report(problem: str, error: FeedbackError) -> None:
    """Raise ``error`` in strict mode; otherwise log it and count it under ``problem``."""
    if is_strict():
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


def internal_error(where: str) -> None:
    """Log the exception being handled as a bug of ours, and count it; never raises."""
    count("internal_error")
    logger.exception("otel_feedback.%s failed; the application is unaffected", where)


def _problem_of(error: FeedbackError) -> str:
    """The diagnostics key of an error raised without :func:`report`: its class, in snake case
    (``InvalidTokenError`` -> ``invalid_token``)."""
    name = type(error).__name__.removesuffix("Error") or "feedback"
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def _is_call_error(error: TypeError) -> bool:
    """A ``TypeError`` raised by the call itself (bad arguments), not inside the function."""
    traceback = error.__traceback__
    return traceback is not None and traceback.tb_next is None


def guarded(default: Any) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """The guard of every public helper (docs/DESIGN.md §5).

    The keyword ``strict`` (if passed) sets strict mode for the call. Typed errors reach
    the caller in strict mode only; a call with an unknown keyword or the wrong number of
    arguments raises ``TypeError`` in every mode; any other exception is logged, counted as
    ``internal_error`` and the call returns ``default``.
    """

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def guard(*args: P.args, **kwargs: P.kwargs) -> R:
            strict = kwargs.get("strict")
            # Only a bool sets the mode (bool has no subclasses: `type() is` is isinstance).
            token = None if type(strict) is not bool else _strict_override.set(strict)
            try:
                return function(*args, **kwargs)
            except FeedbackError as error:
                if is_strict():
                    raise
                # Raised directly, not through report() (which never raises here): count it.
                report(_problem_of(error), error)
                return cast(R, default)
            except TypeError as error:
                if _is_call_error(error):
                    raise
                internal_error(function.__name__)
                return cast(R, default)
            except Exception:  # noqa: BLE001 - instrumentation must not break the host app
                internal_error(function.__name__)
                return cast(R, default)
            finally:
                if token is not None:
                    _strict_override.reset(token)

        return guard

    return decorate
