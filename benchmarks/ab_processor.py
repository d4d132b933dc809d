#!/usr/bin/env python3
"""Two versions of ``FeedbackSpanProcessor`` side by side: ``python3 benchmarks/ab_processor.py``.

Changes to the processor's hot path move B1 by a percent or less, about what B1 itself moves
between two runs. Here both versions run in one process, paired and interleaved with B1's
method: each round times a bare provider, one with version A and one with version B, for
root spans (B1) and for child spans (B1c), and the medians of the per-round ratios are
printed.

    python3 benchmarks/ab_processor.py              # HEAD's processor.py (A), working tree (B)
    python3 benchmarks/ab_processor.py --a main~3   # another revision as A
    python3 benchmarks/ab_processor.py --a old.py --b new.py --rounds 100

A and B are the file ``src/otel_feedback/processor.py`` at a git revision, or a path; each is
loaded as its own module beside the rest of the package from the working tree. Writes nothing.

Its resolution: two identical files (``--a X --b X``) came out up to 1 % apart (B/A 0.991 to
1.000 in 200 rounds), so a difference smaller than about 1 % is not a finding.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
PROCESSOR = "src/otel_feedback/processor.py"


def source(spec: str, folder: Path) -> Path:
    """The processor source named by ``spec``: a file path, or a git revision."""
    path = Path(spec)
    if path.is_file():
        return path
    text = subprocess.run(
        ["git", "show", f"{spec}:{PROCESSOR}"], cwd=REPO_ROOT, check=True,
        capture_output=True, text=True,
    ).stdout
    copy = folder / f"processor_{len(list(folder.iterdir()))}.py"
    copy.write_text(text)
    return copy


def load(path: Path, name: str) -> ModuleType:
    """Import ``path`` as module ``name`` (its own REGISTRY, its own classes)."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--a", default="HEAD", help="git revision or file (default HEAD)")
    parser.add_argument("--b", default=PROCESSOR, help="git revision or file (default: the file)")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()

    from run import enter_dev_venv  # noqa: PLC0415 - the same interpreter as run.py's

    enter_dev_venv(str(Path(__file__).resolve()))
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: PLC0415

    from benchmarks import suite, workloads  # noqa: PLC0415
    from benchmarks.harness import interleave  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as folder:
        modules = {
            label: load(source(spec, Path(folder)), f"processor_{label.lower()}")
            for label, spec in (("A", args.a), ("B", args.b))
        }

    def provider(module: ModuleType | None) -> TracerProvider:
        result = TracerProvider()
        if module is not None:
            result.add_span_processor(module.FeedbackSpanProcessor(tracer_provider=result))
        result.add_span_processor(SimpleSpanProcessor(workloads.NoopExporter()))
        return result

    providers = {"bare": provider(None), "A": provider(modules["A"]), "B": provider(modules["B"])}

    def children(tracer: Any) -> Callable[[int], int]:
        return workloads.child_span_loop(tracer, tracer.start_span("root"))

    print(f"A = {args.a}, B = {args.b}; {args.rounds} rounds each", flush=True)
    for label, make in (("root spans (B1)", workloads.span_loop), ("child spans (B1c)", children)):
        rounds = interleave(
            {name: make(p.get_tracer("bench")) for name, p in providers.items()},
            **suite.Scale().timing(args.rounds),
        )
        pairs = (("A", "bare"), ("B", "bare"), ("B", "A"))
        a, b, b_over_a = (statistics.median(rounds.ratios(x, y)) for x, y in pairs)
        print(f"{label:18}  A/bare {a:.4f}  B/bare {b:.4f}  B/A {b_over_a:.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH_DIR))
    raise SystemExit(main())
