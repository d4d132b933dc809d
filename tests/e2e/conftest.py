"""Fixtures for end-to-end tests against a real Arize Phoenix server.

The session-scoped ``phoenix`` fixture starts one ``phoenix serve`` (from
``$OTEL_FEEDBACK_PHOENIX_BIN`` as exported by scripts/test.py, else ``ensure_phoenix()``,
which installs Phoenix once per machine) in a pytest tmp dir, and yields the
:class:`phoenix_backend.PhoenixServer`. Tests read spans back with ``phoenix.spans()`` /
``phoenix.wait_for_spans()``; filter by trace id, since all tests share the server.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

# scripts/ holds phoenix_backend.py (stdlib only); make it importable for the e2e tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from phoenix_backend import (
    ENV_PHOENIX_BIN,
    PhoenixServer,
    ensure_phoenix,
    no_proxy_with_loopback,
)

_timings: dict[str, float] = {}


@pytest.fixture(scope="session")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PhoenixServer]:
    """A running Phoenix on 127.0.0.1 with free ports, shared by the whole session."""
    with pytest.MonkeyPatch.context() as env:
        # OTLP exporters (grpc, requests) honour http(s)_proxy: keep loopback direct.
        for key in ("NO_PROXY", "no_proxy"):
            env.setenv(key, no_proxy_with_loopback(os.environ.get(key)))
        phoenix_bin = os.environ.get(ENV_PHOENIX_BIN)
        server = PhoenixServer(
            tmp_path_factory.mktemp("phoenix"),
            phoenix_bin=Path(phoenix_bin) if phoenix_bin else ensure_phoenix(),
        )
        started = time.monotonic()
        server.start()
        _timings["phoenix startup"] = time.monotonic() - started
        try:
            yield server
        finally:
            server.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if "phoenix startup" in _timings:
        terminalreporter.write_line(f"e2e: Phoenix started in {_timings['phoenix startup']:.1f} s")
