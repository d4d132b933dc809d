#!/usr/bin/env python3
"""Run the otel-feedback benchmarks: ``python3 benchmarks/run.py``.

The one command creates (or reuses) ``benchmarks/.venv`` from ``benchmarks/requirements.txt``
(OpenTelemetry as in the dev environment, plus ``honeyhive==1.7.0`` for B3 only), re-runs
itself inside it, runs every benchmark in one process (CAL, B1 and B1c in three fresh
processes each, their rounds pooled; B5 in fresh subprocesses), writes
``benchmarks/results/latest.json`` and regenerates ``BENCHMARKS.md``. About 5 minutes.

Options: ``--only B1,B2`` (run some; writes nothing unless ``--write``), ``--profile``
(always add the hot-path profiles to BENCHMARKS.md; they are added anyway when a target is
missed), ``--no-venv`` (use the current interpreter), ``--quick`` (tiny counts, no write),
``--render`` (regenerate BENCHMARKS.md from results/latest.json, e.g. after editing
benchmarks/notes.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
import venv
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
VENV_DIR = BENCH_DIR / ".venv"
REQUIREMENTS = BENCH_DIR / "requirements.txt"
STAMP = VENV_DIR / "requirements.sha256"
RESULTS = BENCH_DIR / "results" / "latest.json"
REPORT = REPO_ROOT / "BENCHMARKS.md"
COMMAND = "python3 benchmarks/run.py"


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# -- the virtualenv ------------------------------------------------------------------------


def _venv_python() -> Path:
    return VENV_DIR / "bin" / "python"


def ensure_venv() -> Path:
    """Create ``benchmarks/.venv`` and install the pinned requirements when they changed."""
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    python = _venv_python()
    if python.exists() and STAMP.exists() and STAMP.read_text().strip() == wanted:
        return python
    if not python.exists():
        say(f"creating {VENV_DIR.relative_to(REPO_ROOT)}")
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV_DIR)
    say("installing benchmarks/requirements.txt (once)")
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "-r",
            str(REQUIREMENTS),
        ],
        check=True,
    )
    STAMP.write_text(wanted + "\n")
    return python


def in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV_DIR.resolve()


# -- environment facts ---------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def environment() -> dict[str, Any]:
    dirty = _git("status", "--porcelain", "--", "src")
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "opentelemetry_api": _version("opentelemetry-api"),
        "opentelemetry_sdk": _version("opentelemetry-sdk"),
        "opentelemetry_exporter_otlp": _version("opentelemetry-exporter-otlp"),
        "grpcio": _version("grpcio"),
        "honeyhive": _version("honeyhive"),
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "src_dirty": bool(dirty and dirty != "unknown"),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": COMMAND,
    }


# -- main ----------------------------------------------------------------------------------


def enter_dev_venv(script: str) -> None:
    """Re-run ``script`` (with this process's arguments) inside the development virtualenv
    ``.venv`` (``scripts/devenv.py``) unless already there; then make ``src`` importable."""
    dev_venv = REPO_ROOT / ".venv"
    if Path(sys.prefix).resolve() != dev_venv.resolve():
        sys.path.insert(0, str(REPO_ROOT / "scripts"))
        from devenv import ensure_venv as ensure_dev_venv  # noqa: PLC0415

        python = str(ensure_dev_venv())
        os.execv(python, [python, script, *sys.argv[1:]])
    sys.path[:0] = [str(REPO_ROOT / "src"), str(REPO_ROOT)]


def publish(document: dict[str, Any], results: Path, section: Path, markdown: str) -> None:
    """Write a standalone benchmark's results and BENCHMARKS.md section; re-render the page."""
    results.write_text(json.dumps(document, indent=2) + "\n")
    section.write_text(markdown)
    print(f"wrote {results.relative_to(REPO_ROOT)} and {section.relative_to(REPO_ROOT)}")
    main(["--render"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--only", help="comma-separated ids, e.g. B1,B2 (default: all)")
    parser.add_argument("--profile", action="store_true", help="always include profiles")
    parser.add_argument("--no-venv", action="store_true", help="use this interpreter")
    parser.add_argument("--quick", action="store_true", help="tiny counts; writes nothing")
    parser.add_argument("--write", action="store_true", help="write results with --only")
    parser.add_argument(
        "--render", action="store_true", help="only regenerate BENCHMARKS.md from latest.json"
    )
    args = parser.parse_args(argv)

    if args.render:
        sys.path.insert(0, str(REPO_ROOT))
        from benchmarks import report  # noqa: PLC0415

        REPORT.write_text(report.markdown(json.loads(RESULTS.read_text())))
        say(f"wrote {REPORT.relative_to(REPO_ROOT)} from {RESULTS.relative_to(REPO_ROOT)}")
        return 0

    if not args.no_venv and not in_venv():
        python = ensure_venv()
        os.execv(str(python), [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])

    sys.path[:0] = [str(REPO_ROOT / "src"), str(REPO_ROOT)]
    os.environ.pop("HH_API_KEY", None)  # HoneyHive runs offline, in test mode
    from benchmarks import report, suite  # noqa: PLC0415

    scale = suite.Scale.smoke() if args.quick else suite.Scale()
    wanted = [b.strip() for b in args.only.split(",")] if args.only else list(suite.BENCHMARKS)
    unknown = [b for b in wanted if b not in suite.BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; known: {list(suite.BENCHMARKS)}")
    if "B3" in wanted and not suite.honeyhive_available():
        say("honeyhive is not installed here; B3 skipped (run without --no-venv)")
        wanted.remove("B3")

    started = time.monotonic()
    results = []
    for bench_id in wanted:
        say(f"{bench_id}: running")
        t0 = time.monotonic()
        result = suite.BENCHMARKS[bench_id](scale)
        result.pop("ratios", None)  # every round's ratio: summarized in result["stats"]
        result["wall_seconds"] = round(time.monotonic() - t0, 1)
        results.append(result)
        say(f"{bench_id}: {report.describe(result)} ({result['wall_seconds']} s)")

    profiles: dict[str, str] = {}
    if not args.quick and (args.profile or any(r.get("met") is False for r in results)):
        say("profiling hot paths")
        from benchmarks import profiles as profiling  # noqa: PLC0415

        profiles = profiling.hot_paths()

    document = {
        "environment": environment(),
        "scale": scale.__dict__,
        "results": results,
        "profiles": profiles,
        "total_seconds": round(time.monotonic() - started, 1),
    }
    print(report.table(document))
    write = not args.quick and (args.only is None or args.write)
    if write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        tmp = RESULTS.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
        tmp.replace(RESULTS)
        REPORT.write_text(report.markdown(document))
        say(f"wrote {RESULTS.relative_to(REPO_ROOT)} and {REPORT.relative_to(REPO_ROOT)}")
    say(f"done in {document['total_seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
