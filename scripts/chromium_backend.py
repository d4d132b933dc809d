#!/usr/bin/env python3
"""Debian's headless Chromium for the browser test, installed once per machine (stdlib only).

    python3 scripts/chromium_backend.py        # installs when missing, prints its path

The browser test drives ``/usr/bin/chromium`` with Playwright for Python
(``executable_path=``); no browser build is downloaded. Installing needs root (``apt-get``);
the output of apt goes to ``~/.cache/otel-feedback/chromium-install.log`` and is shown only
when it fails.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from devenv import SetupError
from local_server import ensure_debian_package

CHROMIUM = Path("/usr/bin/chromium")


def ensure_chromium(*, quiet: bool = False) -> Path:
    """Return the Chromium executable, installing Debian's ``chromium`` package if missing."""
    return ensure_debian_package(CHROMIUM, "chromium", "the browser test", quiet=quiet)


if __name__ == "__main__":
    try:
        print(ensure_chromium())
    except SetupError as error:
        print(error, file=sys.stderr)
        sys.exit(1)
