#!/usr/bin/env python3
"""Arize Phoenix as a local OTLP backend for the tests and the demo (stdlib only).

Importable from the system ``python3`` and from inside ``.venv``::

    from phoenix_backend import PhoenixServer, ensure_phoenix

    with PhoenixServer() as phoenix:            # installs Phoenix once per machine
        export_spans_to(phoenix.otlp_grpc_endpoint)
        spans = phoenix.wait_for_spans(trace_id=trace_id, count=2)

Command line::

    python3 scripts/phoenix_backend.py install          # prints the phoenix executable
    python3 scripts/phoenix_backend.py serve [--port N] # runs until Ctrl-C

Phoenix (``arize-phoenix`` pinned to :data:`PHOENIX_VERSION`) lives in its own virtualenv
under ``${OTEL_FEEDBACK_CACHE_DIR:-~/.cache/otel-feedback}`` because it pins its own
OpenTelemetry versions. A server is started through a small watchdog process (this file's
``_watchdog`` subcommand) that stops Phoenix when the process that started it dies.

REST read-back (Phoenix 20.26.1): ``GET /v1/projects/{project}/spans`` returns
``{"data": [span, ...], "next_cursor": str | None}``; each span is
``{"id", "name", "context": {"trace_id", "span_id"}, "span_kind", "parent_id",
"start_time", "end_time", "status_code", "status_message", "attributes", "events"}`` with
attributes as a flat ``{"dotted.key": value}`` mapping (arrays as JSON lists) and events as
``[{"name", "timestamp", "attributes"}]``. Spans are ingested asynchronously: poll with
:meth:`PhoenixServer.wait_for_spans`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

# Sibling module (stdlib only), also when this file is imported from the tests.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from devenv import TAG, SetupError, file_lock, run_logged, say, step, tail

PHOENIX_VERSION = "20.26.1"
PHOENIX_REQUIREMENT = f"arize-phoenix=={PHOENIX_VERSION}"
ENV_CACHE_DIR = "OTEL_FEEDBACK_CACHE_DIR"
ENV_PHOENIX_BIN = "OTEL_FEEDBACK_PHOENIX_BIN"
MARKER_NAME = "otel-feedback-installed.json"
_IMPORT_CHECK = "import phoenix.server.main, phoenix.version as v; print(v.__version__)"
LOG_NAME = "phoenix.log"
DEFAULT_PROJECT = "default"
Span = dict[str, Any]


class PhoenixError(SetupError):
    """Installing, starting or querying Phoenix failed."""


# --------------------------------------------------------------------------- install


def cache_dir() -> Path:
    """``$OTEL_FEEDBACK_CACHE_DIR`` or ``~/.cache/otel-feedback``."""
    configured = os.environ.get(ENV_CACHE_DIR)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "otel-feedback"


def phoenix_venv_dir() -> Path:
    """Where the pinned Phoenix virtualenv lives."""
    return cache_dir() / f"phoenix-{PHOENIX_VERSION}"


def _venv_bin(venv_dir: Path, name: str) -> Path:
    if os.name == "nt":  # pragma: no cover - not a supported dev platform, kept tidy
        return venv_dir / "Scripts" / f"{name}.exe"
    return venv_dir / "bin" / name


def _is_installed(venv_dir: Path) -> bool:
    marker = venv_dir / MARKER_NAME
    try:
        info = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(info, dict)
        and info.get("requirement") == PHOENIX_REQUIREMENT
        # .exists() follows the interpreter symlink: a venv whose base Python is gone fails
        and _venv_bin(venv_dir, "python").exists()
        and _venv_bin(venv_dir, "phoenix").exists()
    )


def ensure_phoenix(*, quiet: bool = False) -> Path:
    """Install Phoenix once per machine and return the path of its ``phoenix`` executable.

    A no-op (a file read) when already installed. The install goes into its own virtualenv
    at :func:`phoenix_venv_dir`; a marker file is written only after ``pip install`` and an
    import check succeeded, so an interrupted install is redone. Two concurrent callers are
    serialised by a lock file; the second one finds the marker and returns.
    """
    venv_dir = phoenix_venv_dir()
    phoenix_bin = _venv_bin(venv_dir, "phoenix")
    if _is_installed(venv_dir):
        return phoenix_bin
    root = venv_dir.parent
    root.mkdir(parents=True, exist_ok=True)
    with file_lock(root / f"phoenix-{PHOENIX_VERSION}.lock"):
        if _is_installed(venv_dir):
            return phoenix_bin
        log_path = root / f"phoenix-{PHOENIX_VERSION}-install.log"
        log_path.write_text("", encoding="utf-8")
        title = f"installing Arize Phoenix {PHOENIX_VERSION} into {venv_dir} (once per machine)"
        with step(title, quiet=quiet):
            if venv_dir.exists():
                shutil.rmtree(venv_dir)
            leaks = _PYTHON_ENV_LEAKS
            run_logged([sys.executable, "-m", "venv", str(venv_dir)], log_path, drop_env=leaks)
            python = str(_venv_bin(venv_dir, "python"))
            run_logged(
                [python, "-m", "pip", "install", "--quiet", PHOENIX_REQUIREMENT],
                log_path,
                drop_env=leaks,
            )
            run_logged([python, "-c", _IMPORT_CHECK], log_path, drop_env=leaks)
            if not phoenix_bin.exists():
                raise PhoenixError(f"pip installed Phoenix but {phoenix_bin} is missing")
            marker = {
                "requirement": PHOENIX_REQUIREMENT,
                "python": sys.version.split()[0],
                "installed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            tmp = venv_dir / f"{MARKER_NAME}.tmp"
            tmp.write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
            tmp.replace(venv_dir / MARKER_NAME)
    return phoenix_bin


# --------------------------------------------------------------------------- server

# Inherited variables that would leak the caller's interpreter or OTel setup into Phoenix.
_PYTHON_ENV_LEAKS = frozenset(
    {
        "PYTHONPATH",
        "PYTHONHOME",
        "PYTHONSTARTUP",
        "PYTHONSAFEPATH",
        "VIRTUAL_ENV",
        "__PYVENV_LAUNCHER__",
    }
)
_LOOPBACK = "127.0.0.1"


def free_port(host: str = _LOOPBACK) -> int:
    """A TCP port that was free on ``host`` a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _no_proxy_opener() -> urllib.request.OpenerDirector:
    # Loopback traffic must never go through an http_proxy from the environment.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


