"""Reading a judge's answer: a JSON object ``{"score": 0..1, "reason": "..."}``.

Accepted: the object alone, or inside a Markdown code fence (with or without a ``json``
tag, with text around the fence). Anything else is a :class:`~.JudgeAnswerError`: a
judgement that cannot be read is never guessed.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from otel_feedback.scoring.errors import JudgeAnswerError

_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\r?\n?(.*?)```", re.DOTALL)
_SHOWN = 200


@dataclass(frozen=True, slots=True)
class Judgement:
    """A judge's score in [0, 1], its reason and optional label."""

    score: float
    reason: str | None = None
    label: str | None = None


def parse_judgement(text: str | None) -> Judgement:
    """The judgement in ``text``; raises :class:`~.JudgeAnswerError` when there is none."""
    if text is None or not text.strip():
        raise JudgeAnswerError("the judge returned an empty answer")
    body = text.strip()
    try:
        data = json.loads(body)
    except ValueError:
        fenced = _FENCE.search(body)
        if fenced is None:
            raise JudgeAnswerError(
                f"the judge's answer is not a JSON object: {_shorten(body)}"
            ) from None
        try:
            data = json.loads(fenced.group(1).strip())
        except ValueError as error:
            raise JudgeAnswerError(
                f"the judge's code block is not valid JSON ({error}): {_shorten(body)}"
            ) from None
    if not isinstance(data, dict):
        raise JudgeAnswerError(f"the judge's answer is JSON but not an object: {_shorten(body)}")
    if "score" not in data:
        raise JudgeAnswerError(f"the judge's answer has no 'score': {_shorten(body)}")
    return Judgement(
        _score(data["score"]), _optional_text(data.get("reason")), _optional_text(data.get("label"))
    )


def _score(raw: object) -> float:
    if isinstance(raw, bool):
        raise JudgeAnswerError(f"the judge's score must be a number from 0 to 1, got {raw!r}")
    if isinstance(raw, str):
        try:
            raw = float(raw.strip())
        except ValueError:
            raise JudgeAnswerError(
                f"the judge's score must be a number from 0 to 1, got {raw!r}"
            ) from None
    if not isinstance(raw, (int, float)):
        raise JudgeAnswerError(f"the judge's score must be a number from 0 to 1, got {raw!r}")
    value = float(raw)
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise JudgeAnswerError(f"the judge's score {raw!r} is outside 0..1")
    return value


def _optional_text(raw: object) -> str | None:
    if raw is None:
        return None
    text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, default=str)
    return text.strip() or None


def _shorten(text: str) -> str:
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}… ({len(text)} characters)"
