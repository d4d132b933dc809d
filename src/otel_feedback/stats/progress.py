"""A progress bar on stderr while DuckDB reads a large source (rich, polled from a thread)."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

LARGE_BYTES = 64 * 1024 * 1024
"""Sources at least this large get a progress bar (when stderr is a terminal)."""


def size_of(path: Path) -> int:
    """Bytes of a file, or of every file under a directory."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size if path.is_file() else 0


@contextlib.contextmanager
def duckdb_progress(
    con: Any, title: str, *, enabled: bool, path: Path | None = None
) -> Iterator[None]:
    """Show DuckDB's query progress for the statements run inside, if worth it."""
    large = path is None or size_of(path) >= LARGE_BYTES
    if not (enabled and large and sys.stderr.isatty()):
        yield
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: PLC0415

    done = threading.Event()
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        transient=True,
        console=_stderr_console(),
    )

    def poll() -> None:
        task = bar.add_task(title, total=100)
        while not done.wait(0.2):
            with contextlib.suppress(Exception):  # no query running right now
                percent = float(con.query_progress())
                if percent >= 0:
                    bar.update(task, completed=percent)

    with bar:
        thread = threading.Thread(target=poll, daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()


def _stderr_console() -> Any:
    from rich.console import Console  # noqa: PLC0415

    return Console(stderr=True)
