"""Scoring: compute feedback with heuristics and an LLM judge, online and offline.

Needs ``pip install 'otel-feedback[scoring]'``. Exports over OTLP from the ``OTEL_*``
variables. The judge runs when ``OPENAI_API_KEY`` is set; point ``OPENAI_BASE_URL`` at any
OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp) and choose its model with
``OTEL_FEEDBACK_JUDGE_MODEL``.
"""

import os

from opentelemetry import trace

import otel_feedback as fb
from otel_feedback import scoring

provider = fb.configure(service_name="scoring-example")
tracer = trace.get_tracer("scoring-example")

# 1. Online: every finished span with an input or output is scored in the background, and
#    each score lands on that span as late feedback.
scorers = [scoring.IsJson(), scoring.Contains(substring="paris"), scoring.Levenshtein()]
if os.environ.get("OPENAI_API_KEY"):
    scorers.append(scoring.AnswerRelevance())
online = scoring.OnlineScorer(scorers, sample_rate=1.0)
provider.add_span_processor(online)


def answer(question: str) -> str:
    with tracer.start_as_current_span("llm") as span:
        reply = "Paris is the capital of France."  # your LLM call goes here
        span.set_attribute("input.value", question)
        span.set_attribute("output.value", reply)
        span.set_attribute("feedback.ground_truth", "Paris is the capital of France.")
        return reply


answer("What is the capital of France?")

# 2. By hand: score an answer and record the score on its span (here through a token).
with tracer.start_as_current_span("chat"):
    reply = "Lima"
    token = fb.current_feedback_token()
scoring.Equals().score(output=reply, expected="lima").log(target=token)

# 3. Offline: run a task over a dataset; each item is a trace with its scores.
dataset = [
    {"input": "capital of France?", "expected": "Paris"},
    {"input": "capital of Peru?", "expected": "Lima"},
]
result = scoring.evaluate(
    dataset,
    task=lambda item: {"capital of France?": "Paris", "capital of Peru?": "Cusco"}[item["input"]],
    scorers=[scoring.Equals(), scoring.Levenshtein()],
    name="capitals-v1",
)
print(result)

online.force_flush()  # record the online scores before the exporter shuts down
provider.shutdown()
