"""Fixtures for end-to-end tests against real Arize Phoenix and MLflow servers.

The session-scoped ``phoenix`` fixture starts one ``phoenix serve`` (from
``$OTEL_FEEDBACK_PHOENIX_BIN`` as exported by scripts/test.py, else ``ensure_phoenix()``,
which installs Phoenix once per machine) in a pytest tmp dir, and yields the
:class:`phoenix_backend.PhoenixServer`. Tests read spans back with ``phoenix.spans()`` /
``phoenix.wait_for_spans()``; filter by trace id, since all tests share the server.
``mlflow_server`` does the same for ``mlflow server`` (``$OTEL_FEEDBACK_MLFLOW_BIN``, else
``ensure_mlflow()``), started only when a test asks for it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest

# scripts/ holds the server helpers (stdlib only); make them importable for the e2e tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from mlflow_backend import MLflowServer
from phoenix_backend import PhoenixServer, no_proxy_with_loopback

_timings: dict[str, float] = {}
Server = TypeVar("Server", PhoenixServer, MLflowServer)


def _running(server: Server) -> Iterator[Server]:
    """Start ``server`` (its executable from the environment, else installed once per
    machine) with loopback kept off any proxy; stop it afterwards."""
    with pytest.MonkeyPatch.context() as env:
        # OTLP exporters (grpc, requests) honour http(s)_proxy: keep loopback direct.
        for key in ("NO_PROXY", "no_proxy"):
            env.setenv(key, no_proxy_with_loopback(os.environ.get(key)))
        started = time.monotonic()
        server.start()
        _timings[f"{server.LABEL} startup"] = time.monotonic() - started
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="session")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PhoenixServer]:
    """A running Phoenix on 127.0.0.1 with free ports, shared by the whole session."""
    yield from _running(PhoenixServer(tmp_path_factory.mktemp("phoenix")))


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MLflowServer]:
    """A running ``mlflow server`` on 127.0.0.1 (SQLite), shared by the whole session."""
    yield from _running(MLflowServer(tmp_path_factory.mktemp("mlflow")))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for name, seconds in _timings.items():
        terminalreporter.write_line(f"e2e: {name}: {seconds:.1f} s")
