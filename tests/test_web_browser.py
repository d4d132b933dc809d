"""A real browser on the example chat page: ask, thumbs down, 4 stars, copy, and the records
arrive on the rated span with the right kinds.

Headless Chromium is Debian's ``chromium`` (``scripts/test.py`` installs it when missing),
driven by Playwright for Python; no browser is downloaded.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect, sync_playwright

from otel_feedback.testing import OTLPReceiver

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CHROMIUM = "/usr/bin/chromium"
EVENT = "gen_ai.evaluation.result"


@pytest.fixture
def example_app(otlp_receiver: OTLPReceiver) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp_receiver.grpc_endpoint
    env["OTEL_BSP_SCHEDULE_DELAY"] = "100"
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "web_app.py"), "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip().removeprefix("listening on ")
    finally:
        process.send_signal(signal.SIGINT)  # flushes the spans
        process.wait(timeout=30)


def _status(page: Page, text: str) -> None:
    expect(page.get_by_role("status")).to_have_text(re.compile(text), timeout=15_000)


def test_browser_rates_the_answer(
    otlp_receiver: OTLPReceiver, example_app: str, tmp_path: Path
) -> None:
    assert Path(CHROMIUM).exists(), "Debian chromium is missing: run python3 scripts/test.py"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--no-proxy-server"]
        )
        try:
            context = browser.new_context(
                permissions=["clipboard-read", "clipboard-write"], viewport={"width": 900,
                                                                              "height": 700}
            )
            page = context.new_page()
            page.goto(example_app)
            page.get_by_role("button", name="Ask the question").click()
            answer = page.locator(".answer").first
            expect(answer).to_contain_text("The answer is 42")
            ids = page.locator(".ids").first.inner_text()
            trace_id, span_id = re.fullmatch(r"trace ([0-9a-f]{32}) · span ([0-9a-f]{16})",
                                             ids).groups()  # type: ignore[union-attr]

            page.get_by_role("button", name="Thumbs down: this answer was not helpful").click()
            _status(page, "Thanks! Your thumbs down was recorded")
            page.get_by_role("button", name="Rate 4 of 5 stars").click()
            _status(page, "Thanks! Your 4-star rating was recorded")
            page.get_by_role("button", name="Copy the answer to the clipboard").click()
            _status(page, "Thanks! Your copy was recorded")
            copied = page.evaluate("navigator.clipboard.readText()")
            assert "The answer is 42" in copied
            pressed = page.get_by_role("button", name="Rate 4 of 5 stars")
            expect(pressed).to_have_attribute("aria-pressed", "true")
            page.screenshot(path=str(tmp_path / "web_app.png"), full_page=True)
        finally:
            browser.close()

    spans = otlp_receiver.wait_for_spans(
        3, predicate=lambda span: span.name == "feedback", timeout=30
    )
    chat = otlp_receiver.span_by_name("chat")
    assert (chat.trace_id, chat.span_id) == (trace_id, span_id)
    records = {}
    for span in spans:
        assert span.parent_span_id == chat.span_id
        assert span.trace_id == chat.trace_id
        event = span.events_named(EVENT)[0].attributes
        records[event["gen_ai.evaluation.name"]] = event
    assert set(records) == {"thumbs_up", "rating", "copied"}
    assert records["thumbs_up"]["feedback.value"] is False
    assert records["thumbs_up"]["feedback.kind"] == "explicit"
    assert records["rating"]["gen_ai.evaluation.score.value"] == 4.0
    assert records["rating"]["feedback.kind"] == "explicit"
    assert records["copied"]["feedback.kind"] == "implicit"
    for event in records.values():
        assert event["feedback.source.id"] == "web_ui"
        assert re.fullmatch(r"[0-9a-f]{32}", event["feedback.id"])


ASK = """async () => {
  const response = await fetch("/chat", {method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({message: "retry?", session_id: "s-retry"})});
  return (await response.json()).feedback_token;
}"""


def test_browser_retries_with_the_same_id_and_beacons_on_page_hide(
    otlp_receiver: OTLPReceiver, example_app: str
) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--no-proxy-server"]
        )
        try:
            page = browser.new_page()
            page.goto(example_app)
            token = page.evaluate(ASK)
            sent: list[dict[str, object]] = []

            def answer_lost(route: Route) -> None:
                # The server gets the record, the browser never hears back: it must retry.
                body = route.request.post_data or ""
                sent.append(json.loads(body))
                if len(sent) == 1:
                    route.fetch()
                    route.abort("connectionreset")
                else:
                    route.continue_()

            page.route("**/fb/feedback", answer_lost)
            result = page.evaluate(
                "t => OtelFeedback.create({retryDelayMs: 50}).thumbs(t, true)", token
            )
            assert result["ok"] is True
            assert len(sent) == 2
            assert sent[0]["id"] == sent[1]["id"] == result["id"]
            page.unroute("**/fb/feedback")

            page.route("**/fb/feedback", lambda route: route.abort("internetdisconnected"))
            offline = page.evaluate(
                "t => (window.offline = OtelFeedback.create({retries: 1, retryDelayMs: 20}))"
                ".rate(t, 2)",
                token,
            )
            assert offline["ok"] is False
            assert offline["status"] == 0
            page.unroute("**/fb/feedback")
            page.goto("about:blank")  # pagehide: the pending rating goes by sendBeacon
        finally:
            browser.close()

    spans = otlp_receiver.wait_for_spans(
        2, predicate=lambda span: span.name == "feedback", timeout=30
    )
    events = [span.events_named(EVENT)[0].attributes for span in spans]
    by_name = {event["gen_ai.evaluation.name"]: event for event in events}
    assert sorted(by_name) == ["rating", "thumbs_up"]
    assert len(events) == 2  # the retried thumbs up was recorded once
    assert by_name["thumbs_up"]["feedback.id"] == result["id"]
    assert by_name["rating"]["feedback.id"] == offline["id"]
