"""The benchmarks of issue 5, as functions returning JSON-ready result dicts.

Every function takes a :class:`Scale` so the smoke test can run each with tiny counts.
Ratios are medians of per-round paired ratios (see :mod:`benchmarks.harness`).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import otel_feedback as fb
from benchmarks import workloads
from benchmarks.harness import Rounds, fit_exponent, interleave, summarize

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent


@dataclass(frozen=True)
class Scale:
    """How much work each benchmark does."""

    rounds: int = 300
    round_ms: float = 8.0
    passes: int = 8
    warmup_rounds: int = 12
    late_rounds: int = 30
    late_records: int = 512
    memory_spans: int = 1_000_000
    scaling_rounds: int = 60
    calibration_rounds: int = 300
    processes: int = 3

    def timing(self, rounds: int | None = None) -> dict[str, Any]:
        """The interleave() keyword arguments of a span benchmark at this scale."""
        return {
            "rounds": self.rounds if rounds is None else rounds,
            "round_ms": self.round_ms,
            "passes": self.passes,
            "warmup_rounds": self.warmup_rounds,
        }

    @classmethod
    def smoke(cls) -> Scale:
        return cls(
            rounds=3,
            round_ms=0.2,
            passes=2,
            warmup_rounds=1,
            late_rounds=2,
            late_records=5,
            memory_spans=2_000,
            scaling_rounds=2,
            calibration_rounds=3,
            processes=1,
        )


def _result(
    bench_id: str,
    name: str,
    ratios: list[float],
    rounds: Rounds | None,
    *,
    op: str,
    target: float,
    aim: float | None = None,
    definition: str,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    stats = summarize(ratios)
    result: dict[str, Any] = {
        "id": bench_id,
        "name": name,
        "ratio": stats["median"],
        "target": {"op": op, "value": target, **({"aim": aim} if aim is not None else {})},
        "definition": definition,
        "stats": stats,
        "ratios": ratios,  # the per-round ratios, for pooling (run.py does not write them)
    }
    result["met"] = _met(result)
    if rounds is not None:
        result["ns_per_op_median"] = {k: rounds.median_ns(k) for k in rounds.ns_per_op}
        result["ops_per_call"] = rounds.n
        result["seconds"] = round(rounds.seconds, 2)
    if extra:
        result.update(extra)
    return result


def _met(result: dict[str, Any]) -> bool:
    """Whether ``result``'s ratio meets its target."""
    target, ratio = result["target"], result["ratio"]
    if target["op"] == "within":
        return bool(abs(ratio - target["value"]) <= target["tolerance"])
    return bool(ratio <= target["value"] if target["op"] == "<=" else ratio >= target["value"])


def _shutdown(*providers: Any) -> None:
    for provider in providers:
        provider.shutdown()


# -- calibration ---------------------------------------------------------------------------


def calibration(scale: Scale) -> dict[str, Any]:
    """Two identical variants (bare span start+end on two identical providers): ~1.00."""
    first = workloads.provider(feedback=False)
    second = workloads.provider(feedback=False)
    rounds = interleave(
        {
            "a": workloads.span_loop(first.get_tracer("bench")),
            "a_again": workloads.span_loop(second.get_tracer("bench")),
        },
        **scale.timing(scale.calibration_rounds),
    )
    _shutdown(first, second)
    result = _result(
        "CAL",
        "calibration: identical variants",
        rounds.ratios("a", "a_again"),
        rounds,
        op="~",
        target=1.0,
        definition="bare span start+end / the same on an identical second provider",
    )
    result["target"] = {"op": "within", "value": 1.0, "tolerance": 0.02}
    result["met"] = _met(result)
    return result


