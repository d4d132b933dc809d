"""Fixtures for the compat modules: the global TracerProvider pointed at a test receiver.

The compat modules use the global provider (as Opik, MLflow and HoneyHive code expects no
setup), so each test installs a fresh wire pipeline as the global provider and restores the
previous state afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers_wire import Wire, WireFactory
from opentelemetry import trace
from opentelemetry.util._once import Once

import otel_feedback
from otel_feedback.compat import _runtime


@pytest.fixture(autouse=True)
def global_provider_restored() -> Iterator[None]:
    """Whatever a test does to the global provider is undone; a provider the compat modules
    set up on first use is shut down (so its processor does not outlive the test)."""
    saved = (trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE)
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    try:
        yield
    finally:
        while _runtime._configured:
            _runtime._configured.pop().shutdown()
        trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE = saved


@pytest.fixture
def global_wire(wires: WireFactory) -> Wire:
    """A wire pipeline (OTLP/gRPC, one export per span) installed as the global provider."""
    wire = wires("grpc")
    trace.set_tracer_provider(wire.provider)
    return wire


@pytest.fixture
def strict(monkeypatch: pytest.MonkeyPatch) -> None:
    """Strict mode from the environment (``OTEL_FEEDBACK_STRICT=true``), as users turn it on:
    the compat entry points take no ``strict=`` argument."""
    monkeypatch.setenv(otel_feedback.STRICT_ENV, "true")
    otel_feedback.reload_settings()
