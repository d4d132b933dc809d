"""Zero-code setup (docs/DESIGN.md §14): an app with no OpenTelemetry setup, run under
``opentelemetry-instrument`` with ``OTEL_PYTHON_CONFIGURATOR=otel_feedback``, receiving a
``traceparent`` and ``baggage``; its spans and feedback are read back over OTLP."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers_wire import EVENT, SRC, only_event

from otel_feedback.testing import OTLPReceiver, ReceivedSpan

APP = Path(__file__).parent / "apps" / "zero_code_app.py"
REMOTE_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
REMOTE_PARENT = "00f067aa0ba902b7"
HEADERS = {
    "traceparent": f"00-{REMOTE_TRACE}-{REMOTE_PARENT}-01",
    "baggage": "session.id=sess-from-frontend,user.id=u-7",
}


def _instrument() -> str:
    found = shutil.which("opentelemetry-instrument", path=str(Path(sys.executable).parent))
    assert found, "opentelemetry-instrument is installed with the dev extra"
    return found


def _run(receiver: OTLPReceiver, **extra: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "PYTEST"))}
    env.update(
        PYTHONPATH=SRC + os.pathsep + env.get("PYTHONPATH", ""),
        APP_HEADERS=json.dumps(HEADERS),
        OTEL_PYTHON_CONFIGURATOR="otel_feedback",
        OTEL_SERVICE_NAME="zero-code-app",
        OTEL_TRACES_EXPORTER="otlp",
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.grpc_endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
        OTEL_BSP_SCHEDULE_DELAY="50",
        **extra,
    )
    result = subprocess.run(
        [_instrument(), sys.executable, str(APP)],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def _spans(receiver: OTLPReceiver) -> dict[str, ReceivedSpan]:
    spans = receiver.wait_for_spans(2)
    return {span.name: span for span in spans}


@pytest.mark.parametrize("opt_in", [False, True], ids=["baggage-ignored", "baggage-opted-in"])
def test_unmodified_app_under_opentelemetry_instrument(
    otlp_receiver: OTLPReceiver, opt_in: bool
) -> None:
    extra = {"OTEL_FEEDBACK_IDENTITY_FROM_BAGGAGE": "true"} if opt_in else {}
    out = _run(otlp_receiver, **extra)
    assert out["diagnostics"] == {}
    assert len(out["feedback_id"]) == 32
    spans = _spans(otlp_receiver)
    handle, llm = spans["handle"], spans["llm"]
    # The SDK was set up from OTEL_*: the service name, and the incoming trace continued.
    assert handle.resource_attributes["service.name"] == "zero-code-app"
    assert handle.trace_id == REMOTE_TRACE
    assert handle.parent_span_id == REMOTE_PARENT
    # The remote-parented span is the local root: enrich_session from its child lands there.
    assert handle.attributes["feedback.liked"] is True
    assert llm.attributes["feedback.grounded"] is True
    assert llm.attributes["feedback.thumbs_up"] is True
    event = only_event(llm, EVENT)
    assert event.attributes["feedback.id"] == out["feedback_id"]
    assert event.attributes["feedback.source.id"] == "web_ui"
    # Identity from baggage only when opted in.
    for span in (handle, llm):
        if opt_in:
            assert span.attributes["session.id"] == "sess-from-frontend"
            assert span.attributes["user.id"] == "u-7"
        else:
            assert "session.id" not in span.attributes
            assert "user.id" not in span.attributes
