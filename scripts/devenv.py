#!/usr/bin/env python3
"""Create or refresh the repository's development virtualenv (``.venv``).

Runs under any Python 3.10+ with only the standard library::

    python3 scripts/devenv.py            # prints the venv's python path on stdout
    python3 scripts/devenv.py --force    # reinstall even if pyproject.toml is unchanged

The virtualenv is created if it is missing or broken, and ``pip install -e '.[dev]'`` is
re-run only when ``pyproject.toml`` changed: a stamp holding its hash is kept inside
``.venv``. Other scripts import :func:`ensure_venv`. Progress goes to stderr; pip's own
output goes to ``.venv/otel-feedback-pip.log`` and is shown only when it fails.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_DIR = REPO_ROOT / ".venv"
PYPROJECT = REPO_ROOT / "pyproject.toml"
STAMP_NAME = "otel-feedback-devenv.stamp"
LOCK_NAME = "otel-feedback-devenv.lock"
PIP_LOG_NAME = "otel-feedback-pip.log"
EXTRAS = "dev,testing,stats,web,scoring,phoenix,mlflow"
TAG = "[otel-feedback]"


class SetupError(RuntimeError):
    """A setup step failed; the message says which and shows the tail of its output."""


def say(message: str) -> None:
    """Print one progress line to stderr."""
    print(f"{TAG} {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def step(title: str, *, quiet: bool = False) -> Iterator[None]:
    """Print ``[otel-feedback] <title>… done (N s)`` around a slow step (unless ``quiet``)."""
    started = time.monotonic()
    if not quiet:
        print(f"{TAG} {title}…", end="", file=sys.stderr, flush=True)
    try:
        yield
    except BaseException:
        if not quiet:
            print(f" FAILED ({_elapsed(started)})", file=sys.stderr, flush=True)
        raise
    if not quiet:
        print(f" done ({_elapsed(started)})", file=sys.stderr, flush=True)


def _elapsed(started: float) -> str:
    seconds = time.monotonic() - started
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"


def venv_python(venv_dir: Path = VENV_DIR) -> Path:
    """Path of the python executable inside ``venv_dir``."""
    if os.name == "nt":
        return venv_dir / "Scripts" / "python.exe"
    return venv_dir / "bin" / "python"


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a text file (empty if it cannot be read)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def run_logged(
    cmd: list[str],
    log_path: Path,
    *,
    cwd: Path | None = None,
    drop_env: frozenset[str] = frozenset(),
) -> None:
    """Run ``cmd`` with its output appended to ``log_path``; raise SetupError on failure.

    ``drop_env`` names environment variables the command must not inherit.
    """
    env = {key: value for key, value in os.environ.items() if key not in drop_env}
    env.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    env.setdefault("PIP_NO_INPUT", "1")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as log:
        log.write(f"$ {' '.join(cmd)}\n")
        log.flush()
        result = subprocess.run(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if result.returncode != 0:
        raise SetupError(
            f"command failed with exit code {result.returncode}: {' '.join(cmd)}\n"
            f"--- last lines of {log_path} ---\n{tail(log_path)}"
        )


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path``; waits, saying so, for other holders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as handle:
        try:
            import fcntl  # noqa: PLC0415 - POSIX only
        except ImportError:  # pragma: no cover - Windows: no locking, best effort
            yield
            return
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"waiting for another process holding {path}…")
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def requirements_hash() -> str:
    """Hash of everything that decides what ``pip install -e '.[dev]'`` installs."""
    digest = hashlib.sha256()
    digest.update(PYPROJECT.read_bytes())
    digest.update(f"\0extras={EXTRAS}".encode())
    return digest.hexdigest()


def _venv_works(python: Path) -> bool:
    if not python.exists():
        return False
    try:
        result = subprocess.run(
            [str(python), "-c", "import sys; sys.exit(0)"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def ensure_venv(*, force: bool = False) -> Path:
    """Create/refresh ``.venv`` and return its python executable.

    Cheap when nothing changed (one ``python -c`` call to check the venv still runs).
    """
    python = venv_python()
    stamp = VENV_DIR / STAMP_NAME
    wanted = requirements_hash()
    VENV_DIR.mkdir(exist_ok=True)
    with file_lock(VENV_DIR / LOCK_NAME):
        pip_log = VENV_DIR / PIP_LOG_NAME
        if not _venv_works(python):
            with step("creating virtualenv .venv"):
                # --clear would delete our lock file; venv creation over an existing
                # directory replaces the interpreter links and keeps site-packages.
                stamp.unlink(missing_ok=True)
                run_logged([sys.executable, "-m", "venv", str(VENV_DIR)], pip_log)
                if not _venv_works(python):
                    raise SetupError(f"virtualenv at {VENV_DIR} does not run {python}")
        current = stamp.read_text(encoding="utf-8").strip() if stamp.exists() else ""
        if force or current != wanted:
            with step(f"installing otel-feedback[{EXTRAS}] into .venv (pip install -e)"):
                pip_log.write_text("", encoding="utf-8")
                run_logged(
                    [str(python), "-m", "pip", "install", "--quiet", "--editable", f".[{EXTRAS}]"],
                    pip_log,
                    cwd=REPO_ROOT,
                )
                stamp.write_text(wanted + "\n", encoding="utf-8")
    return python


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Create or refresh the dev virtualenv .venv and print its python path."
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="re-run pip install even if pyproject.toml is unchanged",
    )
    args = parser.parse_args(argv)
    try:
        python = ensure_venv(force=args.force)
    except SetupError as error:
        say(f"error: {error}")
        return 1
    print(python)
    return 0


if __name__ == "__main__":
    sys.exit(main())