class PhoenixServer:
    """A ``phoenix serve`` process on 127.0.0.1 with free ports, plus a REST read-back client.

    Use as a context manager (or call :meth:`start` / :meth:`stop`). ``working_dir`` holds
    Phoenix's SQLite database and ``phoenix.log``; when it is ``None`` a temporary directory
    is used and removed on stop. ``port``/``grpc_port`` of ``None`` or ``0`` mean "pick a
    free one". ``phoenix_bin`` defaults to ``$OTEL_FEEDBACK_PHOENIX_BIN`` or
    :func:`ensure_phoenix`.
    """

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
        self._given_working_dir = Path(working_dir) if working_dir is not None else None
        self._phoenix_bin = Path(phoenix_bin) if phoenix_bin is not None else None
        self._wanted_port = port or None
        self._wanted_grpc_port = grpc_port or None
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self._extra_env = dict(env or {})
        self._process: subprocess.Popen[bytes] | None = None
        self._working_dir: Path | None = None
        self._port = 0
        self._grpc_port = 0
        self._opener = _no_proxy_opener()
        #: Seconds from launching ``phoenix serve`` until ``/healthz`` answered.
        self.startup_seconds: float | None = None

    # ----------------------------------------------------------------- addresses

    @property
    def host(self) -> str:
        return _LOOPBACK

    @property
    def port(self) -> int:
        """HTTP port (UI, REST API, OTLP/HTTP)."""
        if not self._port:
            raise PhoenixError("PhoenixServer is not started")
        return self._port

    @property
    def grpc_port(self) -> int:
        """OTLP/gRPC port."""
        if not self._grpc_port:
            raise PhoenixError("PhoenixServer is not started")
        return self._grpc_port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` — the UI and the REST API (``/v1/...``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def otlp_http_endpoint(self) -> str:
        """Full OTLP/HTTP (protobuf) traces URL, ``.../v1/traces``."""
        return f"{self.base_url}/v1/traces"

    @property
    def otlp_grpc_endpoint(self) -> str:
        """OTLP/gRPC endpoint ``http://127.0.0.1:<grpc_port>`` (plaintext).

        Phoenix 20.26.1 binds gRPC on ``[::]`` (all interfaces; hard-coded, unlike the HTTP
        host), so this port is reachable beyond loopback while the server runs.
        """
        return f"http://{self.host}:{self.grpc_port}"

    @property
    def working_dir(self) -> Path:
        """Phoenix's data directory (SQLite database and ``phoenix.log``)."""
        if self._working_dir is None:
            raise PhoenixError("PhoenixServer is not started")
        return self._working_dir

    @property
    def log_path(self) -> Path:
        """The server's combined stdout/stderr."""
        return self.working_dir / LOG_NAME

    # ----------------------------------------------------------------- lifecycle

    def __enter__(self) -> PhoenixServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> PhoenixServer:
        """Start Phoenix and wait until ``/healthz`` answers; returns ``self``."""
        if self._process is not None:
            raise PhoenixError("PhoenixServer already started")
        phoenix_bin = self._phoenix_bin
        if phoenix_bin is None:
            from_env = os.environ.get(ENV_PHOENIX_BIN)
            phoenix_bin = Path(from_env) if from_env else ensure_phoenix()
        if not phoenix_bin.exists():
            raise PhoenixError(f"phoenix executable not found: {phoenix_bin}")
        if self._given_working_dir is not None:
            self._working_dir = self._given_working_dir.resolve()
            self._working_dir.mkdir(parents=True, exist_ok=True)
        else:
            self._working_dir = Path(tempfile.mkdtemp(prefix="otel-feedback-phoenix-"))
        try:
            # Retrying helps only when we picked the ports (one was taken meanwhile).
            attempts = 1 if self._wanted_port or self._wanted_grpc_port else 3
            for attempt in range(1, attempts + 1):
                if self._launch_and_wait(phoenix_bin, last_attempt=attempt == attempts):
                    return self
            raise AssertionError("unreachable")  # pragma: no cover
        except BaseException:
            self.stop()
            raise

    def _pick_ports(self) -> None:
        self._port = self._wanted_port or free_port()
        self._grpc_port = self._wanted_grpc_port or free_port()
        while self._grpc_port == self._port:
            self._grpc_port = free_port()

    def _server_env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PHOENIX_", "OTEL_")) and key not in _PYTHON_ENV_LEAKS
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

    def _launch_and_wait(self, phoenix_bin: Path, *, last_attempt: bool) -> bool:
        """Launch once; True when healthy, False to retry on a port clash."""
        self._pick_ports()
        log_path = self.log_path
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "_watchdog",
            "--parent-pid",
            str(os.getpid()),
            "--grace",
            str(self.stop_timeout),
            "--",
            # Phoenix's own python, through a launcher that keeps OTLP/gRPC on loopback.
            str(phoenix_bin.with_name("python")),
            str(Path(__file__).resolve().with_name("phoenix_loopback.py")),
            "serve",
        ]
        started = time.monotonic()
        with log_path.open("ab") as log:
            log.write(
                f"# {time.ctime()}: {phoenix_bin} serve on port {self._port}, "
                f"gRPC {self._grpc_port}\n".encode()
            )
            log.flush()
            self._process = subprocess.Popen(
                cmd,
                env=self._server_env(),
                cwd=str(self.working_dir),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C in the terminal is ours to handle
            )
        deadline = started + self.startup_timeout
        while True:
            if self._process.poll() is not None:
                log_tail = tail(log_path)
                self._process = None
                port_clash = "address already in use" in log_tail or "to bind" in log_tail
                if not last_attempt and port_clash:
                    return False
                raise PhoenixError(
                    f"phoenix serve exited during startup; last lines of {log_path}:\n{log_tail}"
                )
            if self._healthy():
                self.startup_seconds = time.monotonic() - started
                return True
            if time.monotonic() > deadline:
                raise PhoenixError(
                    f"phoenix serve not healthy after {self.startup_timeout:.0f} s at "
                    f"{self.base_url}/healthz; last lines of {log_path}:\n{tail(log_path)}"
                )
            time.sleep(0.25)

    def _healthy(self) -> bool:
        try:
            with self._opener.open(f"{self.base_url}/healthz", timeout=2) as response:
                return bool(response.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def stop(self) -> None:
        """Stop the server: SIGTERM, then SIGKILL after ``stop_timeout``. Idempotent."""
        process = self._process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()  # the watchdog forwards it and escalates itself
            try:
                process.wait(timeout=self.stop_timeout + 5)
            except subprocess.TimeoutExpired:
                _kill_group(process.pid)
                process.wait()
        if process is not None:
            _kill_group(process.pid)  # anything left in the group (normally nothing)
        # keep _process set so addresses/log_path still answer after stop
        if self._given_working_dir is None and self._working_dir is not None:
            shutil.rmtree(self._working_dir, ignore_errors=True)

    def logtail(self, lines: int = 40) -> str:
        return tail(self.log_path, lines)

    # ----------------------------------------------------------------- REST client

    def get_json(self, path: str, query: Mapping[str, Any] | None = None) -> Any:
        """GET ``base_url + path`` with ``query`` (lists repeat the key); returns parsed JSON.

        Raises :class:`PhoenixError` for non-2xx answers (the error carries ``status``).
        """
        url = f"{self.base_url}{path}"
        if query:
            pairs = [
                (key, str(item))
                for key, value in query.items()
                if value is not None
                for item in (value if isinstance(value, (list, tuple)) else [value])
            ]
            url = f"{url}?{urllib.parse.urlencode(pairs)}"
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        try:
            with self._opener.open(request, timeout=30) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            body = error.read().decode("utf-8", errors="replace")[:500]
            raise PhoenixRestError(error.code, f"GET {url} -> {error.code}: {body}") from None

    def _paginate(self, path: str, query: Mapping[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = self.get_json(path, {**query, "cursor": cursor})
            items.extend(page.get("data") or [])
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    def spans(
        self,
        trace_id: str | None = None,
        project: str = DEFAULT_PROJECT,
        *,
        name: str | None = None,
        parent_id: str | None = None,
        attribute: str | list[str] | None = None,
    ) -> list[Span]:
        """All spans of ``project`` (optionally of one trace), oldest ingested first.

        Uses ``GET /v1/projects/{project}/spans`` with server-side filters ``trace_id``,
        ``name``, ``parent_id`` (``"null"`` for roots) and ``attribute`` (``"key:value"``,
        repeatable), following ``next_cursor``. A project that has received nothing yet
        gives ``[]``.
        """
        query: dict[str, Any] = {
            "limit": 1000,
            "order": "asc",
            "trace_id": trace_id,
            "name": name,
            "parent_id": parent_id,
            "attribute": attribute,
        }
        path = f"/v1/projects/{urllib.parse.quote(project, safe='')}/spans"
        try:
            return self._paginate(path, query)
        except PhoenixRestError as error:
            if error.status == 404:  # project not created yet
                return []
            raise

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
        """Sessions of ``project`` (``GET /v1/projects/{project}/sessions``).

        Phoenix groups traces into sessions by the ``session.id`` span attribute. Each item:
        ``{"id", "session_id", "project_id", "start_time", "end_time",
        "traces": [{"id", "trace_id", "start_time", "end_time"}], "token_count_*"}``.
        """
        path = f"/v1/projects/{urllib.parse.quote(project, safe='')}/sessions"
        try:
            return self._paginate(path, {"limit": 1000})
        except PhoenixRestError as error:
            if error.status == 404:
                return []
            raise

    def session(self, session_id: str) -> dict[str, Any] | None:
        """One session by its ``session.id`` (``GET /v1/sessions/{id}``), or None."""
        try:
            answer = self.get_json(f"/v1/sessions/{urllib.parse.quote(session_id, safe='')}")
        except PhoenixRestError as error:
            if error.status == 404:
                return None
            raise
        data: dict[str, Any] = answer["data"]
        return data

    def traces(
        self, project: str = DEFAULT_PROJECT, *, session_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Traces of ``project`` with their start/end (``GET /v1/projects/{p}/traces``)."""
        path = f"/v1/projects/{urllib.parse.quote(project, safe='')}/traces"
        query = {"limit": 1000, "session_identifier": session_id, "include_spans": "true"}
        try:
            return self._paginate(path, query)
        except PhoenixRestError as error:
            if error.status == 404:
                return []
            raise


class PhoenixRestError(PhoenixError):
    """A REST call answered with an HTTP error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def no_proxy_with_loopback(value: str | None) -> str:
    """A ``NO_PROXY`` value that also exempts 127.0.0.1 and localhost."""
    hosts = [h.strip() for h in (value or "").split(",") if h.strip()]
    for host in ("127.0.0.1", "localhost"):
        if host not in hosts:
            hosts.append(host)
    return ",".join(hosts)


def _kill_group(pgid: int) -> None:
    if os.name != "posix":  # pragma: no cover
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


# --------------------------------------------------------------------------- watchdog


def _set_parent_death_signal() -> None:
    """In the child, before exec: ask Linux to SIGTERM it if the watchdog dies."""
    try:
        import ctypes  # noqa: PLC0415 - only needed in the forked child

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _watchdog(parent_pid: int, grace: float, cmd: list[str]) -> int:
    """Run ``cmd``; stop it on SIGTERM/SIGINT/SIGHUP or when ``parent_pid`` goes away.

    Stopping is SIGTERM, then SIGKILL after ``grace`` seconds. The child also gets
    PR_SET_PDEATHSIG on Linux, so it is signalled even if this watchdog is killed.
    """
    stop_requested = False

    def request_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stop_requested
        stop_requested = True

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, request_stop)
    preexec = _set_parent_death_signal if sys.platform.startswith("linux") else None
    child = subprocess.Popen(cmd, preexec_fn=preexec)  # noqa: PLW1509 - single-threaded here
    while True:
        try:
            return child.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            pass
        if stop_requested or os.getppid() != parent_pid:
            child.terminate()
            try:
                child.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                print(
                    f"{TAG} watchdog: phoenix ignored SIGTERM for {grace:.0f} s; killing",
                    flush=True,
                )
                child.kill()
                child.wait()
            return 0


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
    watchdog = sub.add_parser("_watchdog", help=argparse.SUPPRESS)
    watchdog.add_argument("--parent-pid", type=int, required=True)
    watchdog.add_argument("--grace", type=float, default=10.0)
    watchdog.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)

    if args.command == "_watchdog":
        cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
        return _watchdog(args.parent_pid, args.grace, cmd)
    try:
        if args.command == "install":
            print(ensure_phoenix())
            return 0
        server = PhoenixServer(args.working_dir, port=args.port, grpc_port=args.grpc_port)
        with step("starting Phoenix"):
            server.start()
        try:
            say(f"Phoenix UI:       {server.base_url}")
            say(f"OTLP/HTTP:        {server.otlp_http_endpoint}")
            say(f"OTLP/gRPC:        {server.otlp_grpc_endpoint}")
            say(f"log:              {server.log_path}")
            say("press Ctrl-C to stop")
            while server.is_running():
                time.sleep(0.5)
            say(f"Phoenix exited by itself; last lines of its log:\n{server.logtail()}")
            return 1
        except KeyboardInterrupt:
            return 0
        finally:
            with step("stopping Phoenix"):
                server.stop()
    except SetupError as error:
        say(f"error: {error}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
