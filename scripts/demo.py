#!/usr/bin/env python3
"""Run the demo against a local Arize Phoenix: ``python3 scripts/demo.py [--keep-running]``.

Ensures ``.venv`` and Phoenix, starts Phoenix on 127.0.0.1 (data in ``.demo/phoenix``),
then runs ``examples/demo_app.py`` inside ``.venv`` with these variables set:

- ``OTEL_EXPORTER_OTLP_ENDPOINT`` = Phoenix's base URL and
  ``OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf`` (OTLP/HTTP goes to ``<base>/v1/traces``),
- ``OTEL_FEEDBACK_DEMO_OTLP_GRPC_ENDPOINT`` = Phoenix's OTLP/gRPC endpoint,
- ``PHOENIX_BASE_URL`` = Phoenix's base URL (UI and REST API),
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
import phoenix_backend

REPO_ROOT = devenv.REPO_ROOT
DEMO_APP = REPO_ROOT / "examples" / "demo_app.py"
DEMO_PHOENIX_DIR = REPO_ROOT / ".demo" / "phoenix"
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run examples/demo_app.py against a local Arize Phoenix."
    )
    parser.add_argument(
        "--keep-running",
        action="store_true",
        help="keep Phoenix up after the demo until Ctrl-C (to browse the UI)",
    )
    parser.add_argument(
        "--reset", action="store_true", help="delete .demo/phoenix (previous demo data) first"
    )
    parser.add_argument("--port", type=int, default=0, help="Phoenix UI/HTTP port (default: free)")
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
        phoenix_bin = phoenix_backend.ensure_phoenix()
        if args.reset:
            shutil.rmtree(DEMO_PHOENIX_DIR, ignore_errors=True)
        server = phoenix_backend.PhoenixServer(
            DEMO_PHOENIX_DIR, phoenix_bin=phoenix_bin, port=args.port, grpc_port=args.grpc_port
        )
        with devenv.step("starting Phoenix"):
            server.start()
    except devenv.SetupError as error:  # PhoenixError, or a failed install step
        devenv.say(f"error: {error}")
        return 1

    code: int | None = None
    try:
        devenv.say(f"Phoenix UI: {server.base_url} (log: {server.log_path})")
        env.update(
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": server.base_url,
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                "OTEL_FEEDBACK_DEMO_OTLP_GRPC_ENDPOINT": server.otlp_grpc_endpoint,
                "PHOENIX_BASE_URL": server.base_url,
            }
        )
        code = _run_app(python, env, args.app_args)
        devenv.say(f"demo app exited with code {code}")
        if args.keep_running:
            devenv.say(f"Phoenix UI: {server.base_url} — press Ctrl-C to stop")
            while server.is_running():
                time.sleep(0.5)
            devenv.say(f"Phoenix exited by itself; last lines of its log:\n{server.log_tail()}")
            code = code or 1
    except KeyboardInterrupt:
        if code is None:  # interrupted while the demo app was running
            code = 130
    finally:
        with devenv.step("stopping Phoenix"):
            server.stop()
    return 1 if code is None else code


if __name__ == "__main__":
    sys.exit(main())
