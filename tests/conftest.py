"""Shared pytest fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from otel_feedback.testing import OTLPReceiver


@pytest.fixture
def otlp_receiver() -> Iterator[OTLPReceiver]:
    """A started in-process OTLP receiver (gRPC and HTTP), stopped after the test."""
    with OTLPReceiver() as receiver:
        yield receiver


# -- wire pipelines (tests/helpers_wire.py) ---------------------------------------------------

from helpers_wire import PROTOCOLS, Wire, WireFactory  # noqa: E402

import otel_feedback  # noqa: E402


@pytest.fixture
def wires(otlp_receiver: OTLPReceiver) -> Iterator[WireFactory]:
    """Builds fresh TracerProvider + FeedbackSpanProcessor pipelines exporting to
    ``otlp_receiver``; every provider (and so every processor) is shut down afterwards."""
    factory = WireFactory(otlp_receiver)
    try:
        yield factory
    finally:
        factory.close_all()


@pytest.fixture(params=PROTOCOLS)
def wire(request: pytest.FixtureRequest, wires: WireFactory) -> Wire:
    """One fresh pipeline, once over OTLP/gRPC and once over OTLP/HTTP."""
    return wires(request.param)


@pytest.fixture
def grpc_wire(wires: WireFactory) -> Wire:
    """One fresh pipeline over OTLP/gRPC."""
    return wires("grpc")


@pytest.fixture(autouse=True)
def clean_diagnostics() -> Iterator[None]:
    """For every test: zeroed otel_feedback.diagnostics(), and settings read from an
    environment without any OTEL_FEEDBACK_* variable (a test that sets one calls
    otel_feedback.reload_settings())."""
    with pytest.MonkeyPatch.context() as env:
        for name in [name for name in os.environ if name.startswith("OTEL_FEEDBACK_")]:
            env.delenv(name)
        otel_feedback.reload_settings()
        otel_feedback.reset_diagnostics()
        yield
        otel_feedback.reset_diagnostics()
    otel_feedback.reload_settings()


# -- a local OpenAI-compatible endpoint for the judges (tests/helpers_judge.py) ----------------

from helpers_judge import JudgeServer  # noqa: E402


@pytest.fixture
def judge_server() -> Iterator[JudgeServer]:
    """A started local OpenAI-compatible chat endpoint on 127.0.0.1, stopped afterwards."""
    with JudgeServer() as server:
        yield server
