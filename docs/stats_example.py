#!/usr/bin/env python3
"""Make the README's ``otel-feedback stats`` example: a week of chat feedback on three models.

Writes ``.demo/feedback-week.jsonl`` (OTLP JSON Lines as the OTel Collector's ``file``
exporter writes them: rated ``chat`` spans with live feedback, and late ``feedback`` spans
changing some ratings and thumbs a few minutes later), then runs::

    otel-feedback stats file:.demo/feedback-week.jsonl --group-by gen_ai.request.model \\
        --every 1d --field feedback.rating --field feedback.thumbs_up --plot docs/stats.png

Run it from the repository root inside ``.venv``: ``.venv/bin/python docs/stats_example.py``.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".demo" / "feedback-week.jsonl"
CHART = ROOT / "docs" / "stats.png"
MODELS = {"gpt-4o": 4.1, "gpt-4o-mini": 3.6, "llama-3-70b": 3.2}  # mean rating on day 0
DAY_NS = 86_400 * 1_000_000_000
START_NS = 1_763_942_400 * 1_000_000_000  # 2025-11-24T00:00:00Z


def attr(key: str, value: object) -> dict[str, object]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": str(value)}}


def iso(ns: int) -> str:
    seconds, rest = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{rest // 1000:06d}Z"


def main() -> int:
    rng = random.Random(11)
    DATA.parent.mkdir(exist_ok=True)
    with DATA.open("w") as out:
        for day in range(7):
            spans, late = [], []
            for model, mean in MODELS.items():
                drift = {"gpt-4o": 0.02, "gpt-4o-mini": 0.08, "llama-3-70b": -0.1}[model] * day
                for _ in range(300):
                    trace_id, span_id = (
                        f"{rng.getrandbits(128):032x}",
                        f"{rng.getrandbits(64):016x}",
                    )
                    start = START_NS + day * DAY_NS + rng.randrange(DAY_NS)
                    rating = min(5, max(1, round(rng.gauss(mean + drift, 0.9))))
                    thumbs = rng.random() < (rating - 1) / 4 * 0.9 + 0.05
                    spans.append(
                        {
                            "traceId": trace_id,
                            "spanId": span_id,
                            "name": "chat",
                            "startTimeUnixNano": str(start),
                            "endTimeUnixNano": str(start + 900_000_000),
                            "attributes": [
                                attr("gen_ai.request.model", model),
                                attr("feedback.rating", rating),
                                attr("feedback.thumbs_up", thumbs),
                            ],
                        }
                    )
                    if rng.random() < 0.2:  # the user changes their mind a few minutes later
                        late.append(
                            {
                                "traceId": trace_id,
                                "spanId": f"{rng.getrandbits(64):016x}",
                                "parentSpanId": span_id,
                                "name": "feedback",
                                "startTimeUnixNano": str(start + 900_000_000),
                                "endTimeUnixNano": str(start + 900_000_000),
                                "attributes": [
                                    attr("feedback.thumbs_up", not thumbs),
                                    attr("feedback.timestamp", iso(start + 300 * 10**9)),
                                ],
                            }
                        )
            scopes = [
                {"scope": {"name": "chat-app"}, "spans": spans},
                {"scope": {"name": "otel_feedback"}, "spans": late},
            ]
            resource = {"attributes": [attr("service.name", "chat-service")]}
            out.write(json.dumps({"resourceSpans": [{"resource": resource, "scopeSpans": scopes}]}))
            out.write("\n")
    command = [
        str(Path(sys.executable).with_name("otel-feedback")),
        "stats",
        f"file:{DATA}",
        "--group-by",
        "gen_ai.request.model",
        "--every",
        "1d",
        "--field",
        "feedback.rating",
        "--field",
        "feedback.thumbs_up",
        "--plot",
        str(CHART),
    ]
    return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
