#!/usr/bin/env python3
"""Run the demo against a local backend: ``python3 scripts/demo.py [--backend phoenix|mlflow]``.

Ensures ``.venv`` and the backend (Arize Phoenix by default, or MLflow), starts it on
127.0.0.1 (data kept in ``.demo/<backend>``; says whether it holds earlier runs), prints
ready-to-paste ``OTEL_EXPORTER_OTLP_*`` lines for sending your own app there, then runs
``examples/demo_app.py`` inside ``.venv`` with these variables set:

- ``OTEL_EXPORTER_OTLP_ENDPOINT`` = the server's base URL and
  ``OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf`` (OTLP/HTTP goes to ``<base>/v1/traces``);
  for MLflow also ``OTEL_EXPORTER_OTLP_HEADERS=x-mlflow-experiment-id=0``,
- Phoenix: ``OTEL_FEEDBACK_DEMO_OTLP_GRPC_ENDPOINT`` = its OTLP/gRPC endpoint and
  ``PHOENIX_BASE_URL`` = its base URL (UI and REST API); MLflow: ``MLFLOW_TRACKING_URI``.
  The app adds the matching bridge, so feedback also shows as Phoenix annotations or MLflow
  assessments,
- ``OTEL_SERVICE_NAME=otel-feedback-demo`` unless already set.

If ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is already
set, no Phoenix is started and the demo sends to that collector. With ``--keep-running`` the
server stays up after the demo until Ctrl-C, for browsing the UI; by default it is stopped.
Arguments after ``--`` go to the demo app.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

# Sibling scripts, also when this file is imported rather than run.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import devenv
import mlflow_backend
import phoenix_backend
from local_server import LocalServer

REPO_ROOT = devenv.REPO_ROOT
DEMO_APP = REPO_ROOT / "examples" / "demo_app.py"
DEMO_DIR = REPO_ROOT / ".demo"
STORE_FILES = {"phoenix": "phoenix.db", "mlflow": "mlflow.db"}
EXTERNAL_ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def _run_app(python: Path, env: dict[str, str], app_args: list[str]) -> int:
    cmd = [str(python), str(DEMO_APP), *app_args]
    devenv.say(f"running {DEMO_APP.relative_to(REPO_ROOT)}")
    process = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env)
    try:
        return process.wait()
    except KeyboardInterrupt:
        # The app got the same Ctrl-C (same process group): let it finish its shutdown.
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        raise


def _base_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    env["PATH"] = os.pathsep.join([str(devenv.venv_python().parent), env.get("PATH", "")])
    for key in ("NO_PROXY", "no_proxy"):
        env[key] = phoenix_backend.no_proxy_with_loopback(env.get(key))
    return env


def paste_lines(server: LocalServer) -> list[str]:
    """Shell lines that send any OpenTelemetry app to ``server``, gRPC and HTTP."""
    if isinstance(server, phoenix_backend.PhoenixServer):
        return [
            "# OTLP/gRPC:",
            f"export OTEL_EXPORTER_OTLP_ENDPOINT={server.otlp_grpc_endpoint}",
            "export OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
            "# or OTLP/HTTP:",
            f"export OTEL_EXPORTER_OTLP_ENDPOINT={server.base_url}",
            "export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
        ]
    header = mlflow_backend.EXPERIMENT_HEADER
    return [
        "# OTLP/HTTP (MLflow takes no OTLP/gRPC):",
        f"export OTEL_EXPORTER_OTLP_ENDPOINT={server.base_url}",
        "export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
        f"export OTEL_EXPORTER_OTLP_HEADERS={header}={mlflow_backend.DEFAULT_EXPERIMENT_ID}",
        f"export MLFLOW_TRACKING_URI={server.base_url}   # for the MLflow bridge",
    ]


def earlier_runs(backend: str) -> str:
    """Whether ``.demo/<backend>`` holds data from earlier runs, in one sentence."""
    store = DEMO_DIR / backend / STORE_FILES[backend]
    if not store.exists():
        return f"the {backend} store in {store.parent} is new: it holds only this run"
    written = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(store.stat().st_mtime))
    return (
        f"the {backend} store in {store.parent} holds earlier runs (last written {written}); "
        "--reset starts empty"
    )


def start_backend(backend: str, args: argparse.Namespace) -> LocalServer:
    """Start the chosen backend in ``.demo/<backend>``."""
    directory = DEMO_DIR / backend
    if args.reset:
        shutil.rmtree(directory, ignore_errors=True)
    devenv.say(earlier_runs(backend))
    server: LocalServer
    if backend == "mlflow":
        server = mlflow_backend.MLflowServer(
            directory, mlflow_bin=mlflow_backend.ensure_mlflow(), port=args.port
        )
    else:
        server = phoenix_backend.PhoenixServer(
            directory,
            phoenix_bin=phoenix_backend.ensure_phoenix(),
            port=args.port,
            grpc_port=args.grpc_port,
        )
    with devenv.step(f"starting {server.LABEL}"):
        server.start()
    return server


def backend_env(server: LocalServer) -> dict[str, str]:
    """What the demo app needs to send to ``server`` and to bridge into its native view."""
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": server.base_url,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
    }
    if isinstance(server, phoenix_backend.PhoenixServer):
        env["OTEL_FEEDBACK_DEMO_OTLP_GRPC_ENDPOINT"] = server.otlp_grpc_endpoint
        env["PHOENIX_BASE_URL"] = server.base_url
    else:
        header = f"{mlflow_backend.EXPERIMENT_HEADER}={mlflow_backend.DEFAULT_EXPERIMENT_ID}"
        env["OTEL_EXPORTER_OTLP_HEADERS"] = header
        env["MLFLOW_TRACKING_URI"] = server.base_url
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run examples/demo_app.py against a local Arize Phoenix or MLflow."
    )
    parser.add_argument(
        "--backend",
        choices=("phoenix", "mlflow"),
        default="phoenix",
        help="where the demo sends its traces and feedback (default: phoenix)",
    )
    parser.add_argument(
        "--keep-running",
        action="store_true",
        help="keep the backend up after the demo until Ctrl-C (to browse the UI)",
    )
    parser.add_argument(
        "--reset", action="store_true", help="delete .demo/<backend> (earlier demo data) first"
    )
    parser.add_argument("--port", type=int, default=0, help="UI/HTTP port (default: free)")
    parser.add_argument("--grpc-port", type=int, default=0, help="OTLP/gRPC port (default: free)")
    parser.add_argument("app_args", nargs="*", help="arguments for the demo app (after --)")
    args = parser.parse_args(argv)

    if not DEMO_APP.is_file():
        devenv.say(
            f"error: {DEMO_APP.relative_to(REPO_ROOT)} does not exist yet, so there is no demo "
            "to run. (scripts/demo.py only starts Phoenix and runs that file.)"
        )
        return 2

    try:
        python = devenv.ensure_venv()
    except devenv.SetupError as error:
        devenv.say(f"error: {error}")
        return 1
    env = _base_env()
    env.setdefault("OTEL_SERVICE_NAME", "otel-feedback-demo")

    external = [f"{k}={os.environ[k]}" for k in EXTERNAL_ENDPOINT_VARS if os.environ.get(k)]
    if external:
        devenv.say(f"{', '.join(external)} is set: using that collector, not a local Phoenix")
        if args.keep_running:
            devenv.say("--keep-running has no effect without a local Phoenix")
        try:
            return _run_app(python, env, args.app_args)
        except KeyboardInterrupt:
            return 130

    try:
        server = start_backend(args.backend, args)
    except devenv.SetupError as error:  # a failed install or start
        devenv.say(f"error: {error}")
        return 1

    code: int | None = None
    try:
        devenv.say(f"{server.LABEL} UI: {server.base_url} (log: {server.log_path})")
        devenv.say("send your own app there with:\n" + "\n".join(paste_lines(server)))
        env.update(backend_env(server))
        code = _run_app(python, env, args.app_args)
        devenv.say(f"demo app exited with code {code}")
        if args.keep_running:
            devenv.say(f"{server.LABEL} UI: {server.base_url} — press Ctrl-C to stop")
            while server.is_running():
                time.sleep(0.5)
            devenv.say(
                f"{server.LABEL} exited by itself; last lines of its log:\n{server.logtail()}"
            )
            code = code or 1
    except KeyboardInterrupt:
        if code is None:  # interrupted while the demo app was running
            code = 130
    finally:
        with devenv.step(f"stopping {server.LABEL}"):
            server.stop()
    return 1 if code is None else code


if __name__ == "__main__":
    sys.exit(main())
