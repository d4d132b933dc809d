"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from otel_feedback.testing import OTLPReceiver


@pytest.fixture
def otlp_receiver() -> Iterator[OTLPReceiver]:
    """A started in-process OTLP receiver (gRPC and HTTP), stopped after the test."""
    with OTLPReceiver() as receiver:
        yield receiver
