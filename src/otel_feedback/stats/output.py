"""Rows as a terminal table (rich), JSON (``{"rows": [...]}``) or CSV."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any, TextIO

from otel_feedback.stats.query import MEASURES, Row

FORMATS = ("table", "json", "csv")
"""Values of ``--format``."""

CSV_COLUMNS = (
    "field",
    "type",
    "group",
    "bucket",
    *dict.fromkeys(name for measures in MEASURES.values() for name in measures),
)
"""CSV header: the row keys, then every measure of every type (empty where not applicable)."""


def write(rows: list[Row], fmt: str, out: TextIO) -> None:
    """Write ``rows`` to ``out`` in format ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "json":
        json.dump({"rows": [row.as_dict() for row in rows]}, out, allow_nan=False)
        out.write("\n")
    elif fmt == "csv":
        writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            record = row.as_dict()
            if "top" in record:
                record["top"] = json.dumps(record["top"])
            writer.writerow(record)
    else:
        write_table(rows, out)


def write_table(rows: list[Row], out: TextIO) -> None:
    """One rich table per field type, columns = its measures."""
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    console = Console(file=out, width=max(_width(out), 100), highlight=False)
    show_group = any(row.group is not None for row in rows)
    show_bucket = any(row.bucket is not None for row in rows)
    for kind, measures in MEASURES.items():
        selected = [row for row in rows if row.type == kind]
        if not selected:
            continue
        table = Table(title=f"{kind} fields", title_justify="left", show_lines=False)
        table.add_column("field", no_wrap=True)
        if show_group:
            table.add_column("group")
        if show_bucket:
            table.add_column("bucket", no_wrap=True)
        for name in measures:
            table.add_column(name, justify="left" if name == "top" else "right")
        for row in selected:
            cells = [row.field]
            if show_group:
                cells.append("null" if row.group is None else row.group)
            if show_bucket:
                cells.append(row.bucket or "")
            cells += [_cell(name, row.measures[name]) for name in measures]
            table.add_row(*cells)
        console.print(table)


def _cell(name: str, value: Any) -> str:
    if name == "top":
        return ", ".join(f"{v} ({n})" for v, n in value)
    if name == "percent_true":
        return f"{value:.1f}%"
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.4g}"
    return str(value)


def _width(out: TextIO) -> int:
    try:
        import os  # noqa: PLC0415

        return os.get_terminal_size(out.fileno()).columns
    except (OSError, ValueError, io.UnsupportedOperation, AttributeError):
        return 120
