"""``otel-feedback serve``: the feedback endpoint alone, served by uvicorn.

    OTEL_FEEDBACK_TOKEN_SECRET=... OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4317 \\
        otel-feedback serve --port 8000 --cors-origin https://chat.example.com

Records are exported through :func:`otel_feedback.configure` (the standard ``OTEL_*``
variables; batches leave at least every second unless ``OTEL_BSP_SCHEDULE_DELAY`` says
otherwise) and flushed when the server stops (Ctrl-C or SIGTERM). The first line printed is
``otel-feedback serve: listening on http://HOST:PORT`` (the real port when ``--port 0``).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
from typing import Any

import uvicorn

import otel_feedback as fb
from otel_feedback.errors import ConfigurationError
from otel_feedback.web.asgi import create_app
from otel_feedback.web.config import DEFAULT_RATE_LIMIT, DEFAULT_TOKEN_RATE_LIMIT

BSP_SCHEDULE_DELAY = "OTEL_BSP_SCHEDULE_DELAY"


def register(subparsers: Any) -> None:
    """Add the ``serve`` subcommand to the ``otel-feedback`` parser."""
    parser = subparsers.add_parser(
        "serve",
        help="run the feedback endpoint (POST /feedback)",
        description="Serve POST /feedback and GET /feedback.js, exporting through the OTEL_* "
        "variables. Needs OTEL_FEEDBACK_TOKEN_SECRET (the secret the application signs its "
        "tokens with; several separated by commas) unless --allow-unsigned.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (8000; 0 picks a free one)")
    parser.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        dest="cors_origins",
        metavar="ORIGIN",
        help="a web origin allowed to post feedback, e.g. https://chat.example.com (repeatable)",
    )
    parser.add_argument(
        "--max-age",
        type=float,
        default=None,
        metavar="SECONDS",
        help="oldest token accepted (default OTEL_FEEDBACK_TOKEN_MAX_AGE, else 30 days)",
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=DEFAULT_RATE_LIMIT,
        metavar="REQUESTS_PER_MINUTE_PER_CLIENT",
        help=f"requests per minute from one client address ({DEFAULT_RATE_LIMIT}; 0: off)",
    )
    parser.add_argument(
        "--token-rate-limit",
        type=int,
        default=DEFAULT_TOKEN_RATE_LIMIT,
        metavar="RECORDS_PER_MINUTE_PER_TOKEN",
        help=f"records per minute about one answer ({DEFAULT_TOKEN_RATE_LIMIT}; 0: off)",
    )
    parser.add_argument(
        "--rate-limit-storage",
        default="memory://",
        metavar="URI",
        help="where rate-limit counts live: memory:// (default) or redis://host:6379 to share "
        "them between instances (needs the redis package)",
    )
    parser.add_argument(
        "--allow-unsigned",
        action="store_true",
        help="run without a token secret: anyone can then post feedback for any span",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn's log level (info: start and stop lines; no access log)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; returns the exit code (2 for an unsafe configuration)."""
    try:
        app = create_app(
            max_age=args.max_age,
            cors_origins=args.cors_origins,
            rate_limit=args.rate_limit,
            token_rate_limit=args.token_rate_limit,
            rate_limit_storage=args.rate_limit_storage,
            allow_unsigned=args.allow_unsigned,
        )
    except ConfigurationError as error:
        print(f"otel-feedback serve: {error}", file=sys.stderr)
        return 2
    try:
        sock = _bind(args.host, args.port)
    except OSError as error:
        print(f"otel-feedback serve: cannot listen on {args.host}:{args.port}: {error}",
              file=sys.stderr)
        return 2
    # Feedback is exported within a second unless the standard variable says otherwise.
    os.environ.setdefault(BSP_SCHEDULE_DELAY, "1000")
    provider = fb.configure()
    config = uvicorn.Config(
        app,
        host=args.host,
        port=sock.getsockname()[1],
        log_level=args.log_level,
        access_log=False,
        lifespan="off",
        server_header=False,
    )
    server = uvicorn.Server(config)
    # uvicorn stops on SIGTERM, then raises it again with the previous handler: make that an
    # exception, so the spans are flushed below instead of the process ending on the spot.
    previous = signal.signal(signal.SIGTERM, _raise_system_exit)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"otel-feedback serve: listening on http://{shown}:{port}", flush=True)
    # uvicorn says this itself only when it opens the socket; the socket is already listening.
    logging.getLogger("uvicorn.error").info(
        "Uvicorn running on http://%s:%d (Press CTRL+C to quit)", shown, port
    )
    try:
        server.run(sockets=[sock])
    except (SystemExit, KeyboardInterrupt):
        pass  # a signal, already handled by uvicorn's graceful shutdown
    finally:
        signal.signal(signal.SIGTERM, previous)
        sock.close()
        provider.shutdown()  # flush what was accepted before the server stopped
    return 0


def _raise_system_exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)  # connections wait in the backlog until uvicorn accepts them
    sock.set_inheritable(True)
    return sock
