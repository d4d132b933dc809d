#!/usr/bin/env python3
"""MLflow as a local OTLP backend for the tests and the demo (stdlib only).

Importable from the system ``python3`` and from inside ``.venv``::

    from mlflow_backend import MLflowServer

    with MLflowServer() as mlflow:               # installs MLflow once per machine
        export_spans_to(mlflow.otlp_http_endpoint, headers=mlflow.otlp_headers)
        trace = mlflow.wait_for_trace(trace_id_hex)

Command line::

    python3 scripts/mlflow_backend.py install          # prints the mlflow executable
    python3 scripts/mlflow_backend.py serve [--port N] # runs until Ctrl-C

MLflow (``mlflow`` pinned to :data:`MLFLOW_VERSION`, the full server) lives in its own
virtualenv under ``${OTEL_FEEDBACK_CACHE_DIR:-~/.cache/otel-feedback}`` beside Phoenix's.
``mlflow server --host 127.0.0.1`` keeps its data in SQLite (``mlflow.db``) and artifacts
in the working directory; it runs under the same watchdog as Phoenix
(``local_server.py _watchdog``), which stops it when the process that started it dies.

OTLP ingestion (MLflow >= 3.7): ``POST /v1/traces`` (``application/x-protobuf``) with the
header ``x-mlflow-experiment-id``. MLflow names such a trace ``tr-<32 hex trace id>``.
REST read-back: ``GET /api/3.0/mlflow/traces/<tr-id>`` returns
``{"trace": {"trace_info": {..., "assessments": [...]}}}``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from devenv import SetupError, say
from local_server import (
    PYTHON_ENV_LEAKS,
    LocalServer,
    RestError,
    cache_dir,
    ensure_tool,
    free_port,
    no_proxy_with_loopback,
    serve_until_interrupted,
)

MLFLOW_VERSION = "3.17.2"
MLFLOW_REQUIREMENT = f"mlflow=={MLFLOW_VERSION}"
ENV_MLFLOW_BIN = "OTEL_FEEDBACK_MLFLOW_BIN"
_IMPORT_CHECK = "import mlflow.server, mlflow; print(mlflow.__version__)"
LOG_NAME = "mlflow.log"
EXPERIMENT_HEADER = "x-mlflow-experiment-id"
DEFAULT_EXPERIMENT_ID = "0"


class MLflowError(SetupError):
    """Installing, starting or querying MLflow failed."""


# --------------------------------------------------------------------------- install


def mlflow_venv_dir() -> Path:
    """Where the pinned MLflow virtualenv lives."""
    return cache_dir() / f"mlflow-{MLFLOW_VERSION}"


def ensure_mlflow(*, quiet: bool = False) -> Path:
    """Install MLflow once per machine; return the path of its ``mlflow`` executable."""
    return ensure_tool(
        f"MLflow {MLFLOW_VERSION}",
        mlflow_venv_dir().name,
        MLFLOW_REQUIREMENT,
        "mlflow",
        _IMPORT_CHECK,
        error=MLflowError,
        quiet=quiet,
    )


# --------------------------------------------------------------------------- server


class MLflowServer(LocalServer):
    """An ``mlflow server`` on 127.0.0.1 (SQLite store), plus a small REST read-back client.

    ``working_dir`` holds ``mlflow.db``, the artifacts and ``mlflow.log``; ``None`` means a
    temporary directory removed on stop. ``port`` of ``None``/``0`` picks a free one.
    ``mlflow_bin`` defaults to ``$OTEL_FEEDBACK_MLFLOW_BIN`` or :func:`ensure_mlflow`.
    """

    LABEL = "MLflow"
    LOG_NAME = LOG_NAME
    HEALTH_PATH = "/health"
    ERROR = MLflowError

    def __init__(
        self,
        working_dir: str | os.PathLike[str] | None = None,
        *,
        mlflow_bin: str | os.PathLike[str] | None = None,
        port: int | None = None,
        startup_timeout: float = 180.0,
        stop_timeout: float = 3.0,
    ) -> None:
        super().__init__(working_dir, startup_timeout=startup_timeout, stop_timeout=stop_timeout)
        self._mlflow_bin = Path(mlflow_bin) if mlflow_bin is not None else None
        self._wanted_port = port or None

    def __enter__(self) -> MLflowServer:
        started: MLflowServer = self.start()
        return started

    @property
    def tracking_uri(self) -> str:
        """The tracking URI for MLflow clients (the server's base URL)."""
        return self.base_url

    @property
    def experiment_id(self) -> str:
        """The experiment the OTLP header names (MLflow's ``Default`` experiment)."""
        return DEFAULT_EXPERIMENT_ID

    @property
    def otlp_headers(self) -> dict[str, str]:
        """The header MLflow needs on OTLP requests: which experiment the traces go to."""
        return {EXPERIMENT_HEADER: self.experiment_id}

    # ----------------------------------------------------------------- lifecycle

    def _resolve_bin(self) -> Path:
        if self._mlflow_bin is not None:
            return self._mlflow_bin
        from_env = os.environ.get(ENV_MLFLOW_BIN)
        return Path(from_env) if from_env else ensure_mlflow()

    def _pick_ports(self) -> bool:
        self._port = self._wanted_port or free_port()
        return self._wanted_port is None

    def _command(self, executable: Path) -> list[str]:
        work = self.working_dir
        return [
            str(executable),
            "server",
            "--host",
            self.host,
            "--port",
            str(self._port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{work / 'mlflow.db'}",
            "--default-artifact-root",
            (work / "artifacts").as_uri(),
        ]

    def _server_env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("MLFLOW_", "OTEL_")) and key not in PYTHON_ENV_LEAKS
        }
        env.update(
            {
                "PYTHONUNBUFFERED": "1",
                # No usage telemetry from the server.
                "MLFLOW_DISABLE_TELEMETRY": "true",
                "DO_NOT_TRACK": "true",
                "NO_PROXY": no_proxy_with_loopback(os.environ.get("NO_PROXY")),
                "no_proxy": no_proxy_with_loopback(os.environ.get("no_proxy")),
            }
        )
        return env

    # ----------------------------------------------------------------- REST client

    def trace_info(self, trace_id_hex: str) -> dict[str, Any] | None:
        """The trace MLflow made from OTel trace ``trace_id_hex`` (``tr-<hex>``), or None."""
        try:
            answer = self.get_json(f"/api/3.0/mlflow/traces/tr-{trace_id_hex}")
        except RestError as error:
            if error.status == 404:
                return None
            raise
        info: dict[str, Any] = answer["trace"]["trace_info"]
        return info

    def assessments(self, trace_id_hex: str) -> list[dict[str, Any]]:
        """The assessments on trace ``tr-<trace_id_hex>`` (``[]`` when none or no trace)."""
        info = self.trace_info(trace_id_hex)
        return list((info or {}).get("assessments") or [])

    def wait_for_trace(self, trace_id_hex: str, timeout: float = 30.0) -> dict[str, Any]:
        """Poll until MLflow has ingested the trace; return its ``trace_info``."""
        deadline = time.monotonic() + timeout
        while True:
            info = self.trace_info(trace_id_hex)
            if info is not None:
                return info
            if time.monotonic() > deadline:
                raise TimeoutError(f"MLflow has no trace tr-{trace_id_hex} after {timeout} s")
            time.sleep(0.2)


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Local MLflow server for otel-feedback.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install", help="install MLflow once and print the mlflow executable")
    serve = sub.add_parser("serve", help="run MLflow on 127.0.0.1 until Ctrl-C")
    serve.add_argument("--port", type=int, default=0, help="HTTP port (default: free)")
    serve.add_argument(
        "--working-dir", type=Path, default=None, help="keep data here (default: a temp dir)"
    )
    args = parser.parse_args(argv)
    if args.command == "install":
        try:
            print(ensure_mlflow())
        except SetupError as error:
            say(f"error: {error}")
            return 1
        return 0
    server = MLflowServer(args.working_dir, port=args.port)
    return serve_until_interrupted(
        server,
        lambda: [
            f"MLflow UI / tracking URI: {server.base_url}",
            f"OTLP/HTTP: {server.otlp_http_endpoint}  header {EXPERIMENT_HEADER}=0",
            f"log: {server.log_path}",
        ],
    )


if __name__ == "__main__":
    sys.exit(main())
