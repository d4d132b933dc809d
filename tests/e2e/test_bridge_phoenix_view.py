"""Phoenix's own span view, in headless Chromium, shows the bridge's annotations.

Debian ``chromium`` (``scripts/test.py`` installs it when missing), driven by Playwright for
Python; no browser is downloaded. The screenshot is kept at
``<pytest tmp>/phoenix-span-view.png`` for a person to look at.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from phoenix_backend import PhoenixServer
from playwright.sync_api import expect, sync_playwright

import otel_feedback as fb
from otel_feedback.bridges.phoenix import PhoenixAnnotationExporter

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"


def test_span_view_shows_the_annotations(phoenix: PhoenixServer, tmp_path: Path) -> None:
    assert Path(CHROMIUM).exists(), "Debian chromium is missing: run python3 scripts/test.py"
    project = f"view-{uuid.uuid4().hex[:8]}"
    provider = TracerProvider(resource=Resource.create({"openinference.project.name": project}))
    provider.add_span_processor(fb.FeedbackSpanProcessor(tracer_provider=provider))
    otlp = OTLPSpanExporter(endpoint=phoenix.otlp_grpc_endpoint, insecure=True, timeout=10)
    provider.add_span_processor(BatchSpanProcessor(otlp))
    bridge = PhoenixAnnotationExporter(phoenix.base_url, project=project)
    provider.add_span_processor(BatchSpanProcessor(bridge))
    tracer = provider.get_tracer("view")
    with tracer.start_as_current_span("chat") as chat:
        chat.set_attribute("input.value", "What's the weather in Paris?")
        chat.set_attribute("output.value", "Lyon: 16°C, sunny")
        token = fb.current_feedback_token()
    fb.log_feedback("thumbs_up", False, target=token, source_id="web_ui", reason="wrong city")
    fb.log_feedback(
        "correctness", 0.25, target=token, source="LLM_JUDGE", label="incorrect", reason="Lyon"
    )
    provider.shutdown()  # flushes the OTLP exporter and the bridge
    trace_id = f"{chat.get_span_context().trace_id:032x}"
    [project_id] = [
        p["id"]
        for p in phoenix.get_json("/v1/projects", {"limit": 1000})["data"]
        if p["name"] == project
    ]

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--no-proxy-server"]
        )
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 950})
            page.goto(f"{phoenix.base_url}/projects/{project_id}/traces/{trace_id}")
            span_info = page.get_by_test_id("span-info-wrap")
            annotations = span_info.get_by_role("button", name="Annotations", exact=True)
            expect(annotations).to_be_visible(timeout=30_000)
            # The selected span is the rated one, with both annotations and their scores.
            expect(span_info.get_by_text("thumbs_up").first).to_be_visible()
            expect(span_info.get_by_text("correctness").first).to_be_visible()
            expect(span_info.get_by_text("0.25").first).to_be_visible()
            annotations.click()  # open the card, then its table: labels and explanations
            span_info.get_by_text("Table", exact=True).click()
            expect(span_info.get_by_text("wrong city").first).to_be_visible()
            expect(span_info.get_by_text("incorrect").first).to_be_visible()
            page.screenshot(path=str(tmp_path / "phoenix-span-view.png"))
        finally:
            browser.close()
