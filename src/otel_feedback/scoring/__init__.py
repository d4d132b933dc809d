"""Computing feedback: heuristic and LLM-judge scorers, online and offline scoring.

Needs the ``[scoring]`` extra (``pip install 'otel-feedback[scoring]'``). Every scorer has
``score(output=..., expected=..., input=..., context=...) -> Score``; ``Score.log(...)``
records the result as feedback (source ``CODE`` for heuristics, ``LLM_JUDGE`` for judges).
:class:`OnlineScorer` scores finished spans in the background; :func:`evaluate` runs a
task over a dataset and scores it.
"""

from otel_feedback.scoring.answer import Judgement, parse_judgement
from otel_feedback.scoring.base import Fields, Scorer, snake_case
from otel_feedback.scoring.errors import (
    InputTooLongError,
    JudgeAnswerError,
    JudgeError,
    JudgeRequestError,
    JudgeTimeoutError,
    MissingInputError,
    ScorerConfigError,
    ScoringError,
)
from otel_feedback.scoring.evaluate import EvaluationResult, EvaluationRow, evaluate
from otel_feedback.scoring.heuristics import (
    BLEU,
    ROUGE,
    ROUGE_TYPES,
    Contains,
    Equals,
    IsJson,
    Levenshtein,
    Perplexity,
    RegexMatch,
)
from otel_feedback.scoring.judges import (
    AnswerRelevance,
    ContextPrecision,
    ContextRecall,
    ContextRelevancy,
    Factuality,
    GEval,
    Hallucination,
    LLMJudge,
    Moderation,
)
from otel_feedback.scoring.online import OnlineScorer
from otel_feedback.scoring.score import Score
from otel_feedback.scoring.spans import fields_of

__all__ = [
    "BLEU",
    "ROUGE",
    "ROUGE_TYPES",
    "AnswerRelevance",
    "Contains",
    "ContextPrecision",
    "ContextRecall",
    "ContextRelevancy",
    "Equals",
    "EvaluationResult",
    "EvaluationRow",
    "Factuality",
    "Fields",
    "GEval",
    "Hallucination",
    "InputTooLongError",
    "IsJson",
    "JudgeAnswerError",
    "JudgeError",
    "JudgeRequestError",
    "JudgeTimeoutError",
    "Judgement",
    "LLMJudge",
    "Levenshtein",
    "MissingInputError",
    "Moderation",
    "OnlineScorer",
    "Perplexity",
    "RegexMatch",
    "Score",
    "Scorer",
    "ScorerConfigError",
    "ScoringError",
    "evaluate",
    "fields_of",
    "parse_judgement",
    "snake_case",
]
