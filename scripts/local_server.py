#!/usr/bin/env python3
"""What the local test servers share (stdlib only): install once, run under a watchdog.

:func:`ensure_tool` installs a pinned package into its own virtualenv under
``${OTEL_FEEDBACK_CACHE_DIR:-~/.cache/otel-feedback}`` once per machine.
:class:`LocalServer` runs a server process on 127.0.0.1 through a small watchdog (this
file's ``_watchdog`` subcommand) that stops it when the process that started it dies, waits
for its health URL, stops it, and reads JSON back. ``phoenix_backend.py`` and
``mlflow_backend.py`` subclass it.
"""

from __future__ import annotations

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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from devenv import TAG, SetupError, file_lock, run_logged, say, step, tail

ENV_CACHE_DIR = "OTEL_FEEDBACK_CACHE_DIR"
MARKER_NAME = "otel-feedback-installed.json"
LOOPBACK = "127.0.0.1"

# Inherited variables that would leak the caller's interpreter or OTel setup into a server.
PYTHON_ENV_LEAKS = frozenset(
    {
        "PYTHONPATH",
        "PYTHONHOME",
        "PYTHONSTARTUP",
        "PYTHONSAFEPATH",
        "VIRTUAL_ENV",
        "__PYVENV_LAUNCHER__",
    }
)


class RestError(SetupError):
    """A REST call answered with an HTTP error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# --------------------------------------------------------------------------- install


def cache_dir() -> Path:
    """``$OTEL_FEEDBACK_CACHE_DIR`` or ``~/.cache/otel-feedback``."""
    configured = os.environ.get(ENV_CACHE_DIR)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "otel-feedback"


def venv_bin(venv_dir: Path, name: str) -> Path:
    if os.name == "nt":  # pragma: no cover - not a supported dev platform, kept tidy
        return venv_dir / "Scripts" / f"{name}.exe"
    return venv_dir / "bin" / name


def _is_installed(venv_dir: Path, requirement: str, executable: str) -> bool:
    try:
        info = json.loads((venv_dir / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(info, dict)
        and info.get("requirement") == requirement
        # .exists() follows the interpreter symlink: a venv whose base Python is gone fails
        and venv_bin(venv_dir, "python").exists()
        and venv_bin(venv_dir, executable).exists()
    )


def ensure_tool(
    label: str,
    venv_name: str,
    requirement: str,
    executable: str,
    import_check: str,
    *,
    error: type[SetupError] = SetupError,
    quiet: bool = False,
) -> Path:
    """Install ``requirement`` once per machine into ``cache_dir()/venv_name``; return the
    path of its ``executable``.

    A no-op (a file read) when already installed. A marker file is written only after
    ``pip install`` and ``import_check`` succeeded, so an interrupted install is redone. Two
    concurrent callers are serialised by a lock file; the second one finds the marker.
    """
    venv_dir = cache_dir() / venv_name
    tool = venv_bin(venv_dir, executable)
    if _is_installed(venv_dir, requirement, executable):
        return tool
    root = venv_dir.parent
    root.mkdir(parents=True, exist_ok=True)
    with file_lock(root / f"{venv_name}.lock"):
        if _is_installed(venv_dir, requirement, executable):
            return tool
        log_path = root / f"{venv_name}-install.log"
        log_path.write_text("", encoding="utf-8")
        with step(f"installing {label} into {venv_dir} (once per machine)", quiet=quiet):
            if venv_dir.exists():
                shutil.rmtree(venv_dir)
            leaks = PYTHON_ENV_LEAKS
            run_logged([sys.executable, "-m", "venv", str(venv_dir)], log_path, drop_env=leaks)
            python = str(venv_bin(venv_dir, "python"))
            run_logged(
                [python, "-m", "pip", "install", "--quiet", requirement], log_path, drop_env=leaks
            )
            run_logged([python, "-c", import_check], log_path, drop_env=leaks)
            if not tool.exists():
                raise error(f"pip installed {requirement} but {tool} is missing")
            marker = {
                "requirement": requirement,
                "python": sys.version.split()[0],
                "installed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            tmp = venv_dir / f"{MARKER_NAME}.tmp"
            tmp.write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
            tmp.replace(venv_dir / MARKER_NAME)
    return tool


def ensure_debian_package(
    executable: Path, package: str, purpose: str, *, quiet: bool = False
) -> Path:
    """Return ``executable``, installing Debian's ``package`` with apt-get if it is missing.

    Once per machine: needs root; apt's output goes to ``<cache>/<package>-install.log`` and
    is shown only when it fails. Two concurrent callers are serialised by a lock file.
    """
    if executable.exists():
        return executable
    if shutil.which("apt-get") is None:
        raise SetupError(f"{executable} is missing and apt-get is not available to install it")
    if os.geteuid() != 0:
        raise SetupError(f"{executable} is missing: run `sudo apt-get install -y {package}` once")
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    with file_lock(root / f"{package}.lock"):
        if executable.exists():
            return executable
        log_path = root / f"{package}-install.log"
        log_path.write_text("", encoding="utf-8")
        os.environ.setdefault("DEBIAN_FRONTEND", "noninteractive")
        with step(f"installing Debian {package} for {purpose} (once per machine)", quiet=quiet):
            run_logged(["apt-get", "update", "-q"], log_path)
            run_logged(["apt-get", "install", "-y", "-q", package], log_path)
        if not executable.exists():
            raise SetupError(f"apt-get installed {package} but {executable} is missing")
    return executable


# --------------------------------------------------------------------------- network


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that was free on ``host`` a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def no_proxy_opener() -> urllib.request.OpenerDirector:
    """A urllib opener that never routes (loopback) traffic through an ``http_proxy``."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def no_proxy_with_loopback(value: str | None) -> str:
    """A ``NO_PROXY`` value that also exempts 127.0.0.1 and localhost."""
    hosts = [h.strip() for h in (value or "").split(",") if h.strip()]
    for host in ("127.0.0.1", "localhost"):
        if host not in hosts:
            hosts.append(host)
    return ",".join(hosts)


