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


@pytest.fixture
def global_wire(wires: WireFactory) -> Iterator[Wire]:
    """A wire pipeline (OTLP/gRPC, one export per span) installed as the global provider."""
    wire = wires("grpc")
    saved = (trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE)
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace.set_tracer_provider(wire.provider)
    try:
        yield wire
    finally:
        trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE = saved
