#!/usr/bin/env python3
"""The feedback endpoint under load: ``python3 benchmarks/web.py [--seconds 30]``.

Runs in the development virtualenv (``.venv``, re-executing itself there; it needs the
``[web]`` extra). One ``otel-feedback serve`` process (one uvicorn worker, a token secret,
rate limits off) exports every record over OTLP/gRPC to an in-process
:class:`~otel_feedback.testing.OTLPReceiver`; a keep-alive asyncio client on loopback posts one
signed record per request on 16 connections for ``--seconds`` (closed loop: the highest rate
the server sustains). Reported: requests per second (wall clock), requests per second per
CPU-second of the server process (what one core does), p50/p99 latency, statuses, and the cost
split per request: *validation* (JSON, fields, token signature and age: the endpoint's own
checks) and *export* (``log_feedback`` into a ``BatchSpanProcessor`` + OTLP exporter, flushed)
measured in this process, *HTTP* = the server's CPU per request minus those two.

Writes ``benchmarks/results/web.json`` and ``benchmarks/web.md``, then regenerates
``BENCHMARKS.md`` (which includes ``web.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
DEV_PYTHON = REPO_ROOT / ".venv" / "bin" / "python"
RESULTS = BENCH_DIR / "results" / "web.json"
SECTION = BENCH_DIR / "web.md"
COMMAND = "python3 benchmarks/web.py"
SECRET = "benchmark-secret"
TARGET_PER_CORE = 1000.0


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _in_dev_venv() -> bool:
    return Path(sys.prefix).resolve() == (REPO_ROOT / ".venv").resolve()


def measure(seconds: float, connections: int) -> dict[str, Any]:
    """Run the load and the in-process cost measurements; return the results."""
    import psutil  # noqa: PLC0415 - after the re-exec into .venv

    from benchmarks.web_load import run_load, served, signed_bodies  # noqa: PLC0415 - after the re-exec into .venv
    from otel_feedback.testing import OTLPReceiver  # noqa: PLC0415 - after the re-exec into .venv

    bodies = signed_bodies(SECRET, 4000)
    with OTLPReceiver() as split_receiver:  # its own: the load's count stays exact
        split = _split_in_subprocess(split_receiver.grpc_endpoint)
    with OTLPReceiver() as receiver:
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.grpc_endpoint,
            "OTEL_FEEDBACK_TOKEN_SECRET": SECRET,
            "OTEL_BSP_MAX_QUEUE_SIZE": "65536",
        }
        with served(env, "--rate-limit", "0", "--token-rate-limit", "0") as (process, base):
            server = psutil.Process(process.pid)
            cores = _pin(server)
            warm = run_load(base, bodies[:200], seconds=1.0, connections=connections)
            cpu_before = sum(server.cpu_times()[:2])
            result = run_load(base, bodies, seconds=seconds, connections=connections)
            cpu_seconds = sum(server.cpu_times()[:2]) - cpu_before
            warm_and_load = warm.requests + result.requests
        arrived = len(receiver.wait_for_spans(
            warm_and_load, predicate=lambda span: span.name == "feedback", timeout=120
        ))
    say(f"load: {result.summary()}")
    server_us = cpu_seconds / result.requests * 1e6 if result.requests else float("nan")
    return {
        "seconds": round(result.seconds, 2),
        "connections": connections,
        "requests": result.requests,
        "requests_per_s": round(result.rate, 1),
        "server_cpu_s": round(cpu_seconds, 2),
        "requests_per_cpu_s": round(result.requests / cpu_seconds, 1) if cpu_seconds else None,
        "p50_ms": round(result.percentile(0.5), 2),
        "p99_ms": round(result.percentile(0.99), 2),
        "statuses": {str(k): v for k, v in sorted(result.statuses.items())},
        "server_errors": result.server_errors,
        "connection_errors": result.errors,
        "records_arrived": arrived,
        "records_expected": warm_and_load,
        "server_us_per_request": round(server_us, 1),
        "validation_us": round(split["validation_us"], 1),
        "export_us": round(split["export_us"], 1),
        "http_us": round(server_us - split["validation_us"] - split["export_us"], 1),
        "bare_span_us": round(split["bare_span_us"], 2),
        "server_cores": cores,
    }


def _pin(server: Any) -> str:
    """The server on the first CPU, this process (the client) on the others, when possible."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) < 2:
        return "unpinned"
    server.cpu_affinity(cpus[:1])
    os.sched_setaffinity(0, cpus[1:])
    return f"pinned to CPU {cpus[0]}, client on {cpus[1:]}"


