#!/usr/bin/env python3
"""Build the wheel and sdist and check what users will install: ``python scripts/check_dist.py``.

Run inside the dev virtualenv (``scripts/test.py`` does). Builds both into a temporary
directory with ``build`` (isolated, as a release would), runs ``twine check`` on them, and
checks the wheel's metadata and contents: the core depends on the three OpenTelemetry
packages only, every optional room has its extra, the console script and the
``opentelemetry_configurator`` entry point are declared, and ``py.typed`` and the browser
client ship. Exit code 0 when all hold; otherwise each problem is printed.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from email.parser import Parser
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CORE = {"opentelemetry-api", "opentelemetry-sdk", "opentelemetry-exporter-otlp"}
EXTRAS = {"stats", "web", "scoring", "phoenix", "mlflow", "testing"}
SHIPPED = ("otel_feedback/py.typed", "otel_feedback/web/static/feedback.js")
ENTRY_POINTS = (
    "otel-feedback = otel_feedback.cli:main",
    "otel_feedback = otel_feedback.configurator:FeedbackConfigurator",
)


def _name(requirement: str) -> str:
    for stop in "<>=!~;[ (":
        requirement = requirement.split(stop, 1)[0]
    return requirement.strip().lower()


def check_wheel(wheel: Path) -> list[str]:
    """Problems with the wheel's metadata and contents (empty when it is right)."""
    problems: list[str] = []
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(metadata_name).decode())
        entry_name = next((n for n in names if n.endswith(".dist-info/entry_points.txt")), None)
        entry_points = archive.read(entry_name).decode() if entry_name else ""
    requires = metadata.get_all("Requires-Dist") or []
    core = {_name(r) for r in requires if "extra ==" not in r}
    if core != CORE:
        problems.append(f"core dependencies are {sorted(core)}, expected {sorted(CORE)}")
    extras = set(metadata.get_all("Provides-Extra") or [])
    if not extras >= EXTRAS:
        problems.append(f"extras missing: {sorted(EXTRAS - extras)}")
    problems += [f"{path} is not in the wheel" for path in SHIPPED if path not in names]
    problems += [
        f"entry point missing: {entry}" for entry in ENTRY_POINTS if entry not in entry_points
    ]
    if not metadata.get("Summary") or metadata.get("Description-Content-Type") != "text/markdown":
        problems.append("the summary or the README as markdown description is missing")
    return problems


def main() -> int:
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(
            [sys.executable, "-m", "build", "--wheel", "--sdist", "--outdir", out, str(REPO_ROOT)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        built = sorted(Path(out).iterdir())
        twine = [sys.executable, "-m", "twine", "check", "--strict", *map(str, built)]
        subprocess.run(twine, check=True)
        wheels = [path for path in built if path.suffix == ".whl"]
        if len(wheels) != 1 or not any(path.name.endswith(".tar.gz") for path in built):
            print(f"expected one wheel and one sdist, built {[p.name for p in built]}")
            return 1
        problems = check_wheel(wheels[0])
    for problem in problems:
        print(f"dist: {problem}")
    if not problems:
        print(f"dist: {', '.join(p.name for p in built)} built and checked")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
