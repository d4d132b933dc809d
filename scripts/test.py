#!/usr/bin/env python3
"""Run the whole check suite: ``python3 scripts/test.py [pytest args...]``.

Steps: ensure ``.venv`` (scripts/devenv.py), Debian ``chromium`` for the browser test
(scripts/chromium_backend.py), Phoenix, MLflow and Prometheus for the e2e tests
(scripts/phoenix_backend.py, scripts/mlflow_backend.py, scripts/prometheus_backend.py), then
``ruff check .``, ``mypy --strict src`` and ``pytest``. Arguments this script does not know
are passed to pytest, e.g. ``python3 scripts/test.py -k smoke -x``. Every step prints a
one-line result; the exit code is non-zero if any step failed (pytest's exit code 5, "no
tests collected", is a failure). This is what CI runs (``.ci/run``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

# Sibling scripts, also when this file is imported rather than run.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import chromium_backend
import devenv
import mlflow_backend
import phoenix_backend
import prometheus_backend

REPO_ROOT = devenv.REPO_ROOT
TAG = devenv.TAG
PYTEST_NO_TESTS_COLLECTED = 5
T = TypeVar("T")


@dataclass
class StepResult:
    name: str
    ok: bool
    seconds: float
    detail: str = ""

    def line(self) -> str:
        verdict = "ok" if self.ok else "FAILED"
        extra = f", {self.detail}" if self.detail else ""
        return f"{self.name}: {verdict} ({self.seconds:.1f} s{extra})"


def _child_env(phoenix_bin: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    venv_bin = str(devenv.venv_python().parent)
    env["PATH"] = os.pathsep.join([venv_bin, env.get("PATH", "")])
    if phoenix_bin is not None:
        env[phoenix_backend.ENV_PHOENIX_BIN] = str(phoenix_bin)
    # Exporters in the tests talk to 127.0.0.1; never route that through a proxy.
    for key in ("NO_PROXY", "no_proxy"):
        env[key] = phoenix_backend.no_proxy_with_loopback(env.get(key))
    return env


def _run_tool(name: str, cmd: list[str], env: dict[str, str]) -> StepResult:
    shown = cmd[2:] if cmd[1:2] == ["-m"] else cmd
    devenv.say(f"{name}: running `{' '.join(shown)}`")
    started = time.monotonic()
    code = subprocess.run(cmd, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, check=False)
    seconds = time.monotonic() - started
    if code.returncode == 0:
        result = StepResult(name, True, seconds)
    elif name == "pytest" and code.returncode == PYTEST_NO_TESTS_COLLECTED:
        result = StepResult(name, False, seconds, "no tests collected (exit code 5)")
    else:
        result = StepResult(name, False, seconds, f"exit code {code.returncode}")
    devenv.say(result.line())
    return result


def _setup(results: list[StepResult], name: str, ensure: Callable[[], T]) -> T | None:
    """Run one install step; record and print its result. ``None`` when it failed."""
    started = time.monotonic()
    try:
        value = ensure()
    except devenv.SetupError as error:  # a server's own error, or a failed install step
        devenv.say(f"{name}: FAILED\n{error}")
        return None
    results.append(StepResult(name, True, time.monotonic() - started))
    devenv.say(results[-1].line())
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Lint, type-check and test otel-feedback. "
        "Unknown arguments are passed to pytest.",
    )
    parser.add_argument(
        "--no-e2e",
        action="store_true",
        help="skip installing/starting Phoenix and deselect tests marked e2e",
    )
    args, pytest_args = parser.parse_known_args(argv)
    if pytest_args[:1] == ["--"]:
        pytest_args = pytest_args[1:]

    total_started = time.monotonic()
    results: list[StepResult] = []

    python = _setup(results, "venv", devenv.ensure_venv)
    if python is None or _setup(results, "chromium", chromium_backend.ensure_chromium) is None:
        return 1

    phoenix_bin: Path | None = None
    if args.no_e2e:
        pytest_args = ["-m", "not e2e", *pytest_args]
    else:
        phoenix_bin = _setup(results, "phoenix", phoenix_backend.ensure_phoenix)
        if phoenix_bin is None:
            return 1
        mlflow_bin = _setup(results, "mlflow", mlflow_backend.ensure_mlflow)
        if mlflow_bin is None:
            return 1
        os.environ[mlflow_backend.ENV_MLFLOW_BIN] = str(mlflow_bin)
        if _setup(results, "prometheus", prometheus_backend.ensure_prometheus) is None:
            return 1

    env = _child_env(phoenix_bin)
    py = str(python)
    results.append(_run_tool("ruff", [py, "-m", "ruff", "check", "."], env))
    results.append(_run_tool("mypy", [py, "-m", "mypy", "--strict", "src"], env))
    results.append(_run_tool("dist", [py, str(REPO_ROOT / "scripts" / "check_dist.py")], env))
    results.append(_run_tool("pytest", [py, "-m", "pytest", *pytest_args], env))

    failed = [r.name for r in results if not r.ok]
    total = time.monotonic() - total_started
    if failed:
        devenv.say(f"FAILED: {', '.join(failed)} (total {total:.0f} s)")
        return 1
    devenv.say(f"all {len(results)} steps ok (total {total:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
