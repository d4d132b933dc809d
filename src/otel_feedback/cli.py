"""The ``otel-feedback`` command: one entry point, one subcommand per optional room.

Each subcommand lives with the code it drives (``stats``, ``serve``, ``sync``) and is
imported only when used, so a missing extra gives a clear message instead of an
``ImportError`` for every command. A room registers itself with a ``register(subparsers)``
function in the module named in :data:`COMMANDS`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from otel_feedback.conventions import VERSION

COMMANDS: dict[str, tuple[str, str, str]] = {
    # name: (module with register(subparsers), extra that installs it, one-line help)
    "stats": ("otel_feedback.stats.cli", "stats", "measure the feedback in a trace store"),
    "serve": ("otel_feedback.web.cli", "web", "run the feedback endpoint (POST /feedback)"),
    "sync": ("otel_feedback.bridges.cli", "phoenix", "mirror stored feedback as annotations"),
}


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    """The parser, with the chosen subcommand's options loaded (only that one is imported)."""
    parser = argparse.ArgumentParser(
        prog="otel-feedback",
        description="User feedback on LLM traces, as OpenTelemetry data.",
    )
    parser.add_argument("--version", action="version", version=f"otel-feedback {VERSION}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    for name, (module_name, extra, help_text) in COMMANDS.items():
        if name != chosen:
            subparsers.add_parser(name, help=help_text)
            continue
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            parser.exit(
                2,
                f"otel-feedback {name}: needs the [{extra}] extra "
                f"(pip install 'otel-feedback[{extra}]'): {error}\n",
            )
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``otel-feedback`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(args_list)
    args = parser.parse_args(args_list)
    run = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return 2
    return int(run(args))


if __name__ == "__main__":
    sys.exit(main())
