#!/usr/bin/env python3
"""Arize Phoenix as a local OTLP backend for the tests and the demo.

Installing and serving need only the standard library, so this file is importable from the
system ``python3``; reading spans back uses ``arize-phoenix-client`` (installed in ``.venv``)::

    from phoenix_backend import PhoenixServer, ensure_phoenix

    with PhoenixServer() as phoenix:            # installs Phoenix once per machine
        export_spans_to(phoenix.otlp_grpc_endpoint)
        spans = phoenix.wait_for_spans(trace_id=trace_id, count=2)

Command line::

    python3 scripts/phoenix_backend.py install          # prints the phoenix executable
    python3 scripts/phoenix_backend.py serve [--port N] # runs until Ctrl-C

Phoenix (``arize-phoenix`` pinned to :data:`PHOENIX_VERSION`) lives in its own virtualenv
under ``${OTEL_FEEDBACK_CACHE_DIR:-~/.cache/otel-feedback}`` because it pins its own
OpenTelemetry versions. A server is started through a small watchdog process
(``local_server.py _watchdog``) that stops Phoenix when the process that started it dies.

Read-back (Phoenix 20.26.1) goes through ``arize-phoenix-client``'s ``spans.get_spans``,
``traces.get_traces`` and ``sessions.list`` / ``sessions.get`` (:meth:`PhoenixServer.client`).
Each span is ``{"id", "name", "context": {"trace_id", "span_id"}, "span_kind", "parent_id",
"start_time", "end_time", "status_code", "status_message", "attributes", "events"}`` with
attributes as a flat ``{"dotted.key": value}`` mapping (arrays as JSON lists) and events as
``[{"name", "timestamp", "attributes"}]``. Spans are ingested asynchronously: poll with
:meth:`PhoenixServer.wait_for_spans`. ``get_json`` stays for REST calls the client does not
cover.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

# Sibling modules (stdlib only), also when this file is imported from the tests.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from devenv import SetupError, say
from local_server import (
    ENV_CACHE_DIR,
    MARKER_NAME,
    PYTHON_ENV_LEAKS,
    LocalServer,
    RestError,
    cache_dir,
    ensure_tool,
    free_port,
    no_proxy_with_loopback,
    serve_until_interrupted,
)

PHOENIX_VERSION = "20.26.1"
PHOENIX_REQUIREMENT = f"arize-phoenix=={PHOENIX_VERSION}"
ENV_PHOENIX_BIN = "OTEL_FEEDBACK_PHOENIX_BIN"
_IMPORT_CHECK = "import phoenix.server.main, phoenix.version as v; print(v.__version__)"
LOG_NAME = "phoenix.log"
DEFAULT_PROJECT = "default"
_EVERYTHING = 1 << 40  # a "limit" that lets the client follow every page
Span = dict[str, Any]

__all__ = [
    "DEFAULT_PROJECT",
    "ENV_CACHE_DIR",
    "ENV_PHOENIX_BIN",
    "MARKER_NAME",
    "PhoenixError",
    "PhoenixRestError",
    "PhoenixServer",
    "cache_dir",
    "ensure_phoenix",
    "free_port",
    "no_proxy_with_loopback",
]


class PhoenixError(SetupError):
    """Installing, starting or querying Phoenix failed."""


# --------------------------------------------------------------------------- install


def phoenix_venv_dir() -> Path:
    """Where the pinned Phoenix virtualenv lives."""
    return cache_dir() / f"phoenix-{PHOENIX_VERSION}"


def ensure_phoenix(*, quiet: bool = False) -> Path:
    """Install Phoenix once per machine and return the path of its ``phoenix`` executable.

    A no-op (a file read) when already installed; see ``local_server.ensure_tool``.
    """
    return ensure_tool(
        f"Arize Phoenix {PHOENIX_VERSION}",
        phoenix_venv_dir().name,
        PHOENIX_REQUIREMENT,
        "phoenix",
        _IMPORT_CHECK,
        error=PhoenixError,
        quiet=quiet,
    )


# --------------------------------------------------------------------------- server


class PhoenixServer(LocalServer):
    """A ``phoenix serve`` process on 127.0.0.1 with free ports, plus a REST read-back client.

    Use as a context manager (or call :meth:`start` / :meth:`stop`). ``working_dir`` holds
    Phoenix's SQLite database and ``phoenix.log``; when it is ``None`` a temporary directory
    is used and removed on stop. ``port``/``grpc_port`` of ``None`` or ``0`` mean "pick a
    free one". ``phoenix_bin`` defaults to ``$OTEL_FEEDBACK_PHOENIX_BIN`` or
    :func:`ensure_phoenix`.
    """

    LABEL = "Phoenix"
    LOG_NAME = LOG_NAME
    HEALTH_PATH = "/healthz"
    ERROR = PhoenixError

    def __init__(
        self,
        working_dir: str | os.PathLike[str] | None = None,
        *,
        phoenix_bin: str | os.PathLike[str] | None = None,
        port: int | None = None,
        grpc_port: int | None = None,
        startup_timeout: float = 120.0,
        stop_timeout: float = 10.0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(working_dir, startup_timeout=startup_timeout, stop_timeout=stop_timeout)
        self._phoenix_bin = Path(phoenix_bin) if phoenix_bin is not None else None
        self._wanted_port = port or None
        self._wanted_grpc_port = grpc_port or None
        self._extra_env = dict(env or {})
        self._grpc_port = 0

    def __enter__(self) -> PhoenixServer:
        started: PhoenixServer = self.start()
        return started

    # ----------------------------------------------------------------- addresses

    @property
    def grpc_port(self) -> int:
        """OTLP/gRPC port."""
        if not self._grpc_port:
            raise PhoenixError("PhoenixServer is not started")
        return self._grpc_port

    @property
    def otlp_grpc_endpoint(self) -> str:
        """OTLP/gRPC endpoint ``http://127.0.0.1:<grpc_port>`` (plaintext).

        Phoenix 20.26.1 binds gRPC on ``[::]`` (all interfaces; hard-coded, unlike the HTTP
        host), so this port is reachable beyond loopback while the server runs.
        """
        return f"http://{self.host}:{self.grpc_port}"

    # ----------------------------------------------------------------- lifecycle

    def _resolve_bin(self) -> Path:
        if self._phoenix_bin is not None:
            return self._phoenix_bin
        from_env = os.environ.get(ENV_PHOENIX_BIN)
        return Path(from_env) if from_env else ensure_phoenix()

    def _pick_ports(self) -> bool:
        self._port = self._wanted_port or free_port()
        self._grpc_port = self._wanted_grpc_port or free_port()
        while self._grpc_port == self._port:
            self._grpc_port = free_port()
        return not (self._wanted_port or self._wanted_grpc_port)

    def _command(self, executable: Path) -> list[str]:
        # Phoenix's own python, through a launcher that keeps OTLP/gRPC on loopback.
        return [
            str(executable.with_name("python")),
            str(Path(__file__).resolve().with_name("phoenix_loopback.py")),
            "serve",
        ]

    def _server_env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PHOENIX_", "OTEL_")) and key not in PYTHON_ENV_LEAKS
        }
        env.update(
            {
                "PHOENIX_WORKING_DIR": str(self.working_dir),
                "PHOENIX_HOST": self.host,
                "PHOENIX_PORT": str(self._port),
                "PHOENIX_GRPC_PORT": str(self._grpc_port),
                # No analytics pixels, and no fetching of anything from the internet on
                # Phoenix's own initiative (web fonts, the WASM sandbox binary that it
                # otherwise downloads at startup, the docs MCP server).
                "PHOENIX_TELEMETRY_ENABLED": "false",
                "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
                # The in-app LLM assistant is useless here and would be configured at start.
                "PHOENIX_DISABLE_AGENT_ASSISTANT": "true",
                # Keep phoenix.log readable: no SQL dump of ~200 migration steps.
                "PHOENIX_LOG_MIGRATIONS": "false",
                "PYTHONUNBUFFERED": "1",
                "NO_PROXY": no_proxy_with_loopback(os.environ.get("NO_PROXY")),
                "no_proxy": no_proxy_with_loopback(os.environ.get("no_proxy")),
            }
        )
        env.update(self._extra_env)
        return env

    # ----------------------------------------------------------------- read-back

    def _rest_error(self, status: int, message: str) -> RestError:
        return PhoenixRestError(status, message)

    def client(self) -> Any:
        """An ``arize-phoenix-client`` ``Client`` for this server (loopback, no proxy)."""
        import httpx  # noqa: PLC0415 - in .venv, with arize-phoenix-client
        from phoenix.client import Client  # noqa: PLC0415

        if getattr(self, "_client", None) is None:
            http = httpx.Client(base_url=self.base_url, trust_env=False, timeout=30)
            self._client = Client(http_client=http)
        return self._client

    def _unless_missing(self, call: Callable[[Any], Any], missing: Any) -> Any:
        """``call(client)``, or ``missing`` when Phoenix answers 404 (nothing there yet)."""
        import httpx  # noqa: PLC0415

        try:
            return call(self.client())
        except httpx.HTTPStatusError as error:
            if error.response.status_code == 404:
                return missing
            raise PhoenixRestError(error.response.status_code, str(error)) from None

    def spans(
        self,
        trace_id: str | None = None,
        project: str = DEFAULT_PROJECT,
        *,
        name: str | None = None,
        parent_id: str | None = None,
        attribute: str | list[str] | None = None,
    ) -> list[Span]:
        """All spans of ``project`` (optionally of one trace), via ``spans.get_spans``.

        Server-side filters: ``trace_id``, ``name``, ``parent_id`` (``"null"`` for roots) and
        ``attribute`` (``"key:value"``, repeatable; the value matches a stored string). A
        project that has received nothing yet gives ``[]``.
        """
        pairs = [attribute] if isinstance(attribute, str) else list(attribute or [])
        attributes = dict(pair.split(":", 1) for pair in pairs) or None
        found: list[Span] = self._unless_missing(
            lambda client: client.spans.get_spans(
                project_identifier=project,
                trace_ids=[trace_id] if trace_id else None,
                name=name,
                parent_id=parent_id,
                attributes=attributes,
                limit=_EVERYTHING,
                timeout=30,
            ),
            [],
        )
        return found

    def wait_for_spans(
        self,
        predicate: Callable[[list[Span]], bool] | None = None,
        *,
        count: int | None = None,
        trace_id: str | None = None,
        project: str = DEFAULT_PROJECT,
        name: str | None = None,
        timeout: float = 30.0,
        interval: float = 0.2,
    ) -> list[Span]:
        """Poll :meth:`spans` until the result satisfies the condition; return it.

        The condition is: at least ``count`` spans (default 1 when no ``predicate``) and
        ``predicate(spans)`` true (if given). Raises :class:`TimeoutError` describing what
        did arrive.
        """
        minimum = count if count is not None else (1 if predicate is None else 0)
        deadline = time.monotonic() + timeout
        while True:
            spans = self.spans(trace_id, project, name=name)
            if len(spans) >= minimum and (predicate is None or predicate(spans)):
                return spans
            if time.monotonic() > deadline:
                seen = ", ".join(sorted(str(s.get("name")) for s in spans)) or "none"
                raise TimeoutError(
                    f"Phoenix did not show the expected spans within {timeout:.0f} s "
                    f"(project={project!r}, trace_id={trace_id}, wanted >= {minimum}"
                    f"{' + predicate' if predicate else ''}); got {len(spans)}: {seen}"
                )
            time.sleep(interval)

    def sessions(self, project: str = DEFAULT_PROJECT) -> list[dict[str, Any]]:
        """Sessions of ``project`` (``sessions.list``).

        Phoenix groups traces into sessions by the ``session.id`` span attribute. Each item:
        ``{"id", "session_id", "project_id", "start_time", "end_time",
        "traces": [{"id", "trace_id", "start_time", "end_time"}], "token_count_*"}``.
        """
        found: list[dict[str, Any]] = self._unless_missing(
            lambda client: client.sessions.list(project_name=project, timeout=30), []
        )
        return found

    def session(self, session_id: str) -> dict[str, Any] | None:
        """One session by its ``session.id`` (``sessions.get``), or None."""
        found: dict[str, Any] | None = self._unless_missing(
            lambda client: client.sessions.get(session_id=session_id, timeout=30), None
        )
        return found

    def traces(
        self, project: str = DEFAULT_PROJECT, *, session_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Traces of ``project`` with their spans and start/end (``traces.get_traces``)."""
        found: list[dict[str, Any]] = self._unless_missing(
            lambda client: client.traces.get_traces(
                project_identifier=project,
                session_id=session_id,
                include_spans=True,
                limit=_EVERYTHING,
                timeout=30,
            ),
            [],
        )
        return found


