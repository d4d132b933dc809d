"""Charts with matplotlib: one panel per field over time, one line per group.

Numbers show the average with a band up to the P95 (dashed); booleans the percentage of
``true``; strings the count of values. Written to a PNG without a display (Agg backend).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

from otel_feedback.stats.query import Row

_WHAT = {"number": "avg, band up to P95", "bool": "% true", "string": "count of values"}


def plot(rows: list[Row], path: str | Path, *, title: str | None = None) -> Path:
    """Draw ``rows`` into a PNG at ``path``; returns the path."""
    import matplotlib  # noqa: PLC0415 - the [stats] extra

    matplotlib.use("Agg")
    import matplotlib.dates as mdates  # noqa: PLC0415
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fields = sorted({row.field for row in rows})
    panels = max(1, len(fields))
    figure, axes = plt.subplots(panels, 1, figsize=(10, 2.6 * panels + 0.6), squeeze=False)
    for axis, field in zip(axes[:, 0], fields, strict=False):
        series: dict[str | None, list[Row]] = defaultdict(list)
        for row in rows:
            if row.field == field:
                series[row.group].append(row)
        kind = next(row.type for row in rows if row.field == field)
        for group, points in sorted(series.items(), key=lambda item: str(item[0])):
            points.sort(key=lambda r: r.bucket or "")
            xs = [_when(r.bucket) for r in points]
            label = "all" if group is None else group
            if kind == "number":
                ys = [r.measures["avg"] for r in points]
                (line,) = axis.plot(xs, ys, marker="o", markersize=3, label=label)
                p95 = [r.measures["p95"] for r in points]
                axis.fill_between(xs, ys, p95, color=line.get_color(), alpha=0.12)
                axis.plot(xs, p95, color=line.get_color(), linestyle="--", linewidth=0.8)
            elif kind == "bool":
                ys = [r.measures["percent_true"] for r in points]
                axis.plot(xs, ys, marker="o", markersize=3, label=label)
                axis.set_ylim(-2, 102)
            else:
                ys = [r.measures["count"] for r in points]
                axis.plot(xs, ys, marker="o", markersize=3, label=label)
        axis.set_title(f"{field} — {_WHAT[kind]}", fontsize=10, loc="left")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        locator = axis.xaxis.get_major_locator()
        axis.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    if not fields:
        axes[0, 0].text(0.5, 0.5, "no feedback found", ha="center", va="center")
    figure.suptitle(title or "Feedback over time", fontsize=12)
    figure.tight_layout()
    target = Path(path)
    figure.savefig(target, dpi=110)
    plt.close(figure)
    return target


def _when(bucket: str | None) -> dt.datetime:
    if bucket is None:
        return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    return dt.datetime.fromisoformat(bucket.replace("Z", "+00:00"))