def calibration_added(scale: Scale) -> dict[str, Any]:
    """Identical *added-cost* variants (two identical enrich_span calls): ~1.00."""
    provider = workloads.provider(feedback=True)
    tracer = provider.get_tracer("bench")
    rounds = interleave(
        {
            "bare": workloads.span_loop(tracer),
            "enrich": workloads.span_loop(tracer, workloads.enrich_ours),
            "enrich_again": workloads.span_loop(tracer, workloads.enrich_ours),
        },
        **scale.timing(scale.calibration_rounds),
    )
    _shutdown(provider)
    result = _result(
        "CAL2",
        "calibration: identical added costs",
        rounds.added_ratios("enrich", "enrich_again", "bare"),
        rounds,
        op="~",
        target=1.0,
        definition="added cost of enrich_span(P) / the same again (B2/B3's method)",
    )
    result["target"] = {"op": "within", "value": 1.0, "tolerance": 0.02}
    result["met"] = _met(result)
    return result


# -- B1 -------------------------------------------------------------------------------------


def b1_processor(scale: Scale) -> dict[str, Any]:
    """Span start+end with FeedbackSpanProcessor / without (providers otherwise identical)."""
    without = workloads.provider(feedback=False)
    with_fb = workloads.provider(feedback=True)
    rounds = interleave(
        {
            "without": workloads.span_loop(without.get_tracer("bench")),
            "with": workloads.span_loop(with_fb.get_tracer("bench")),
        },
        **scale.timing(),
    )
    counts = workloads.feedback_processor(with_fb).tracked_counts
    _shutdown(without, with_fb)
    return _result(
        "B1",
        "processor overhead (no feedback given)",
        rounds.ratios("with", "without"),
        rounds,
        op="<=",
        target=1.08,
        aim=1.05,
        definition=(
            "`with tracer.start_as_current_span()` (a new root span each time) on a provider "
            "with FeedbackSpanProcessor + SimpleSpanProcessor(no-op exporter) / the same "
            "provider without FeedbackSpanProcessor"
        ),
        extra={"tracked_counts_after": counts},
    )


def b1_session(scale: Scale) -> dict[str, Any]:
    """Informational: the same inside ``using_session`` (two identity attributes copied)."""
    without = workloads.provider(feedback=False)
    with_fb = workloads.provider(feedback=True)
    session = fb.using_session("sess-1", user_id="u-42")
    session.__enter__()
    try:
        rounds = interleave(
            {
                "without": workloads.span_loop(without.get_tracer("bench")),
                "with": workloads.span_loop(with_fb.get_tracer("bench")),
            },
            **scale.timing(),
        )
    finally:
        session.__exit__(None, None, None)
    _shutdown(without, with_fb)
    result = _result(
        "B1s",
        "processor in a session (info)",
        rounds.ratios("with", "without"),
        rounds,
        op="info",
        target=0.0,
        definition=(
            "as B1, inside using_session(): the processor copies session.id and user.id "
            "onto every span (work the bare provider does not do)"
        ),
    )
    result["met"] = None
    return result


def b1_children(scale: Scale) -> dict[str, Any]:
    """Child spans (under an open root), the most common kind of span."""
    without = workloads.provider(feedback=False)
    with_fb = workloads.provider(feedback=True)
    tracers = {"without": without.get_tracer("bench"), "with": with_fb.get_tracer("bench")}
    roots = {name: tracer.start_span("root") for name, tracer in tracers.items()}

    rounds = interleave(
        {name: workloads.child_span_loop(tracer, roots[name]) for name, tracer in tracers.items()},
        **scale.timing(),
    )
    for root in roots.values():
        root.end()
    _shutdown(without, with_fb)
    return _result(
        "B1c",
        "processor, child spans",
        rounds.ratios("with", "without"),
        rounds,
        op="<=",
        target=1.03,
        definition=(
            "as B1, but each span is a child of one open root span (no root to remember), "
            "as most spans of a trace are"
        ),
    )


# -- B2 -------------------------------------------------------------------------------------


def _enrich_vs_set_attributes(
    scale: Scale,
    payload: dict[str, Any],
    flat: dict[str, Any],
    enrich: Callable[[Any], None],
    set_flat: Callable[[Any], None],
) -> Rounds:
    provider = workloads.provider(feedback=True)
    tracer = provider.get_tracer("bench")
    with tracer.start_as_current_span("probe") as span:
        fb.enrich_span(feedback=payload)
        probe = dict(span.attributes or {})
    assert probe == flat, probe
    rounds = interleave(
        {
            "bare": workloads.span_loop(tracer),
            "enrich_span": workloads.span_loop(tracer, enrich),
            "set_attributes": workloads.span_loop(tracer, set_flat),
        },
        **scale.timing(),
    )
    _shutdown(provider)
    return rounds