def kill_group(pgid: int) -> None:
    if os.name != "posix":  # pragma: no cover
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


# --------------------------------------------------------------------------- server


class LocalServer:
    """A server process on 127.0.0.1 in a working directory, under the watchdog.

    Subclasses name the server (:attr:`LABEL`, :attr:`LOG_NAME`, :attr:`HEALTH_PATH`,
    :attr:`ERROR`) and implement :meth:`_resolve_bin`, :meth:`_pick_ports`,
    :meth:`_command` and :meth:`_server_env`. ``working_dir`` of ``None`` means a temporary
    directory removed on stop. Use as a context manager or call :meth:`start` / :meth:`stop`.
    """

    LABEL = "server"
    LOG_NAME = "server.log"
    HEALTH_PATH = "/health"
    ERROR: type[SetupError] = SetupError

    def __init__(
        self,
        working_dir: str | os.PathLike[str] | None,
        *,
        startup_timeout: float,
        stop_timeout: float,
    ) -> None:
        self._given_working_dir = Path(working_dir) if working_dir is not None else None
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._working_dir: Path | None = None
        self._port = 0
        self._opener = no_proxy_opener()
        #: Seconds from launching the server until its health URL answered.
        self.startup_seconds: float | None = None

    # -- to implement ---------------------------------------------------------------------

    def _resolve_bin(self) -> Path:
        raise NotImplementedError

    def _pick_ports(self) -> bool:
        """Choose ports; return True when they were picked (so a clash is worth a retry)."""
        raise NotImplementedError

    def _command(self, executable: Path) -> list[str]:
        raise NotImplementedError

    def _server_env(self) -> dict[str, str]:
        raise NotImplementedError

    # -- addresses ------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return LOOPBACK

    @property
    def port(self) -> int:
        """HTTP port (UI and REST API)."""
        if not self._port:
            raise self.ERROR(f"{type(self).__name__} is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``: the UI and the REST API."""
        return f"http://{self.host}:{self.port}"

    @property
    def otlp_http_endpoint(self) -> str:
        """Full OTLP/HTTP (protobuf) traces URL, ``.../v1/traces``."""
        return f"{self.base_url}/v1/traces"

    @property
    def working_dir(self) -> Path:
        """The server's data directory (its database and log)."""
        if self._working_dir is None:
            raise self.ERROR(f"{type(self).__name__} is not started")
        return self._working_dir

    @property
    def log_path(self) -> Path:
        """The server's combined stdout/stderr."""
        return self.working_dir / self.LOG_NAME

    # -- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> Any:
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

    def start(self) -> Any:
        """Start the server and wait until its health URL answers; returns ``self``."""
        if self._process is not None:
            raise self.ERROR(f"{type(self).__name__} already started")
        executable = self._resolve_bin()
        if not executable.exists():
            raise self.ERROR(f"{self.LABEL} executable not found: {executable}")
        if self._given_working_dir is not None:
            self._working_dir = self._given_working_dir.resolve()
            self._working_dir.mkdir(parents=True, exist_ok=True)
        else:
            prefix = f"otel-feedback-{self.LABEL.lower()}-"
            self._working_dir = Path(tempfile.mkdtemp(prefix=prefix))
        try:
            attempt = 1
            while not self._launch_and_wait(executable, attempt):
                attempt += 1
            return self
        except BaseException:
            self.stop()
            raise

    def _launch_and_wait(self, executable: Path, attempt: int) -> bool:
        """Launch once; True when healthy, False to retry on a clash of picked ports."""
        # Retrying helps only when we picked the ports (one was taken meanwhile).
        may_retry = self._pick_ports() and attempt < 3
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "_watchdog",
            "--parent-pid",
            str(os.getpid()),
            "--grace",
            str(self.stop_timeout),
            "--",
            *self._command(executable),
        ]
        started = time.monotonic()
        log_path = self.log_path
        with log_path.open("ab") as log:
            log.write(f"# {time.ctime()}: {' '.join(cmd[8:])}\n".encode())
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
                lowered = log_tail.lower()
                if may_retry and ("address already in use" in lowered or "to bind" in lowered):
                    return False
                raise self.ERROR(
                    f"{self.LABEL} exited during startup; last lines of {log_path}:\n{log_tail}"
                )
            if self._healthy():
                self.startup_seconds = time.monotonic() - started
                return True
            if time.monotonic() > deadline:
                raise self.ERROR(
                    f"{self.LABEL} not healthy after {self.startup_timeout:.0f} s at "
                    f"{self.base_url}{self.HEALTH_PATH}; last lines of {log_path}:\n"
                    f"{tail(log_path)}"
                )
            time.sleep(0.25)

    def _healthy(self) -> bool:
        try:
            with self._opener.open(f"{self.base_url}{self.HEALTH_PATH}", timeout=2) as response:
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
                kill_group(process.pid)
                process.wait()
        if process is not None:
            kill_group(process.pid)  # anything left in the group
        # keep _process set so addresses/log_path still answer after stop
        if self._given_working_dir is None and self._working_dir is not None:
            shutil.rmtree(self._working_dir, ignore_errors=True)

    def logtail(self, lines: int = 40) -> str:
        return tail(self.log_path, lines)

    # -- REST ----------------------------------------------------------------------------

    def get_json(self, path: str, query: Mapping[str, Any] | None = None) -> Any:
        """GET ``base_url + path`` with ``query`` (lists repeat the key); parsed JSON.

        Raises :class:`RestError` (with ``status``) for non-2xx answers.
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
            raise self._rest_error(error.code, f"GET {url} -> {error.code}: {body}") from None

    def _rest_error(self, status: int, message: str) -> RestError:
        return RestError(status, message)


def serve_until_interrupted(server: LocalServer, describe: Callable[[], list[str]]) -> int:
    """Start ``server``, print ``describe()`` lines, run until Ctrl-C; the exit code."""
    try:
        with step(f"starting {server.LABEL}"):
            server.start()
        try:
            for line in describe():
                say(line)
            say("press Ctrl-C to stop")
            while server.is_running():
                time.sleep(0.5)
            say(f"{server.LABEL} exited by itself; last lines of its log:\n{server.logtail()}")
            return 1
        except KeyboardInterrupt:
            return 0
        finally:
            with step(f"stopping {server.LABEL}"):
                server.stop()
    except SetupError as error:
        say(f"error: {error}")
        return 1


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


def watchdog(parent_pid: int, grace: float, cmd: list[str]) -> int:
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
                    f"{TAG} watchdog: server ignored SIGTERM for {grace:.0f} s; killing", flush=True
                )
                child.kill()
                child.wait()
            return 0


def main(argv: list[str] | None = None) -> int:
    """``local_server.py _watchdog --parent-pid N --grace S -- CMD...``."""
    import argparse  # noqa: PLC0415 - only for the watchdog entry point

    parser = argparse.ArgumentParser(description="Watchdog for the local test servers.")
    sub = parser.add_subparsers(dest="command", required=True)
    guard = sub.add_parser("_watchdog")
    guard.add_argument("--parent-pid", type=int, required=True)
    guard.add_argument("--grace", type=float, default=10.0)
    guard.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    return watchdog(args.parent_pid, args.grace, cmd)


if __name__ == "__main__":
    sys.exit(main())
