"""What to measure and what comes out: the query, the measures per type, one row per cell.

Shared by every source (docs/DESIGN.md §8). A source turns a :class:`Query` into rows whose
``measures`` hold exactly the names in :data:`MEASURES` for the row's type; everything a
source skipped is counted in :class:`Skipped` and reported with the result.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from otel_feedback import conventions as names

FieldType = Literal["bool", "number", "string"]

MEASURES: dict[str, tuple[str, ...]] = {
    "bool": ("count", "true", "false", "percent_true"),
    "number": ("count", "sum", "avg", "median", "min", "max", "p95", "p98", "p99"),
    "string": ("count", "distinct", "top"),
}
"""The measures of each field type, in output order (normative, docs/DESIGN.md §8)."""

PERCENTILES = {"p95": 0.95, "p98": 0.98, "p99": 0.99}
"""Percentile measures: linear interpolation between closest ranks (numpy's default)."""

DEFAULT_FIELDS = (f"{names.FEEDBACK}.*", f"{names.METRICS}.*")
"""Fields measured when no ``--field`` is given."""

LATE_RECORD_KEYS = frozenset(names.RECORD_KEYS)
"""Attributes of a late ``feedback`` span that describe the record, not a field."""

DEFAULT_TOP = 5
"""How many ``(value, count)`` pairs ``top`` lists for a string field."""

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_EVERY = re.compile(r"^\s*(\d+)?\s*([smhdw])\s*$")


@dataclass(frozen=True, slots=True)
class Query:
    """The fields, grouping, time buckets and time window to measure."""

    fields: tuple[str, ...] = DEFAULT_FIELDS
    """Glob patterns (``fnmatch``) of attribute keys: ``feedback.*``, ``metrics.judge.*``."""
    group_by: str | None = None
    """Attribute of the rated span, else of its trace's root, else a resource attribute."""
    every_seconds: int | None = None
    """Width of the time buckets (by the rated span's start), or ``None`` for one bucket."""
    since: dt.datetime | None = None
    """Only rated spans that started at or after this moment (UTC)."""
    until: dt.datetime | None = None
    """Only rated spans that started before this moment (UTC)."""
    top: int = DEFAULT_TOP
    """How many values ``top`` lists for string fields."""

    def matches(self, key: str) -> bool:
        """True when attribute ``key`` is one of the measured fields."""
        return any(fnmatch.fnmatchcase(key, pattern) for pattern in self.fields)

    def field_regex(self) -> str:
        """One regular expression (RE2 and Python compatible) matching the field globs."""
        return "^(?:" + "|".join(glob_to_regex(p) for p in self.fields) + ")$"

    @property
    def since_ns(self) -> int | None:
        """``since`` in nanoseconds since the epoch."""
        return _to_ns(self.since)

    @property
    def until_ns(self) -> int | None:
        """``until`` in nanoseconds since the epoch."""
        return _to_ns(self.until)


def glob_to_regex(pattern: str) -> str:
    """A glob (``*``, ``?``, ``[...]``) as an anchored-free regular expression body."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[":
            end = pattern.find("]", index + 2)
            if end < 0:
                out.append(re.escape(char))
            else:
                body = pattern[index + 1 : end]
                negate = body.startswith("!")
                body = body[1:] if negate else body
                out.append("[" + ("^" if negate else "") + body.replace("\\", "\\\\") + "]")
                index = end
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)


def parse_every(text: str) -> int:
    """``30m``, ``1h``, ``1d``, ``1w`` (a number and a unit of s/m/h/d/w) as seconds."""
    match = _EVERY.match(text.lower())
    if not match:
        raise ValueError(f"--every {text!r}: expected a number and a unit s, m, h, d or w (1h)")
    amount = int(match.group(1) or 1)
    if amount < 1:
        raise ValueError(f"--every {text!r}: the width must be at least 1")
    return amount * _UNITS[match.group(2)]


def parse_moment(text: str) -> dt.datetime:
    """An ISO 8601 date or date-time; without a zone it is UTC."""
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 date or date-time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def _to_ns(moment: dt.datetime | None) -> int | None:
    if moment is None:
        return None
    delta = moment - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    return (delta // dt.timedelta(microseconds=1)) * 1000


def bucket_iso(start_ns: int | None) -> str | None:
    """A bucket start (ns since the epoch) as ISO 8601 UTC, ``2026-11-30T13:00:00Z``."""
    if start_ns is None:
        return None
    seconds = start_ns // 1_000_000_000
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Skipped:
    """What a source could not measure, by reason; reported at the end, never raised."""

    counts: Counter[str] = field(default_factory=Counter)

    def add(self, reason: str, amount: int = 1) -> None:
        """Count ``amount`` items skipped for ``reason`` (zero is ignored)."""
        if amount:
            self.counts[reason] += int(amount)

    def lines(self) -> list[str]:
        """``skipped N <reason>`` lines, most frequent first."""
        return [f"skipped {n} {reason}" for reason, n in self.counts.most_common()]


@dataclass(frozen=True, slots=True)
class Row:
    """The measures of one field in one group and one time bucket."""

    field: str
    type: FieldType
    group: str | None
    bucket: str | None
    measures: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """The row as ``--format json`` prints it."""
        return {
            "field": self.field,
            "type": self.type,
            "group": self.group,
            "bucket": self.bucket,
            **self.measures,
        }


@dataclass
class Result:
    """Rows in (field, group, bucket) order, with what was skipped and which globs matched."""

    rows: list[Row]
    skipped: Skipped
    unmatched_fields: tuple[str, ...] = ()
    """Field globs that matched no data."""


def sort_rows(rows: list[Row]) -> list[Row]:
    """Rows by field, then group (``null`` first), then bucket."""
    return sorted(rows, key=lambda r: (r.field, r.group is not None, r.group or "", r.bucket or ""))
