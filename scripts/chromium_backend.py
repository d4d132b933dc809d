#!/usr/bin/env python3
"""Debian's headless Chromium for the browser test, installed once per machine (stdlib only).

    python3 scripts/chromium_backend.py        # installs when missing, prints its path

The browser test drives ``/usr/bin/chromium`` with Playwright for Python
(``executable_path=``); no browser build is downloaded. Installing needs root (``apt-get``);
the output of apt goes to ``~/.cache/otel-feedback/chromium-install.log`` and is shown only
when it fails.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from devenv import SetupError, file_lock, run_logged, step
from phoenix_backend import cache_dir

CHROMIUM = Path("/usr/bin/chromium")


def ensure_chromium(*, quiet: bool = False) -> Path:
    """Return the Chromium executable, installing Debian's ``chromium`` package if missing."""
    if CHROMIUM.exists():
        return CHROMIUM
    if shutil.which("apt-get") is None:
        raise SetupError(f"{CHROMIUM} is missing and apt-get is not available to install it")
    if os.geteuid() != 0:
        raise SetupError(f"{CHROMIUM} is missing: run `sudo apt-get install -y chromium` once")
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    with file_lock(root / "chromium.lock"):
        if CHROMIUM.exists():
            return CHROMIUM
        log_path = root / "chromium-install.log"
        log_path.write_text("", encoding="utf-8")
        os.environ.setdefault("DEBIAN_FRONTEND", "noninteractive")
        with step(
            "installing Debian chromium for the browser test (once per machine)", quiet=quiet
        ):
            run_logged(["apt-get", "update", "-q"], log_path)
            run_logged(["apt-get", "install", "-y", "-q", "chromium"], log_path)
        if not CHROMIUM.exists():
            raise SetupError(f"apt-get installed chromium but {CHROMIUM} is missing")
    return CHROMIUM


if __name__ == "__main__":
    try:
        print(ensure_chromium())
    except SetupError as error:
        print(error, file=sys.stderr)
        sys.exit(1)