def cost_split(endpoint: str, rounds: int = 5, count: int = 2000) -> dict[str, float]:
    """CPU µs per request of the endpoint's checks and of log_feedback + OTLP export.

    Runs in a fresh process exporting to ``endpoint`` (the receiver lives in the parent), and
    counts that process's CPU time (``time.process_time``: every thread, so the export
    thread's serialisation is included, as it is in the server's figure). Best of ``rounds``.
    """
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter  # noqa: PLC0415 - after the re-exec into .venv
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415 - after the re-exec into .venv
    from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415 - after the re-exec into .venv

    import otel_feedback as fb  # noqa: PLC0415 - after the re-exec into .venv
    from benchmarks.web_load import signed_bodies  # noqa: PLC0415 - after the re-exec into .venv
    from otel_feedback.web import EndpointConfig, FeedbackEndpoint  # noqa: PLC0415 - after the re-exec into .venv
    from otel_feedback.web.core import RequestHead  # noqa: PLC0415 - after the re-exec into .venv
    from otel_feedback.web.validation import parse_records  # noqa: PLC0415 - after the re-exec into .venv

    provider = TracerProvider()
    provider.add_span_processor(fb.FeedbackSpanProcessor(tracer_provider=provider))
    exporter = OTLPSpanExporter(endpoint=endpoint, insecure=True)
    provider.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=65536))
    config = EndpointConfig.build(
        secret=SECRET, rate_limit=0, token_rate_limit=0, tracer_provider=provider
    )
    web = FeedbackEndpoint(config)
    head = RequestHead(method="POST", client="127.0.0.1", content_type="application/json")
    bodies = signed_bodies(SECRET, count, seed=11)
    tracer = provider.get_tracer("bench")
    validation, export, bare = [], [], []
    for _ in range(rounds):
        records = []
        started = time.process_time()
        for body in bodies:
            web.check(head)
            parsed, _ = parse_records(body, web.limits)
            records.append((parsed[0], web._verify(parsed[0])))
        validation.append((time.process_time() - started) / count)
        started = time.process_time()
        for record, token in records:
            web._log(record, token)
        provider.force_flush()
        export.append((time.process_time() - started) / count)
        started = time.process_time()
        for _ in range(count):
            with tracer.start_as_current_span("bare"):
                pass
        provider.force_flush()
        bare.append((time.process_time() - started) / count)
    provider.shutdown()
    return {
        "validation_us": min(validation) * 1e6,
        "export_us": min(export) * 1e6,
        "bare_span_us": min(bare) * 1e6,
    }


def _split_in_subprocess(endpoint: str) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--split", endpoint],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])  # type: ignore[no-any-return]


def render(result: dict[str, Any], env: dict[str, Any]) -> str:
    met = result["requests_per_cpu_s"] and result["requests_per_cpu_s"] >= TARGET_PER_CORE
    per_request = result["server_us_per_request"]
    lines = [
        "## The feedback endpoint (W1)",
        "",
        f"`POST /feedback`, one signed record per request, exported over OTLP/gRPC; one "
        f"`otel-feedback serve` process (one uvicorn worker, {result['server_cores']}); "
        f"{result['connections']} keep-alive connections on loopback for "
        f"{result['seconds']:.0f} s, closed loop.",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| requests per second (wall clock, machine shared) | {result['requests_per_s']:,.0f} |",
        f"| requests per CPU-second of the server (one core) | "
        f"{result['requests_per_cpu_s']:,.0f} |",
        f"| target: ≥ {TARGET_PER_CORE:,.0f} per core | {'yes' if met else '**no**'} |",
        f"| latency p50 / p99 | {result['p50_ms']:.1f} ms / {result['p99_ms']:.1f} ms |",
        f"| statuses | {result['statuses']} (5xx: {result['server_errors']}) |",
        f"| records arrived at the receiver | {result['records_arrived']:,} of "
        f"{result['records_expected']:,} |",
        "",
        f"Cost per request, server CPU {per_request:.0f} µs: *HTTP* (uvicorn, Starlette, "
        f"reading and answering) {result['http_us']:.0f} µs, *validation* (JSON, fields, token "
        f"signature and age, rate-limit and CORS checks) {result['validation_us']:.0f} µs, "
        f"*export* (`log_feedback` → feedback span → BatchSpanProcessor → OTLP/gRPC, flushed) "
        f"{result['export_us']:.0f} µs. All are CPU time: the server's over the run; "
        f"validation and export measured alone in a separate process with the same export "
        f"(best of 5 rounds of 2,000); HTTP is the rest of the server's time. For scale, a "
        f"bare span start+end with the same export costs {result['bare_span_us']:.1f} µs.",
        "",
        f"Command: `{COMMAND}` (`--seconds 30` by default). Machine: {env['cpu']}, "
        f"{env['cores']} cores, shared with other work: the wall-clock rate moves with the "
        f"load; the per-CPU-second figure much less. Date: {env['date']}; commit "
        f"{env['git_commit']}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--split", metavar="OTLP_ENDPOINT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not _in_dev_venv() and DEV_PYTHON.exists():
        os.execv(str(DEV_PYTHON), [str(DEV_PYTHON), str(Path(__file__).resolve()), *sys.argv[1:]])
    sys.path[:0] = [str(REPO_ROOT / "src"), str(REPO_ROOT)]
    if args.split:
        print(json.dumps(cost_split(args.split)))
        return 0
    from benchmarks import report, run  # noqa: PLC0415 - after the re-exec into .venv

    env = run.environment()
    env["command"] = COMMAND
    say(f"W1: {args.seconds:.0f} s of load on {args.connections} connections")
    result = measure(args.seconds, args.connections)
    print(json.dumps(result, indent=2))
    if args.no_write:
        return 0
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"environment": env, "result": result}, indent=2) + "\n")
    SECTION.write_text(render(result, env))
    latest = BENCH_DIR / "results" / "latest.json"
    run.REPORT.write_text(report.markdown(json.loads(latest.read_text())))
    say(f"wrote {RESULTS.relative_to(REPO_ROOT)}, {SECTION.relative_to(REPO_ROOT)}, BENCHMARKS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
