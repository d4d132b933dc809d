"""The provider the compat modules use: the application's, or one set up on first use.

Opik, MLflow and HoneyHive need no OpenTelemetry setup: they start exporting on first use and
flush when the process exits. :func:`ensure_provider` does the same with
:func:`otel_feedback.configure` (the ``OTEL_*`` variables), unless the application has already
set an SDK ``TracerProvider`` of its own, which is then used as it is.
"""

from __future__ import annotations

import atexit
import threading
import weakref

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from otel_feedback.configure import configure
from otel_feedback.conventions import COMPAT_SCOPE_PREFIX, VERSION
from otel_feedback.reporting import logger

_lock = threading.Lock()
_configured: list[TracerProvider] = []


def ensure_provider(service_name: str | None = None) -> trace.TracerProvider:
    """The global tracer provider; set up from ``OTEL_*`` (flushed at exit) if none is set.

    ``service_name`` names the service of a provider set up here (``OTEL_SERVICE_NAME``
    otherwise); an application's own provider is left as it is.
    """
    provider = trace.get_tracer_provider()
    if not isinstance(provider, trace.ProxyTracerProvider):
        return provider  # the application's own (or the one set up here before)
    with _lock:
        provider = trace.get_tracer_provider()
        if isinstance(provider, trace.ProxyTracerProvider):
            configured = configure(service_name=service_name)
            _configured.append(configured)
            atexit.register(_flush_at_exit, configured)
            logger.info(
                "no OpenTelemetry TracerProvider was set: one was set up from the OTEL_* "
                "variables (exported over OTLP, flushed at exit)"
            )
            provider = trace.get_tracer_provider()
    return provider


_tracers: weakref.WeakKeyDictionary[trace.TracerProvider, dict[str, trace.Tracer]] = (
    weakref.WeakKeyDictionary()
)


def tracer(sdk: str) -> trace.Tracer:
    """The tracer of one compat module (scope ``otel_feedback.compat.<sdk>``), made once per
    provider (the SDK's ``get_tracer`` costs as much as starting a span)."""
    provider = ensure_provider()
    try:
        return _tracers[provider][sdk]
    except KeyError:
        made = provider.get_tracer(f"{COMPAT_SCOPE_PREFIX}.{sdk}", VERSION)
        _tracers.setdefault(provider, {})[sdk] = made
        return made
    except TypeError:  # a provider that cannot be weakly referenced
        return provider.get_tracer(f"{COMPAT_SCOPE_PREFIX}.{sdk}", VERSION)


def flush(timeout_millis: int = 30_000) -> bool:
    """Export everything recorded so far (``force_flush`` of the provider); True if done."""
    provider = trace.get_tracer_provider()
    force_flush = getattr(provider, "force_flush", None)
    if force_flush is None:
        return True
    try:
        return bool(force_flush(timeout_millis))
    except Exception:  # noqa: BLE001 - flushing must not break the host app
        logger.exception("otel_feedback: flushing the tracer provider failed")
        return False


def _flush_at_exit(provider: TracerProvider) -> None:
    try:
        provider.force_flush()
    except Exception:  # noqa: BLE001 - the interpreter is exiting
        logger.exception("otel_feedback: flushing at exit failed")
