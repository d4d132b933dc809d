"""``otel-feedback sync phoenix://HOST:PORT[/PROJECT]``: annotations for stored feedback.

One shot: reads the spans stored in a Phoenix project, finds the feedback records in them
and writes each as a Phoenix annotation (idempotent: a second run updates the same
annotations). For feedback exported before the bridge was set up.
"""

from __future__ import annotations

import argparse
import urllib.parse
from typing import Any

from otel_feedback.bridges.phoenix import DEFAULT_PROJECT, PhoenixAnnotationExporter

SCHEMES = {"phoenix": "http", "phoenix+http": "http", "phoenix+https": "https"}


def parse_store(url: str) -> tuple[str, str]:
    """``phoenix://HOST:PORT[/PROJECT]`` -> (base URL, project). Raises ``ValueError``."""
    parsed = urllib.parse.urlsplit(url)
    scheme = SCHEMES.get(parsed.scheme)
    if scheme is None or not parsed.hostname:
        raise ValueError(
            f"{url!r} is not a Phoenix store; use phoenix://HOST:PORT[/PROJECT] "
            "(phoenix+https:// for TLS)"
        )
    project = urllib.parse.unquote(parsed.path.strip("/")) or DEFAULT_PROJECT
    return f"{scheme}://{parsed.netloc}", project


def register(subparsers: Any) -> None:
    """Add the ``sync`` subcommand."""
    parser = subparsers.add_parser(
        "sync",
        help="mirror stored feedback as annotations",
        description="Write Phoenix annotations for the feedback already stored in Phoenix.",
    )
    parser.add_argument("store", help="phoenix://HOST:PORT[/PROJECT] (project default: default)")
    parser.add_argument(
        "--api-key", default=None, help="Phoenix API key (default: $PHOENIX_API_KEY)"
    )
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds to wait for the writes"
    )
    parser.add_argument(
        "--limit", type=int, default=100_000, help="most spans to read (default 100000)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``sync``; exit code 0 when every record found was written."""
    try:
        endpoint, project = parse_store(args.store)
    except ValueError as error:
        print(f"otel-feedback sync: {error}")
        return 2
    exporter = PhoenixAnnotationExporter(
        endpoint, project, api_key=args.api_key, max_wait=args.timeout
    )
    try:
        found, written = exporter.sync(limit=args.limit, timeout=args.timeout)
    except Exception as error:  # noqa: BLE001 - a command reports, it does not trace back
        print(f"otel-feedback sync: could not read spans from {endpoint} ({project}): {error}")
        return 1
    finally:
        exporter.shutdown()
    print(f"{project}: {found} feedback record(s) found, {written} written as annotations")
    return 0 if written == found else 1
