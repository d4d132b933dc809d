#!/usr/bin/env python3
"""Run the whole check suite: ``python3 scripts/test.py [pytest args...]``.

Steps: ensure ``.venv`` (scripts/devenv.py), Debian ``chromium`` for the browser test
(scripts/chromium_backend.py), Phoenix and MLflow for the e2e tests
(scripts/phoenix_backend.py, scripts/mlflow_backend.py), then ``ruff check .``,
``mypy --strict src`` and ``pytest``. Arguments this script does not know are passed to
pytest, e.g. ``python3 scripts/test.py -k smoke -x``. Every step prints a one-line result;
the exit code is non-zero if any step failed (pytest's exit code 5, "no tests collected",
is a failure). This is what CI runs (``.ci/run``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# Sibling scripts, also when this file is imported rather than run.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import chromium_backend
import devenv
import mlflow_backend
import phoenix_backend

REPO_ROOT = devenv.REPO_ROOT
TAG = devenv.TAG
PYTEST_NO_TESTS_COLLECTED = 5


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

    started = time.monotonic()
    try:
        python = devenv.ensure_venv()
    except devenv.SetupError as error:
        devenv.say(f"venv: FAILED\n{error}")
        return 1
    results.append(StepResult("venv", True, time.monotonic() - started))
    devenv.say(results[-1].line())

    started = time.monotonic()
    try:
        chromium_backend.ensure_chromium()
    except devenv.SetupError as error:
        devenv.say(f"chromium: FAILED\n{error}")
        return 1
    results.append(StepResult("chromium", True, time.monotonic() - started))
    devenv.say(results[-1].line())

    phoenix_bin: Path | None = None
    if args.no_e2e:
        pytest_args = ["-m", "not e2e", *pytest_args]
    else:
        started = time.monotonic()
        try:
            phoenix_bin = phoenix_backend.ensure_phoenix()
        except devenv.SetupError as error:  # PhoenixError, or a failed install step
            devenv.say(f"phoenix: FAILED\n{error}")
            return 1
        results.append(StepResult("phoenix", True, time.monotonic() - started))
        devenv.say(results[-1].line())
        started = time.monotonic()
        try:
            os.environ[mlflow_backend.ENV_MLFLOW_BIN] = str(mlflow_backend.ensure_mlflow())
        except devenv.SetupError as error:
            devenv.say(f"mlflow: FAILED\n{error}")
            return 1
        results.append(StepResult("mlflow", True, time.monotonic() - started))
        devenv.say(results[-1].line())

    env = _child_env(phoenix_bin)
    py = str(python)
    results.append(_run_tool("ruff", [py, "-m", "ruff", "check", "."], env))
    results.append(_run_tool("mypy", [py, "-m", "mypy", "--strict", "src"], env))
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
