"""``otel-feedback serve`` as a real process: a secret, valid and hostile requests over HTTP,
and the records read back from an OTLP receiver; then a short loopback load."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import otel_feedback as fb  # noqa: E402
from benchmarks.web_load import run_load, served, signed_bodies  # noqa: E402
from otel_feedback.testing import OTLPReceiver  # noqa: E402

SECRET = "serve-secret"
EVENT = "gen_ai.evaluation.result"


def _env(receiver: OTLPReceiver, **extra: str) -> dict[str, str]:
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.grpc_endpoint,
        "OTEL_SERVICE_NAME": "feedback-endpoint",
        **extra,
    }


def _send(
    base: str, body: Any, *, content_type: str = "application/json", method: str = "POST",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], dict[str, Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{base}/feedback",
        data=data if method == "POST" else None,
        method=method,
        headers={"Content-Type": content_type, **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, dict(response.headers), json.loads(raw) if raw else {}
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, dict(error.headers), json.loads(raw) if raw else {}


def _token(span_id: int, *, secret: str = SECRET, age_s: float = 0, user: str = "u-1") -> str:
    issued = time.time_ns() - int(age_s * 1e9)
    return fb.FeedbackToken(0xFEED0000 + span_id, span_id, issued, session_id="s-serve",
                            user_id=user).encode(secret)


def test_serve_with_a_secret_over_http(otlp_receiver: OTLPReceiver) -> None:
    nested: Any = 1
    for _ in range(100):
        nested = {"n": nested}
    with served(_env(otlp_receiver, OTEL_FEEDBACK_TOKEN_SECRET=f"next,{SECRET}"),
                "--max-age", "3600", "--cors-origin", "https://chat.example.com",
                stop=signal.SIGTERM) as (_, base):
        status, _, one = _send(base, {"token": _token(1), "name": "thumbs_up", "value": False,
                                      "reason": "wrong", "id": "1" * 32})
        assert status == 202, one
        # Exported while the server runs (batches leave within a second by default).
        early = otlp_receiver.wait_for_spans(1, predicate=lambda span: span.name == "feedback",
                                             timeout=20)
        assert early[0].parent_span_id == f"{1:016x}"
        retry = _send(base, {"token": _token(1), "name": "thumbs_up", "value": False,
                             "id": "1" * 32})
        assert retry[0] == 202
        assert retry[2]["duplicates"] == 1
        status, _, many = _send(
            base,
            [{"token": _token(2), "name": "rating", "value": 4},
             {"token": _token(2), "name": "copied", "value": True, "kind": "implicit"}],
            content_type="text/plain;charset=UTF-8",
        )
        assert status == 202, many
        good = _token(3)
        hostile = {
            "forged": ({"token": "A" * 60, "name": "x", "value": 1}, 401),
            "foreign": ({"token": _token(3, secret="other"), "name": "x", "value": 1}, 401),
            "altered": ({"token": good[:40] + ("B" if good[40] != "B" else "C") + good[41:],
                         "name": "x", "value": 1}, 401),
            "truncated": ({"token": good[:-4], "name": "x", "value": 1}, 401),
            "unsigned": ({"token": fb.FeedbackToken(5, 5, time.time_ns()).encode(),
                          "name": "x", "value": 1}, 401),
            "expired": ({"token": _token(4, age_s=7200), "name": "x", "value": 1}, 410),
            "1MB token": ({"token": "A" * 1_000_000, "name": "x", "value": 1}, 413),
            "nested": ({"token": good, "name": "x", "value": nested}, 422),
            "injection": ({"token": good, "name": "x\r\nX-Evil: 1", "value": 1}, 422),
            "not json": (b"<xml/>", 400),
        }
        for label, (body, expected) in hostile.items():
            status, headers, answer = _send(base, body)
            assert status == expected, (label, answer)
            assert answer["status"] == expected
            assert answer["detail"], label
            assert "X-Evil" not in headers
        assert _send(base, {"token": good}, content_type="application/xml")[0] == 415
        preflight = _send(base, b"", method="OPTIONS", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
        assert preflight[0] == 403
        assert "Access-Control-Allow-Origin" not in preflight[1]
        allowed = _send(base, b"", method="OPTIONS", headers={
            "Origin": "https://chat.example.com", "Access-Control-Request-Method": "POST"})
        assert allowed[0] == 204
        # Still serving after all that.
        assert _send(base, {"token": good, "name": "after_attacks", "value": 1})[0] == 202
        with urllib.request.urlopen(f"{base}/feedback.js", timeout=10) as script:
            assert b"OtelFeedback" in script.read()
    # The server was stopped with SIGTERM: it flushed. Exactly the accepted records arrived.
    spans = otlp_receiver.wait_for_spans(4, predicate=lambda span: span.name == "feedback")
    events = {span.events_named(EVENT)[0].attributes["gen_ai.evaluation.name"]: span
              for span in spans}
    assert sorted(events) == ["after_attacks", "copied", "rating", "thumbs_up"]
    assert len(spans) == 4
    thumbs = events["thumbs_up"]
    assert thumbs.parent_span_id == f"{1:016x}"
    assert thumbs.trace_id == f"{0xFEED0001:032x}"
    assert thumbs.attributes["session.id"] == "s-serve"
    assert thumbs.attributes["user.id"] == "u-1"
    event = thumbs.events_named(EVENT)[0].attributes
    assert event["feedback.id"] == one["id"]
    assert event["feedback.source.id"] == "web_ui"
    assert events["copied"].events_named(EVENT)[0].attributes["feedback.kind"] == "implicit"
    assert thumbs.resource_attributes["service.name"] == "feedback-endpoint"


def test_serve_refuses_to_start_without_a_secret(otlp_receiver: OTLPReceiver) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "otel_feedback.cli", "serve", "--port", "0"],
        env={**_env(otlp_receiver), "PATH": "/usr/bin:/bin",
             "PYTHONPATH": str(REPO_ROOT / "src")},
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 2
    assert "OTEL_FEEDBACK_TOKEN_SECRET" in result.stderr
    assert "--allow-unsigned" in result.stderr
    with served(_env(otlp_receiver), "--allow-unsigned") as (_, base):
        unsigned = fb.FeedbackToken(9, 9, time.time_ns()).encode()
        assert _send(base, {"token": unsigned, "name": "x", "value": 1})[0] == 202


def test_short_loopback_load_has_no_server_errors(otlp_receiver: OTLPReceiver) -> None:
    bodies = signed_bodies(SECRET, 400)
    with served(_env(otlp_receiver, OTEL_FEEDBACK_TOKEN_SECRET=SECRET),
                "--rate-limit", "0", "--token-rate-limit", "0") as (_, base):
        result = run_load(base, bodies, seconds=3, connections=8)
    print(f"\nloopback load: {result.summary()}")
    assert result.requests > 0
    assert result.server_errors == 0
    assert result.errors == 0
    assert set(result.statuses) == {202}
    arrived = otlp_receiver.wait_for_spans(
        result.requests, predicate=lambda span: span.name == "feedback", timeout=60
    )
    assert len(arrived) == result.requests


@pytest.mark.parametrize("limit", ["2"])
def test_serve_rate_limit_option(otlp_receiver: OTLPReceiver, limit: str) -> None:
    with served(_env(otlp_receiver, OTEL_FEEDBACK_TOKEN_SECRET=SECRET),
                "--rate-limit", limit) as (_, base):
        statuses = [_send(base, {"token": _token(20 + i), "name": "x", "value": 1})[0]
                    for i in range(3)]
    assert statuses == [202, 202, 429]
