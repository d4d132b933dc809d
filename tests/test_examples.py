"""Every example runs as written, and what it exports arrives with the right feedback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from otel_feedback.testing import OTLPReceiver, ReceivedSpan

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _env(receiver: OTLPReceiver, protocol: str = "grpc") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    if protocol == "grpc":
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.grpc_endpoint
    else:
        env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf"
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.http_endpoint
    return env


def _run(name: str, receiver: OTLPReceiver, protocol: str = "grpc") -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        env=_env(receiver, protocol),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _feedback_spans(spans: list[ReceivedSpan]) -> dict[str, ReceivedSpan]:
    """Feedback spans keyed by the name in their gen_ai.evaluation.result event."""
    found = {}
    for span in spans:
        for event in span.events:
            if span.name == "feedback" and event.name == "gen_ai.evaluation.result":
                found[event.attributes["gen_ai.evaluation.name"]] = span
    return found


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_quickstart(otlp_receiver: OTLPReceiver, protocol: str) -> None:
    out = _run("quickstart.py", otlp_receiver, protocol)
    spans = otlp_receiver.wait_for_spans(2)
    chat = otlp_receiver.span_by_name("chat")
    assert chat.trace_id in out
    assert chat.attributes["feedback.rating"] == 5
    assert chat.attributes["feedback.step1.retry"] is True
    assert chat.attributes["feedback.edits.0.value"] == "NY"
    assert chat.attributes["session.id"] == "sess-1"
    late = _feedback_spans(spans)["thumbs_up"]
    assert late.parent_span_id == chat.span_id
    assert late.trace_id == chat.trace_id
    assert chat.start_time_unix_nano <= late.start_time_unix_nano <= chat.end_time_unix_nano


def test_late_feedback_from_second_process(otlp_receiver: OTLPReceiver) -> None:
    _run("late_feedback.py", otlp_receiver)
    spans = otlp_receiver.wait_for_spans(4)
    answer = otlp_receiver.span_by_name("answer")
    late = _feedback_spans(spans)
    assert set(late) == {"user_rating", "correction", "copied"}
    for span in late.values():
        assert span.parent_span_id == answer.span_id
        assert [link.span_id for link in span.links] == [answer.span_id]
        assert span.attributes["session.id"] == "sess-late"
        assert span.start_time_unix_nano == span.end_time_unix_nano
    assert late["correction"].attributes["feedback.correction.city"] == "Lyon"
    assert late["copied"].events[0].attributes["feedback.kind"] == "implicit"
    assert late["user_rating"].events[0].attributes["feedback.source.id"] == "web_ui"


def test_honeyhive_style(otlp_receiver: OTLPReceiver) -> None:
    _run("honeyhive_style.py", otlp_receiver)  # no OpenTelemetry setup, flushed at exit
    spans = otlp_receiver.wait_for_spans(3)
    root = otlp_receiver.span_by_name("support_chat")
    generate = otlp_receiver.span_by_name("generate")
    retrieve = otlp_receiver.span_by_name("retrieve")
    assert root.resource_attributes["service.name"] == "honeyhive-style"
    assert len({span.attributes["session.id"] for span in spans}) == 1
    assert generate.parent_span_id == root.span_id == retrieve.parent_span_id
    assert root.attributes["metadata.channel"] == "web"
    assert root.attributes["user_properties.plan"] == "pro"
    assert root.attributes["feedback.liked"] is True
    assert generate.attributes["feedback.ground_truth"] == "New York"
    assert generate.attributes["metrics.judge.relevance"] == 0.92
    assert generate.attributes["config.temperature"] == 0.2
    assert generate.attributes["openinference.span.kind"] == "LLM"
    assert retrieve.attributes["metrics.retrieval.hits"] == 4
    assert json.loads(root.attributes["input.value"]) == {
        "question": "Which US city is the largest?"
    }


def test_opik_style(otlp_receiver: OTLPReceiver) -> None:
    out = _run("opik_style.py", otlp_receiver)
    spans = otlp_receiver.wait_for_spans(6)
    root, llm = otlp_receiver.span_by_name("qa"), otlp_receiver.span_by_name("llm")
    assert root.trace_id in out
    assert llm.parent_span_id == root.span_id
    assert root.attributes["tag.tags"] == ("geography",)
    assert root.attributes["metadata.prompt"] == "v2"
    assert root.attributes["session.id"] == "conversation-7"
    assert root.attributes["feedback.answer_length_ok"] == 1.0
    assert llm.attributes["openinference.span.kind"] == "LLM"
    assert llm.attributes["output.value"] == "Paris"
    late = _feedback_spans(spans)
    assert late["coherence"].parent_span_id == root.span_id
    assert late["hallucination"].events[0].attributes["gen_ai.evaluation.score.value"] == 0.0
    quality = late["quality"]
    assert quality.parent_span_id == llm.span_id
    assert quality.events[0].attributes["gen_ai.evaluation.score.label"] == "good"
    thread = late["user_satisfied"]
    assert thread.parent_span_id is None
    assert thread.attributes["session.id"] == "conversation-7"


def test_mlflow_style(otlp_receiver: OTLPReceiver) -> None:
    out = _run("mlflow_style.py", otlp_receiver)
    spans = otlp_receiver.wait_for_spans(6)
    predict = otlp_receiver.span_by_name("predict")
    assert f"tr-{predict.trace_id}" in out
    late = _feedback_spans(spans)
    sources = {name: span.events[0].attributes["feedback.source.type"]
               for name, span in late.items()}
    assert sources == {
        "is_correct": "HUMAN",
        "relevance": "LLM_JUDGE",
        "length_ok": "CODE",
        "ground_truth.expected_response": "HUMAN",
        "faithfulness": "LLM_JUDGE",
    }
    assert all(span.parent_span_id == predict.span_id for span in late.values())
    relevance = late["relevance"].events[0].attributes
    assert relevance["feedback.source.id"] == "judge-model-v1"
    assert relevance["gen_ai.evaluation.explanation"] == "answers the question asked"
    failed = late["faithfulness"].events[0].attributes
    assert (failed["error.type"], failed["feedback.error"]) == (
        "RATE_LIMIT_EXCEEDED", "judge rate-limited"
    )
    expected = late["ground_truth.expected_response"].attributes
    assert expected["feedback.ground_truth.expected_response"].startswith("MLflow is")


def _post(url: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_web_app(otlp_receiver: OTLPReceiver) -> None:
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "web_app.py"), "--port", "0"],
        env=_env(otlp_receiver),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        base = process.stdout.readline().strip().removeprefix("listening on ")
        status, reply = _post(f"{base}/chat", {"message": "hi", "session_id": "s-web"})
        assert status == 200
        assert "42" in reply["answer"]
        assert len(reply["trace_id"]) == 32
        assert len(reply["span_id"]) == 16
        status, accepted = _post(
            f"{base}/fb/feedback",
            {"token": reply["feedback_token"], "name": "thumbs_up", "value": True},
        )
        assert status == 202
        assert len(accepted["id"]) == 32
        garbage = {"token": "garbage", "name": "x", "value": 1}
        status, refused = _post(f"{base}/fb/feedback", garbage)
        assert status == 401
        assert refused["field"] == "token"
        with urllib.request.urlopen(f"{base}/", timeout=30) as page:
            html = page.read().decode()
        assert '<script src="/fb/feedback.js"></script>' in html
        assert 'aria-label="Ask the question"' in html
        with urllib.request.urlopen(f"{base}/fb/feedback.js", timeout=30) as script:
            assert b"sendBeacon" in script.read()
    finally:
        process.send_signal(signal.SIGINT)  # the app flushes its spans on Ctrl-C
        process.wait(timeout=30)
    spans = otlp_receiver.wait_for_spans(3)
    chat = otlp_receiver.span_by_name("chat")
    assert chat.attributes["session.id"] == "s-web"
    assert chat.attributes["input.value"] == "hi"
    assert "42" in chat.attributes["output.value"]
    assert (chat.trace_id, chat.span_id) == (reply["trace_id"], reply["span_id"])
    thumbs = _feedback_spans(spans)["thumbs_up"]
    assert thumbs.parent_span_id == chat.span_id
    assert thumbs.events[0].attributes["feedback.source.id"] == "web_ui"
    assert thumbs.events[0].attributes["feedback.id"] == accepted["id"]


def test_scoring(otlp_receiver: OTLPReceiver, judge_server: Any) -> None:
    env = _env(otlp_receiver)
    env.update(
        OPENAI_BASE_URL=judge_server.base_url,
        OPENAI_API_KEY="test-key",
        OTEL_FEEDBACK_JUDGE_MODEL="score:0.9",
    )
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "scoring.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "evaluation 'capitals-v1'" in result.stdout
    spans = otlp_receiver.wait_for_spans(9)  # llm, chat, 2 items, 5 feedback spans
    llm, chat = otlp_receiver.span_by_name("llm"), otlp_receiver.span_by_name("chat")
    scores = {
        (span.parent_span_id, event.attributes["gen_ai.evaluation.name"]): event.attributes
        for span in spans
        if span.name == "feedback"
        for event in span.events
    }
    assert scores[(llm.span_id, "is_json")]["gen_ai.evaluation.score.value"] == 0.0
    assert scores[(llm.span_id, "contains")]["gen_ai.evaluation.score.value"] == 1.0
    assert scores[(llm.span_id, "levenshtein")]["gen_ai.evaluation.score.value"] == 1.0
    judge = scores[(llm.span_id, "answer_relevance")]
    assert judge["gen_ai.evaluation.score.value"] == 0.9
    assert judge["feedback.source.type"] == "LLM_JUDGE"
    assert scores[(chat.span_id, "equals")]["feedback.source.type"] == "CODE"
    items = otlp_receiver.spans_named("evaluation.item")
    assert sorted(span.attributes["feedback.equals"] for span in items) == [0.0, 1.0]