def b2_enrich(scale: Scale) -> dict[str, Any]:
    """Added cost of enrich_span(feedback=P) / added cost of set_attributes(flat P)."""
    rounds = _enrich_vs_set_attributes(
        scale,
        workloads.PAYLOAD,
        workloads.FLAT_PAYLOAD,
        workloads.enrich_ours,
        workloads.set_preflattened,
    )
    return _result(
        "B2",
        "enrich_span cost vs pre-flattened set_attributes",
        rounds.added_ratios("enrich_span", "set_attributes", "bare"),
        rounds,
        op="<=",
        target=1.3,
        definition=(
            "added cost of fb.enrich_span(feedback=P) / added cost of "
            "span.set_attributes(P flattened beforehand); P = 13 leaves (three tags as a "
            "string list: 11 attributes); added = minus a bare span start+end, per round"
        ),
    )


def b2_enrich_indexed(scale: Scale) -> dict[str, Any]:
    """B2 with the tags as objects: 13 attributes, every one through flatten's slow lane."""
    rounds = _enrich_vs_set_attributes(
        scale,
        workloads.PAYLOAD_INDEXED,
        workloads.FLAT_PAYLOAD_INDEXED,
        workloads.enrich_ours_indexed,
        workloads.set_preflattened_indexed,
    )
    result = _result(
        "B2i",
        "B2 with the tags as 3 objects (info)",
        rounds.added_ratios("enrich_span", "set_attributes", "bare"),
        rounds,
        op="info",
        target=0.0,
        definition=(
            "as B2, with P's three tags as three objects, so P flattens to 13 attributes "
            "(12 mappings to walk instead of 9)"
        ),
    )
    result["met"] = None
    return result


# -- B3 -------------------------------------------------------------------------------------


def honeyhive_available() -> bool:
    try:
        import honeyhive  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


def _honeyhive_enrich() -> tuple[Callable[[object], None], str, Any]:
    """HoneyHive's free ``enrich_span``, with a HoneyHiveTracer in test mode (offline)."""
    import honeyhive  # noqa: PLC0415
    from honeyhive import HoneyHiveTracer  # noqa: PLC0415
    from honeyhive import enrich_span as hh_enrich_span  # noqa: PLC0415

    # No API key, no network: test_mode skips session creation and builds no OTLP
    # exporter. The tracer becomes HoneyHive's default tracer, so enrich_span's tracer
    # discovery succeeds as it does in real use.
    tracer = HoneyHiveTracer(test_mode=True, verbose=False, disable_http_tracing=True)
    payload = workloads.PAYLOAD

    def enrich(_span: object) -> None:
        hh_enrich_span(feedback=payload)

    return enrich, honeyhive.__version__, tracer


def b3_honeyhive(scale: Scale) -> dict[str, Any]:
    """Added cost of HoneyHive's enrich_span(feedback=P) / added cost of ours."""
    hh_enrich, version, hh_tracer = _honeyhive_enrich()
    provider = workloads.provider(feedback=True)
    tracer = provider.get_tracer("bench")
    with tracer.start_as_current_span("probe") as span:
        hh_enrich(span)
        hh_attributes = {
            k: v for k, v in (span.attributes or {}).items() if k.startswith("honeyhive_feedback.")
        }
    assert len(hh_attributes) == workloads.PAYLOAD_LEAVES, hh_attributes  # lists indexed
    rounds = interleave(
        {
            "bare": workloads.span_loop(tracer),
            "ours": workloads.span_loop(tracer, workloads.enrich_ours),
            "honeyhive": workloads.span_loop(tracer, hh_enrich),
        },
        **scale.timing(),
    )
    _shutdown(provider)
    del hh_tracer
    return _result(
        "B3",
        "HoneyHive enrich_span / ours",
        rounds.added_ratios("honeyhive", "ours", "bare"),
        rounds,
        op=">=",
        target=3.0,
        definition=(
            f"added cost of honeyhive=={version} enrich_span(feedback=P) (HoneyHiveTracer in "
            "test_mode, offline) / added cost of fb.enrich_span(feedback=P); same provider, "
            "same span; HoneyHive writes 13 attributes (it indexes the tags), we write 11"
        ),
        extra={"honeyhive_version": version},
    )


