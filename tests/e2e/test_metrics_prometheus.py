"""Feedback metrics end to end: the OpenTelemetry Prometheus exporter, scraped by a real
Prometheus server, answers PromQL with the exact average and the P95 within its bucket."""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from local_server import free_port
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_backend import PrometheusServer
from prometheus_client import CollectorRegistry, start_http_server

import otel_feedback as fb
from otel_feedback.conventions import METRIC_SCORE_BOUNDARIES

pytestmark = pytest.mark.e2e

MODELS = ("m-small", "m-large")


@dataclass
class Exporter:
    """The app's ``/metrics`` endpoint on 127.0.0.1."""

    address: str
    meter_provider: MeterProvider


@pytest.fixture
def exporter() -> Iterator[Exporter]:
    registry = CollectorRegistry()
    meter_provider = MeterProvider(metric_readers=[PrometheusMetricReader(registry=registry)])
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        yield Exporter(f"127.0.0.1:{port}", meter_provider)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        meter_provider.shutdown()


def p95_linear(values: list[float]) -> float:
    """The 95th percentile by linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    position = 0.95 * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def bucket_of(value: float) -> tuple[float, float]:
    """The explicit bucket ``(lower, upper]`` holding ``value``."""
    index = bisect.bisect_left(METRIC_SCORE_BOUNDARIES, value)
    lower = METRIC_SCORE_BOUNDARIES[index - 1] if index > 0 else 0.0
    upper = METRIC_SCORE_BOUNDARIES[index] if index < len(METRIC_SCORE_BOUNDARIES) else math.inf
    return lower, upper


def test_prometheus_answers_average_and_p95(exporter: Exporter) -> None:
    rng = random.Random(2026)
    quality = {
        "m-small": [round(rng.betavariate(2, 5), 3) for _ in range(300)],
        "m-large": [round(rng.betavariate(5, 2), 3) for _ in range(300)],
    }
    rating = {model: [rng.randint(1, 5) for _ in range(120)] for model in MODELS}
    share_up = {"m-small": 0.4, "m-large": 0.8}
    thumbs = {model: [rng.random() < share_up[model] for _ in range(80)] for model in MODELS}
    provider = fb.configure(
        set_global=False, exporter=InMemorySpanExporter(), metrics=exporter.meter_provider
    )
    try:
        tracer = provider.get_tracer("app")
        for model in MODELS:
            tokens = []
            for value in quality[model]:  # a judge scores each answer while its span is open
                with tracer.start_as_current_span("chat") as span:
                    span.set_attribute("gen_ai.request.model", model)
                    fb.log_feedback("quality", value, source="LLM_JUDGE", strict=True)
                    tokens.append(fb.current_feedback_token())
            for index, stars in enumerate(rating[model]):  # half live, half late by token
                if index % 2:
                    fb.log_feedback("user_rating", stars, target=tokens[index], strict=True)
                    continue
                with tracer.start_as_current_span("chat") as span:
                    span.set_attribute("gen_ai.request.model", model)
                    fb.log_feedback("user_rating", stars, strict=True)
            for index, thumb in enumerate(thumbs[model]):  # late
                fb.log_feedback("thumbs_up", thumb, target=tokens[index], strict=True)
            fb.log_feedback("comment", f"free text {model}", target=tokens[0], strict=True)
    finally:
        provider.shutdown()

    total = sum(len(quality[m]) + len(rating[m]) + len(thumbs[m]) for m in MODELS)
    with PrometheusServer([exporter.address], scrape_interval=0.5) as prometheus:
        prometheus.wait_for(
            "sum(feedback_score_count)",
            lambda result: bool(result) and float(result[0]["value"][1]) == total,
        )
        by_model = "gen_ai_request_model"
        for name, data in (("quality", quality), ("user_rating", rating)):
            selector = f'{{gen_ai_evaluation_name="{name}"}}'
            average = prometheus.values(
                f"sum by ({by_model}) (feedback_score_sum{selector})"
                f" / sum by ({by_model}) (feedback_score_count{selector})"
            )
            p95 = prometheus.values(
                f"histogram_quantile(0.95, sum by (le, {by_model}) "
                f"(feedback_score_bucket{selector}))"
            )
            for model in MODELS:
                values = [float(v) for v in data[model]]
                labels = ((by_model, model),)
                assert average[labels] == pytest.approx(sum(values) / len(values), rel=1e-9)
                exact = p95_linear(values)
                lower, upper = bucket_of(sorted(values)[math.ceil(0.95 * len(values)) - 1])
                assert lower <= p95[labels] <= upper, (name, model, p95[labels], lower, upper)
                assert abs(p95[labels] - exact) <= upper - lower
        share = prometheus.values(
            f'sum by ({by_model}) (feedback_score_sum{{gen_ai_evaluation_name="thumbs_up"}})'
            f' / sum by ({by_model}) (feedback_score_count{{gen_ai_evaluation_name="thumbs_up"}})'
        )
        for model in MODELS:
            expected = sum(thumbs[model]) / len(thumbs[model])
            assert share[((by_model, model),)] == pytest.approx(expected, rel=1e-9)
        records = prometheus.query("feedback_records_total")
        assert sum(float(r["value"][1]) for r in records) == total + len(MODELS)
        comments = prometheus.query('feedback_records_total{gen_ai_evaluation_name="comment"}')
        assert len(comments) == len(MODELS)
        labels = {key for row in comments for key in row["metric"]}
        assert labels <= {
            "__name__", "instance", "job", "otel_scope_name", "otel_scope_version",
            "otel_scope_schema_url", "gen_ai_evaluation_name", "feedback_source_type",
            "feedback_kind", "gen_ai_request_model", "gen_ai_evaluation_score_label",
        }
        assert all(row["metric"].get("gen_ai_evaluation_score_label", "") == "" for row in comments)