class PhoenixRestError(RestError, PhoenixError):
    """A REST call answered with an HTTP error status (``status``)."""


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Local Arize Phoenix for otel-feedback.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install", help="install Phoenix once and print the phoenix executable")
    serve = sub.add_parser("serve", help="run Phoenix on 127.0.0.1 until Ctrl-C")
    serve.add_argument("--port", type=int, default=0, help="HTTP/UI port (default: free)")
    serve.add_argument("--grpc-port", type=int, default=0, help="OTLP gRPC port (default: free)")
    serve.add_argument(
        "--working-dir",
        type=Path,
        default=None,
        help="keep data and phoenix.log here (default: a temp dir)",
    )
    args = parser.parse_args(argv)
    if args.command == "install":
        try:
            print(ensure_phoenix())
        except SetupError as error:
            say(f"error: {error}")
            return 1
        return 0
    server = PhoenixServer(args.working_dir, port=args.port, grpc_port=args.grpc_port)
    return serve_until_interrupted(
        server,
        lambda: [
            f"Phoenix UI:       {server.base_url}",
            f"OTLP/HTTP:        {server.otlp_http_endpoint}",
            f"OTLP/gRPC:        {server.otlp_grpc_endpoint}",
            f"log:              {server.log_path}",
        ],
    )


if __name__ == "__main__":
    sys.exit(main())