# -- B4 -------------------------------------------------------------------------------------


def b4_late(scale: Scale) -> dict[str, Any]:
    """log_feedback by token, exported over OTLP/gRPC, per record / a plain exported span."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # noqa: PLC0415
        OTLPSpanExporter,
    )
    from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415

    from otel_feedback.testing import OTLPReceiver  # noqa: PLC0415

    receiver = OTLPReceiver().start()
    provider = workloads.provider(feedback=True, export="noop")
    exporter = OTLPSpanExporter(endpoint=receiver.grpc_endpoint, insecure=True)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("bench")
    records = scale.late_records
    tokens = workloads.late_tokens(records)
    log_feedback = fb.log_feedback
    force_flush = provider.force_flush
    perf = time.perf_counter_ns

    def late(n: int) -> int:
        t0 = perf()
        for token in tokens[:n]:
            log_feedback("user_rating", 4, target=token, reason="helpful")
        force_flush()
        return perf() - t0

    start_span = tracer.start_span

    def plain(n: int) -> int:
        t0 = perf()
        for _ in range(n):
            start_span("plain", attributes={"feedback.user_rating": 4}).end()
        force_flush()
        return perf() - t0

    received = {"feedback": 0, "plain": 0}

    def check(_index: int, sizes: dict[str, int]) -> None:
        expected = sizes["late"] + sizes["plain"]
        spans = receiver.wait_for_spans(expected, timeout=30)
        named = {name: [s for s in spans if s.name == name] for name in ("feedback", "plain")}
        assert len(spans) == expected, (len(spans), expected)
        assert len(named["feedback"]) == sizes["late"], len(named["feedback"])
        assert len(named["plain"]) == sizes["plain"], len(named["plain"])
        ids = {s.events[0].attributes["feedback.id"] for s in named["feedback"]}
        assert len(ids) == sizes["late"], "duplicate or missing feedback ids"
        received["feedback"] += len(named["feedback"])
        received["plain"] += len(named["plain"])
        receiver.clear()

    try:
        rounds = interleave(
            {"late": late, "plain": plain},
            rounds=scale.late_rounds,
            warmup_rounds=max(1, scale.warmup_rounds // 3),
            n=records,
            on_round=check,
        )
    finally:
        _shutdown(provider)
        receiver.stop()
    sent = (scale.late_rounds + max(1, scale.warmup_rounds // 3)) * records
    assert received == {"feedback": sent, "plain": sent}, (received, sent)
    return _result(
        "B4",
        "late feedback by token over OTLP/gRPC",
        rounds.ratios("late", "plain"),
        rounds,
        op="<=",
        target=2.5,
        definition=(
            f"per record: fb.log_feedback(name, value, target=token, reason=...) -> a "
            f"'feedback' span exported by BatchSpanProcessor(OTLPSpanExporter gRPC) to the "
            f"in-process OTLPReceiver, {records} records then force_flush / the same for a "
            "plain span with one attribute; wall time includes the in-process receiver "
            "decoding each request"
        ),
        extra={"records_received": received, "records_sent": {"feedback": sent, "plain": sent}},
    )


def b4_emission(scale: Scale) -> dict[str, Any]:
    """Informational: B4 without the export (what the application thread pays to emit)."""
    provider = workloads.provider(feedback=True, export="noop")
    tracer = provider.get_tracer("bench")
    token = fb.FeedbackToken(
        trace_id=0x5B8EFFF798038103D269B633813FC60C,
        span_id=0xEEE19B7EC3C1B174,
        issued_at_ns=time.time_ns(),
        root_span_id=0xEEE19B7EC3C1B173,
        session_id="sess-1",
        user_id="u-42",
    ).encode()
    log_feedback = fb.log_feedback
    start_span = tracer.start_span
    perf = time.perf_counter_ns

    def late(n: int) -> int:
        t0 = perf()
        for _ in range(n):
            log_feedback("user_rating", 4, target=token, reason="helpful")
        return perf() - t0

    def plain(n: int) -> int:
        t0 = perf()
        for _ in range(n):
            start_span("plain", attributes={"feedback.user_rating": 4}).end()
        return perf() - t0

    rounds = interleave(
        {"late": late, "plain": plain},
        **scale.timing(),
    )
    _shutdown(provider)
    result = _result(
        "B4e",
        "late feedback, emission only (info)",
        rounds.ratios("late", "plain"),
        rounds,
        op="info",
        target=0.0,
        definition=(
            "as B4 without exporting (a no-op processor instead of BatchSpanProcessor + "
            "OTLP): fb.log_feedback(..., target=token) / a plain span with one attribute"
        ),
        extra={"otlp_bytes_per_span": _otlp_bytes()},
    )
    result["met"] = None
    return result


def _otlp_bytes() -> dict[str, int]:
    """Encoded OTLP size (and shape) of one late-feedback span and of one plain span."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import (  # noqa: PLC0415
        encode_spans,
    )
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: PLC0415
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: PLC0415
        InMemorySpanExporter,
    )

    memory = InMemorySpanExporter()
    provider = workloads.provider(feedback=True, export="noop")
    provider.add_span_processor(SimpleSpanProcessor(memory))
    token = workloads.sample_token()
    fb.log_feedback("user_rating", 4, target=token, reason="helpful")
    provider.get_tracer("bench").start_span("plain", attributes={"feedback.user_rating": 4}).end()
    late_span, plain_span = memory.get_finished_spans()
    _shutdown(provider)
    return {
        "feedback": len(encode_spans([late_span]).SerializeToString()),
        "plain": len(encode_spans([plain_span]).SerializeToString()),
        "feedback_span_attributes": len(late_span.attributes or {}),
        "feedback_event_attributes": len(late_span.events[0].attributes or {}),
        "feedback_links": len(late_span.links),
    }


