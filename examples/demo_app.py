"""otel-feedback demo: a multi-turn chatbot whose feedback lands in a real trace viewer.

``python3 scripts/demo.py`` runs this against a local Arize Phoenix. Each turn is a trace
(``chat_turn`` with ``retrieve``, ``llm`` and ``tool`` spans) in one session. The app records
explicit feedback (rating, thumbs, comment, nested corrections, ground truth), implicit
feedback (copy, regenerate) and session feedback; then a second process — "the frontend" —
sends late feedback by token. Finally the spans are read back from Phoenix's REST API and
summarised. Without ``PHOENIX_BASE_URL`` it only sends (to ``OTEL_EXPORTER_OTLP_ENDPOINT``).

With ``PHOENIX_BASE_URL`` or ``MLFLOW_TRACKING_URI`` set (``scripts/demo.py --backend
phoenix|mlflow`` sets one), the matching bridge mirrors every feedback record into that
backend's native view: Phoenix annotations, or MLflow assessments, read back at the end.

With Phoenix, the feedback just recorded is then measured per model (``otel-feedback stats``, with a
chart in ``.demo/feedback-stats.png``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace.export import SpanExporter

import otel_feedback as fb
from otel_feedback.bridges.mlflow import MLflowAssessmentExporter
from otel_feedback.bridges.phoenix import PhoenixAnnotationExporter

KNOWLEDGE = {
    "refund": "Refunds are issued within 14 days of purchase.",
    "shipping": "Standard shipping takes 3 to 5 business days.",
    "weather": "Use the weather tool for live conditions.",
}
QUESTIONS = [
    "How long do refunds take?",
    "What's the weather in Paris for my delivery?",
    "And how long is shipping?",
]

MODEL = "demo-model-1"
STATS_CHART = os.path.join(".demo", "feedback-stats.png")

tracer = trace.get_tracer("otel-feedback-demo")


def retrieve(question: str) -> list[str]:
    """Keyword retrieval over a tiny knowledge base."""
    with tracer.start_as_current_span("retrieve") as span:
        hits = [text for key, text in KNOWLEDGE.items() if key in question.lower()]
        span.set_attribute("retrieval.documents", hits or ["(none)"])
        return hits


def weather_tool(city: str) -> str:
    """A deterministic stand-in for a weather API."""
    with tracer.start_as_current_span("tool") as span:
        span.set_attribute("tool.name", "weather")
        span.set_attribute("tool.input", city)
        return f"{city}: 18°C, light rain"


def fake_llm(question: str, context: list[str]) -> str:
    """A deterministic stand-in for the model."""
    with tracer.start_as_current_span("llm") as span:
        span.set_attribute("gen_ai.request.model", MODEL)
        answer = " ".join(context) or "Let me check that for you."
        if "weather" in question.lower():
            answer += " " + weather_tool("Paris")
        span.set_attribute("gen_ai.usage.output_tokens", len(answer.split()))
        return answer


def chat_turn(number: int, question: str) -> str:
    """One turn of the conversation: returns the feedback token sent with the answer."""
    with tracer.start_as_current_span("chat_turn") as turn:
        turn.set_attribute("input.value", question)
        answer = fake_llm(question, retrieve(question))
        turn.set_attribute("output.value", answer)
        turn.set_attribute("gen_ai.request.model", MODEL)  # so feedback can be grouped by model
        if number == 1:  # explicit rating and comment, then the user copies the answer
            fb.enrich_span(feedback={"rating": 5, "comment": "clear and short"})
            fb.log_feedback("copied", True, kind="implicit", source_id="web_ui")
        if number == 2:  # a correction and the expected answer; the user regenerates
            fb.enrich_span(
                feedback={
                    "corrections": [{"field": "city", "value": "Lyon"}],
                    "ground_truth": "Lyon: 16°C, sunny",
                },
            )
            fb.log_feedback("regenerated", True, kind="implicit", source_id="web_ui")
        if number == 3:  # feedback about the whole session, from any depth
            fb.enrich_session(feedback={"resolved": True}, metadata={"channel": "web"})
        return fb.current_feedback_token() or ""


def bridges() -> list[SpanExporter]:
    """The bridge into the native feedback view of the backend the demo sends to, if any."""
    if os.environ.get("PHOENIX_BASE_URL"):
        return [PhoenixAnnotationExporter(os.environ["PHOENIX_BASE_URL"])]
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return [MLflowAssessmentExporter(os.environ["MLFLOW_TRACKING_URI"], experiment_id="0")]
    return []


def frontend(tokens: list[str]) -> None:
    """The second process: thumbs and a late rating, by token, after the spans ended."""
    provider = fb.configure(service_name="otel-feedback-demo-frontend", bridges=bridges())
    for token in tokens:
        fb.log_feedback("thumbs_up", True, target=token, source="HUMAN", source_id="web_ui")
    fb.log_feedback("user_rating", 2, target=tokens[1], source="HUMAN", source_id="web_ui",
                    reason="wrong city", label="poor")
    provider.shutdown()


def read_back(base_url: str, trace_ids: list[str], expected: int) -> list[dict[str, Any]]:
    """Poll Phoenix until every expected span of these traces is there."""
    deadline = time.monotonic() + 60
    spans: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        spans = []
        for trace_id in trace_ids:
            query = urllib.parse.urlencode({"trace_id": trace_id, "limit": 1000})
            url = f"{base_url}/v1/projects/default/spans?{query}"
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    spans += json.loads(response.read())["data"]
            except OSError:
                pass
        if len(spans) >= expected:
            break
        time.sleep(0.5)
    return spans


def summary(spans: list[dict[str, Any]], trace_ids: list[str]) -> None:
    """Print, per trace, the span tree with feedback attributes and events."""
    children: dict[str | None, list[dict[str, Any]]] = {}
    for span in sorted(spans, key=lambda s: s["start_time"]):
        children.setdefault(span["parent_id"], []).append(span)

    def show(span: dict[str, Any], depth: int) -> None:
        attributes = span["attributes"]
        shown = {k: v for k, v in attributes.items()
                 if k.split(".")[0] in ("feedback", "metrics", "metadata", "session")}
        text = "  ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in shown.items())
        print(f"  {'  ' * depth}{span['name']:<{12 - 2 * depth}} {text}")
        for event in span.get("events", []):
            a = event["attributes"]
            print(f"  {'  ' * depth}  · event {a.get('gen_ai.evaluation.name')}"
                  f"={a.get('feedback.value')} ({a.get('feedback.kind')}, "
                  f"{a.get('feedback.source.type')}) given {a.get('feedback.timestamp')}")
        for child in children.get(span["context"]["span_id"], []):
            show(child, depth + 1)

    for number, trace_id in enumerate(trace_ids, start=1):
        print(f"\nTurn {number}  trace {trace_id}")
        for root in children.get(None, []):
            if root["context"]["trace_id"] == trace_id:
                show(root, 0)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def native_phoenix(base_url: str, spans: list[dict[str, Any]]) -> int:
    """Print the Phoenix annotations the bridge wrote on these spans; returns how many."""
    span_ids = [s["context"]["span_id"] for s in spans]
    query = urllib.parse.urlencode([("span_ids", i) for i in span_ids] + [("limit", 1000)])
    annotations = get_json(f"{base_url}/v1/projects/default/span_annotations?{query}")["data"]
    print(f"\nPhoenix annotations (the annotation columns), {len(annotations)}:")
    for item in sorted(annotations, key=lambda a: (a["span_id"], a["name"])):
        result = item.get("result") or {}
        print(f"  span {item['span_id']}  {item['name']:<12} score={result.get('score')} "
              f"label={result.get('label')} {item['annotator_kind']}")
    return len(annotations)


def native_mlflow(tracking_uri: str, trace_ids: list[str]) -> int:
    """Print the MLflow assessments the bridge logged on these traces; returns how many."""
    total = 0
    print("\nMLflow assessments (the Assessments pane):")
    for trace_id in trace_ids:
        url = f"{tracking_uri}/api/3.0/mlflow/traces/tr-{trace_id}"
        assessments = get_json(url)["trace"]["trace_info"].get("assessments", [])
        total += len(assessments)
        for item in assessments:
            value = item.get("feedback", item.get("expectation", {})).get("value")
            print(f"  tr-{trace_id}  {item['assessment_name']:<12} {json.dumps(value)} "
                  f"{item['source']['source_type']} {item['source'].get('source_id', '')}")
    print(f"open {tracking_uri} → Experiments → Default → Traces")
    return total


def show_stats(base_url: str, since: dt.datetime) -> None:
    """The feedback this run recorded, as numbers per model, and a chart (otel-feedback stats)."""
    try:
        from otel_feedback.stats import Query, measure  # noqa: PLC0415 - the [stats] extra
        from otel_feedback.stats.output import write_table  # noqa: PLC0415
        from otel_feedback.stats.plot import plot  # noqa: PLC0415
    except ImportError:
        print("\n(pip install 'otel-feedback[stats]' to see this feedback as numbers)")
        return
    source = f"phoenix://{base_url.split('://', 1)[-1].rstrip('/')}/default"
    print(f"\nFeedback as numbers: otel-feedback stats {source} "
          f"--group-by gen_ai.request.model --since {since.isoformat()}")
    result = measure(source, Query(group_by="gen_ai.request.model", since=since))
    write_table(result.rows, sys.stdout)
    os.makedirs(os.path.dirname(STATS_CHART), exist_ok=True)
    print(f"chart: {plot(result.rows, STATS_CHART, title='Feedback of this demo run')}")


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--frontend":
        frontend(sys.argv[2:])
        return 0
    provider = fb.configure(
        service_name=os.environ.get("OTEL_SERVICE_NAME", "otel-feedback-demo"), bridges=bridges()
    )
    started = dt.datetime.now(dt.timezone.utc)
    session_id = f"demo-{uuid.uuid4().hex[:8]}"
    tokens, trace_ids = [], []
    with fb.using_session(session_id, user_id="demo-user"):
        for number, question in enumerate(QUESTIONS, start=1):
            token = chat_turn(number, question)
            tokens.append(token)
            trace_ids.append(fb.parse_feedback_token(token).trace_id_hex)
    provider.force_flush()
    print(f"sent {len(QUESTIONS)} turns in session {session_id}; the frontend now rates them")
    subprocess.run([sys.executable, __file__, "--frontend", *tokens], check=True)
    provider.shutdown()

    mlflow_uri = os.environ.get("MLFLOW_TRACKING_URI")
    if mlflow_uri:  # 2 implicit + 3 thumbs + 1 late rating
        return 0 if native_mlflow(mlflow_uri, trace_ids) == 6 else 1
    base_url = os.environ.get("PHOENIX_BASE_URL")
    if not base_url:
        print("sent; open your trace viewer to see traces", ", ".join(trace_ids))
        return 0
    # 3 turns x (chat_turn, retrieve, llm) + 1 tool + 3 thumbs + 1 late rating
    spans = read_back(base_url, trace_ids, expected=3 * 3 + 1 + 4)
    summary(spans, trace_ids)
    feedback_spans = [s for s in spans if s["name"] == "feedback"]
    print(f"\nread back from Phoenix: {len(spans)} spans, "
          f"{len(feedback_spans)} of them late feedback spans")
    print(f"open {base_url} → project 'default' → Sessions → {session_id}")
    annotations = native_phoenix(base_url, spans)
    show_stats(base_url, started)
    return 0 if len(feedback_spans) == 4 and annotations == 6 else 1


if __name__ == "__main__":
    sys.exit(main())
