"""``otel-feedback stats SOURCE``: measure the feedback in a trace store (docs/DESIGN.md §8)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from otel_feedback.stats.query import DEFAULT_FIELDS, DEFAULT_TOP, Query, parse_every, parse_moment
from otel_feedback.stats.sources import USAGE, SourceError, measure_source, parse_source

PROG = "otel-feedback stats"


def register(subparsers: Any) -> None:
    """Add the ``stats`` subcommand to the ``otel-feedback`` parser."""
    from otel_feedback.stats.output import FORMATS  # noqa: PLC0415

    parser = subparsers.add_parser(
        "stats",
        help="measure the feedback in a trace store",
        description="Measure the feedback on rated spans: booleans as a percentage, numbers "
        "as sum/avg/median/min/max/P95/P98/P99, strings by their most frequent values. "
        "Late feedback replaces the span's own value, later wins. " + USAGE + ".",
    )
    parser.add_argument("source", metavar="SOURCE", help=USAGE)
    parser.add_argument(
        "--field",
        action="append",
        metavar="GLOB",
        help="attribute keys to measure (repeatable; default: feedback.* and metrics.*)",
    )
    parser.add_argument(
        "--group-by",
        metavar="KEY",
        help="group by this attribute of the rated span, else of its trace's root span, "
        "else of its resource (missing: group null)",
    )
    parser.add_argument("--every", metavar="WIDTH", help="time buckets by span start: 1h, 1d, 15m")
    parser.add_argument("--since", metavar="TIME", help="only spans started at or after (ISO 8601)")
    parser.add_argument("--until", metavar="TIME", help="only spans started before (ISO 8601)")
    parser.add_argument("--format", choices=FORMATS, default="table", help="output (table)")
    parser.add_argument("--plot", metavar="FILE.png", help="also draw each field over time")
    parser.add_argument(
        "--top", type=int, default=DEFAULT_TOP, metavar="N", help="values listed for strings (5)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def build_query(args: argparse.Namespace) -> Query:
    """The :class:`Query` the options ask for; ``ValueError`` for a bad option value."""
    if args.top < 1:
        raise ValueError("--top must be at least 1")
    return Query(
        fields=tuple(args.field) if args.field else DEFAULT_FIELDS,
        group_by=args.group_by or None,
        every_seconds=parse_every(args.every) if args.every else None,
        since=parse_moment(args.since) if args.since else None,
        until=parse_moment(args.until) if args.until else None,
        top=args.top,
    )


def run(args: argparse.Namespace) -> int:
    """Run the command; returns the exit code (0 ok, 1 source unreadable, 2 bad usage)."""
    from otel_feedback.stats import output  # noqa: PLC0415

    try:
        query = build_query(args)
        source = parse_source(args.source)
    except ValueError as error:
        return _fail(str(error), 2)
    except SourceError as error:
        return _fail(str(error), error.code)
    try:
        result = measure_source(source, query, show_progress=not args.no_progress)
    except SourceError as error:
        return _fail(str(error), error.code)
    output.write(result.rows, args.format, sys.stdout)
    for line in result.skipped.lines():
        _note(line)
    if not result.rows:
        _note(f"no feedback found in {args.source} (fields {', '.join(query.fields)})")
    else:
        for pattern in result.unmatched_fields:
            _note(f"--field {pattern}: matched no data")
    if args.plot:
        from otel_feedback.stats.plot import plot  # noqa: PLC0415

        if not query.every_seconds:
            _note("--plot without --every: one point per group (add --every 1h for a curve)")
        plot(result.rows, args.plot)
        _note(f"chart written to {args.plot}")
    return 0


def _note(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr)


def _fail(message: str, code: int) -> int:
    _note(f"error: {message}")
    return code