# -- B5 -------------------------------------------------------------------------------------


def b5_memory(scale: Scale) -> dict[str, Any]:
    """RSS growth over N spans with the processor, inside using_session (a subprocess each)."""
    runs = {}
    for mode in ("feedback", "bare"):
        completed = subprocess.run(
            [
                sys.executable,
                str(BENCH_DIR / "memory.py"),
                "--spans",
                str(scale.memory_spans),
                "--mode",
                mode,
            ],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": _pythonpath()},
            cwd=REPO_ROOT,
        )
        runs[mode] = json.loads(completed.stdout.strip().splitlines()[-1])
    growth_mb = runs["feedback"]["growth_bytes"] / 2**20
    return {
        "id": "B5",
        "name": f"memory over {scale.memory_spans:,} spans",
        "ratio": growth_mb,
        "unit": "MB",
        "target": {"op": "<", "value": 20.0},
        "met": growth_mb < 20.0,
        "definition": (
            f"RSS growth of a fresh subprocess over {scale.memory_spans:,} root spans with "
            "FeedbackSpanProcessor + a no-op export processor, inside using_session(); "
            "the same without the processor shown for comparison"
        ),
        "runs": runs,
    }


def _pythonpath() -> str:
    parts = [str(REPO_ROOT / "src"), str(REPO_ROOT)]
    if os.environ.get("PYTHONPATH"):
        parts.append(os.environ["PYTHONPATH"])
    return os.pathsep.join(parts)


# -- B6 -------------------------------------------------------------------------------------

SCALING_SIZES = (10, 100, 1_000, 10_000)


