#!/usr/bin/env python3
"""A real Prometheus server for the feedback-metrics tests (stdlib only).

Importable from the system ``python3`` and from inside ``.venv``::

    from prometheus_backend import PrometheusServer

    with PrometheusServer(["127.0.0.1:9464"]) as prometheus:  # installs it once per machine
        rows = prometheus.wait_for("sum(feedback_score_count)", lambda rows: bool(rows))

Command line::

    python3 scripts/prometheus_backend.py install                   # prints the executable
    python3 scripts/prometheus_backend.py serve --target HOST:PORT  # runs until Ctrl-C

Debian's ``prometheus`` package is installed with ``apt-get`` when ``/usr/bin/prometheus`` is
missing (its output in ``~/.cache/otel-feedback/prometheus-install.log``). A server listens
on 127.0.0.1 only, keeps its data in its working directory, scrapes the ``targets``
(``host:port`` serving ``/metrics``) as job ``app`` every ``scrape_interval`` seconds, and
runs under the watchdog of ``local_server.py``, so it stops when the process that started it
dies. Queries go through the HTTP API: ``GET /api/v1/query?query=<PromQL>`` answers
``{"status": "success", "data": {"result": [{"metric": {labels}, "value": [t, "v"]}]}}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from devenv import SetupError
from local_server import (
    LocalServer,
    ensure_debian_package,
    free_port,
    no_proxy_with_loopback,
    serve_until_interrupted,
)

PROMETHEUS = Path("/usr/bin/prometheus")
Sample = dict[str, Any]


class PrometheusError(SetupError):
    """Installing, starting or querying Prometheus failed."""


def ensure_prometheus(*, quiet: bool = False) -> Path:
    """Return the Prometheus executable, installing Debian's ``prometheus`` if missing."""
    return ensure_debian_package(PROMETHEUS, "prometheus", "the metrics test", quiet=quiet)


class PrometheusServer(LocalServer):
    """``prometheus`` on 127.0.0.1 scraping ``targets``, with an HTTP API client."""

    LABEL = "Prometheus"
    LOG_NAME = "prometheus.log"
    HEALTH_PATH = "/-/ready"
    ERROR = PrometheusError

    def __init__(
        self,
        targets: Sequence[str],
        working_dir: str | os.PathLike[str] | None = None,
        *,
        scrape_interval: float = 1.0,
        prometheus_bin: str | os.PathLike[str] | None = None,
        startup_timeout: float = 60.0,
        stop_timeout: float = 10.0,
    ) -> None:
        super().__init__(working_dir, startup_timeout=startup_timeout, stop_timeout=stop_timeout)
        self.targets = list(targets)
        self.scrape_interval = scrape_interval
        self._bin = Path(prometheus_bin) if prometheus_bin is not None else None

    def _resolve_bin(self) -> Path:
        return self._bin or ensure_prometheus()

    def _pick_ports(self) -> bool:
        self._port = free_port()
        return True

    def _config(self) -> str:
        interval = f"{max(round(self.scrape_interval * 1000), 100)}ms"
        return json.dumps(  # JSON is YAML: no YAML library needed
            {
                "global": {"scrape_interval": interval, "evaluation_interval": interval},
                "scrape_configs": [
                    {
                        "job_name": "app",
                        "scrape_interval": interval,
                        "scrape_timeout": interval,
                        "static_configs": [{"targets": self.targets}],
                    }
                ],
            },
            indent=2,
        )

    def _command(self, executable: Path) -> list[str]:
        config = self.working_dir / "prometheus.yml"
        config.write_text(self._config(), encoding="utf-8")
        return [
            str(executable),
            f"--config.file={config}",
            f"--storage.tsdb.path={self.working_dir / 'data'}",
            f"--web.listen-address={self.host}:{self.port}",
            "--storage.tsdb.retention.time=1h",
        ]

    def _server_env(self) -> dict[str, str]:
        env = dict(os.environ)
        for key in ("NO_PROXY", "no_proxy"):
            env[key] = no_proxy_with_loopback(env.get(key))
        return env

    def query(self, promql: str) -> list[Sample]:
        """The samples of an instant query: ``[{"metric": {labels}, "value": [t, "v"]}]``."""
        answer = self.get_json("/api/v1/query", {"query": promql})
        if answer.get("status") != "success":
            raise PrometheusError(f"query {promql!r} failed: {answer}")
        result: list[Sample] = answer["data"]["result"]
        return result

    def values(self, promql: str) -> dict[tuple[tuple[str, str], ...], float]:
        """An instant query's values by their sorted label pairs."""
        return {
            tuple(sorted(sample["metric"].items())): float(sample["value"][1])
            for sample in self.query(promql)
        }

    def wait_for(
        self,
        promql: str,
        predicate: Callable[[list[Sample]], bool],
        *,
        timeout: float = 30.0,
    ) -> list[Sample]:
        """Poll ``promql`` until ``predicate(samples)`` holds; return those samples."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(promql)
            if predicate(result):
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"Prometheus did not answer {promql!r} as expected within {timeout:.0f} s; "
                    f"last answer: {result}"
                )
            time.sleep(min(0.25, self.scrape_interval))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Local Prometheus for otel-feedback.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install", help="install Prometheus once and print its executable")
    serve = sub.add_parser("serve", help="run Prometheus on 127.0.0.1 until Ctrl-C")
    serve.add_argument("--target", action="append", required=True, help="HOST:PORT to scrape")
    serve.add_argument("--interval", type=float, default=5.0, help="scrape interval, seconds")
    args = parser.parse_args(argv)
    if args.command == "install":
        try:
            print(ensure_prometheus())
        except SetupError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        return 0
    server = PrometheusServer(args.target, scrape_interval=args.interval)
    return serve_until_interrupted(
        server, lambda: [f"Prometheus: {server.base_url} (scraping {', '.join(args.target)})"]
    )


if __name__ == "__main__":
    sys.exit(main())
