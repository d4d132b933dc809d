"""``otel-feedback stats phoenix://...`` against the real Phoenix of the e2e suite.

The scenario of the file tests (live, late and overridden feedback, groups, time buckets) is
exported over OTLP/HTTP into its own Phoenix project, read back through
``arize-phoenix-client`` by the command, and every number is compared with the exact
computation. Phoenix keeps no resource attributes, so a group key found only there is null.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from phoenix_backend import PhoenixServer
from stats_scenario import BASE, Truth, expected_rows, record
from test_stats_file import assert_rows

import otel_feedback as fb
from otel_feedback.cli import main

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stored(phoenix: PhoenixServer) -> tuple[str, Truth]:
    project = f"stats-{uuid.uuid4().hex[:8]}"
    resource = Resource.create({"service.name": "chat-svc", "openinference.project.name": project})
    provider = TracerProvider(resource=resource)
    memory = InMemorySpanExporter()
    provider.add_span_processor(fb.FeedbackSpanProcessor(tracer_provider=provider))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=phoenix.otlp_http_endpoint, timeout=10))
    )
    truth = record(provider)
    provider.shutdown()
    sent = len(memory.get_finished_spans())
    deadline = time.monotonic() + 60
    while len(phoenix.spans(project=project)) < sent:
        assert time.monotonic() < deadline, f"Phoenix did not ingest the {sent} spans"
        time.sleep(0.5)
    return f"phoenix://127.0.0.1:{phoenix.port}/{project}", truth


def stats(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    code = main(["stats", *args, "--format", "json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out else None, captured.err


def test_every_measure_matches_through_phoenix(
    stored: tuple[str, Truth], capsys: pytest.CaptureFixture[str]
) -> None:
    source, truth = stored
    code, out, err = stats(capsys, source)
    assert code == 0, err
    assert_rows(out["rows"], expected_rows(truth))


@pytest.mark.parametrize("group_by", ["gen_ai.request.model", "team"])
def test_groups_buckets_and_window_through_phoenix(
    stored: tuple[str, Truth], capsys: pytest.CaptureFixture[str], group_by: str
) -> None:
    source, truth = stored
    since = BASE + dt.timedelta(hours=1)
    until = BASE + dt.timedelta(hours=5, minutes=30)
    code, out, err = stats(
        capsys,
        source,
        "--group-by",
        group_by,
        "--every",
        "1h",
        "--since",
        since.isoformat(),
        "--until",
        until.isoformat(),
    )
    assert code == 0, err
    expected = expected_rows(truth, group_by=group_by, every_seconds=3600, since=since, until=until)
    assert_rows(out["rows"], expected)


def test_an_empty_project_and_resource_groups(
    stored: tuple[str, Truth], capsys: pytest.CaptureFixture[str], phoenix: PhoenixServer
) -> None:
    source, _ = stored
    code, out, err = stats(capsys, f"phoenix://127.0.0.1:{phoenix.port}/no-such-project")
    assert (code, out) == (0, {"rows": []})
    assert "no feedback found" in err
    code, out, _ = stats(capsys, source, "--group-by", "service.name", "--field", "metrics.*")
    assert code == 0
    assert [row["group"] for row in out["rows"]] == [None]