def b6_scaling(scale: Scale) -> dict[str, Any]:
    """flatten time for 10 ... 10 000 leaves: time per leaf and the fitted exponent."""
    payloads = {size: workloads.scaling_payload(size) for size in SCALING_SIZES}
    for size, payload in payloads.items():
        assert len(fb.flatten(payload, prefix="feedback")) == size
    # Same *leaves* per call for every size, so each call lasts about the same time.
    budget = max(SCALING_SIZES) * (2 if scale.rounds > 10 else 1)
    rounds = interleave(
        {str(size): workloads.flatten_loop(payloads[size]) for size in SCALING_SIZES},
        rounds=scale.scaling_rounds,
        warmup_rounds=max(1, scale.warmup_rounds // 3),
        n={str(size): max(1, budget // size) for size in SCALING_SIZES},
    )
    exponents = [
        fit_exponent(SCALING_SIZES, [rounds.ns_per_op[str(s)][i] for s in SCALING_SIZES])
        for i in range(rounds.count)
    ]
    per_leaf = {str(s): rounds.median_ns(str(s)) / s for s in SCALING_SIZES}
    result = _result(
        "B6",
        "flatten scaling (10 to 10 000 leaves)",
        exponents,
        rounds,
        op="<=",
        target=1.1,
        definition=(
            "least-squares exponent of flatten time against leaf count (1.0 = linear), "
            "fitted per round over 10, 100, 1 000 and 10 000 leaves; groups of 10 mixed "
            "int/str/float/bool leaves"
        ),
        extra={"ns_per_leaf": per_leaf},
    )
    result["met"] = 0.9 <= result["ratio"] <= 1.1
    result["target"] = {"op": "between", "value": [0.9, 1.1]}
    return result


# -- all --------------------------------------------------------------------------------------

# -- fresh processes -----------------------------------------------------------------------
#
# A ratio of a few percent moves by a few tenths of a percent from one process to the next
# (where the interpreter placed its objects, and so which of them share cache lines), more
# than within one process's 300 rounds. CAL, B1 and B1c therefore run in several fresh
# processes, as pyperf does, and their rounds are pooled.


def in_processes(bench_id: str, benchmark: Callable[[Scale], dict[str, Any]]) -> Callable[
    [Scale], dict[str, Any]
]:
    """``benchmark`` run in ``scale.processes`` fresh processes, its rounds pooled."""

    def run(scale: Scale) -> dict[str, Any]:
        return pooled([_in_fresh_process(bench_id, scale) for _ in range(scale.processes)])

    run.__doc__ = benchmark.__doc__
    return run


def _in_fresh_process(bench_id: str, scale: Scale) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.suite", bench_id, json.dumps(scale.__dict__)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": _pythonpath()},
        cwd=REPO_ROOT,
    )
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def pooled(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One result from the same benchmark run in several processes: the per-round ratios of
    all of them pooled; each process's own median kept as ``process_ratios``."""
    ratios = [ratio for result in results for ratio in result["ratios"]]
    stats = summarize(ratios)
    combined = dict(results[0])
    combined.update(
        ratio=stats["median"],
        stats=stats,
        ratios=ratios,
        process_ratios=[result["ratio"] for result in results],
        seconds=round(sum(result["seconds"] for result in results), 2),
        ns_per_op_median={
            variant: statistics.median(result["ns_per_op_median"][variant] for result in results)
            for variant in results[0]["ns_per_op_median"]
        },
    )
    combined["met"] = _met(combined)
    return combined


IN_ONE_PROCESS: dict[str, Callable[[Scale], dict[str, Any]]] = {
    "CAL": calibration,
    "B1": b1_processor,
    "B1c": b1_children,
}
"""The benchmarks that run in fresh processes, as one process runs them."""

BENCHMARKS: dict[str, Callable[[Scale], dict[str, Any]]] = {
    "CAL": in_processes("CAL", calibration),
    "CAL2": calibration_added,
    "B1": in_processes("B1", b1_processor),
    "B1c": in_processes("B1c", b1_children),
    "B1s": b1_session,
    "B2": b2_enrich,
    "B2i": b2_enrich_indexed,
    "B4": b4_late,
    "B4e": b4_emission,
    "B6": b6_scaling,
    "B5": b5_memory,
    "B3": b3_honeyhive,  # last: HoneyHiveTracer installs a global tracer provider
}


def median_of(values: list[float]) -> float:
    return statistics.median(values)


if __name__ == "__main__":  # one benchmark in this process: in_processes() runs this
    _bench_id, _scale = sys.argv[1], Scale(**json.loads(sys.argv[2]))
    print(json.dumps(IN_ONE_PROCESS[_bench_id](_scale)))
