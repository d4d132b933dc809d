"""LLM-as-a-judge scorers (source ``LLM_JUDGE``).

Each judge asks a chat model, through :class:`~.transport.ChatEndpoint`, for
``{"score": 0..1, "reason": "..."}`` and returns it as a :class:`~.Score`. A judge that
cannot get a readable answer returns a score with ``error`` set and no ``value``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from otel_feedback.reporting import count, logger
from otel_feedback.scoring import prompts
from otel_feedback.scoring.answer import parse_judgement
from otel_feedback.scoring.base import Fields, Scorer, as_text, context_texts
from otel_feedback.scoring.errors import MissingInputError, ScorerConfigError
from otel_feedback.scoring.score import Score
from otel_feedback.scoring.transport import ChatEndpoint
from otel_feedback.settings import get_settings

if TYPE_CHECKING:
    import openai

_FIELDS = ("input", "output", "expected", "context")


class LLMJudge(Scorer):
    """Base of the judges: a model, an endpoint, instructions and the fields they need.

    Args:
        model: the model to ask (default ``OTEL_FEEDBACK_JUDGE_MODEL``, else ``gpt-4o-mini``).
        base_url, api_key: the endpoint; default the ``openai`` client's ``OPENAI_BASE_URL``
            and ``OPENAI_API_KEY``.
        timeout: seconds per request; max_retries, backoff: retries of timeouts, connection
            errors, 408/409/429 and 5xx answers, waiting ``backoff * 2**attempt`` seconds
            (jittered, or the server's ``Retry-After``); max_concurrency: requests in flight
            at once through this judge.
        max_chars: each text is cut to this many characters (marked as cut) before it is sent.
        json_mode: also ask for ``response_format={"type": "json_object"}`` (not every
            OpenAI-compatible server supports it).
        client: an ``openai.OpenAI`` to use instead of building one.
    """

    source: ClassVar[str] = "LLM_JUDGE"
    default_max_chars: ClassVar[int | None] = 20_000
    instructions: ClassVar[str] = ""
    required: ClassVar[tuple[str, ...]] = ("output",)
    """Fields the judge cannot work without."""
    uses: ClassVar[tuple[str, ...]] = _FIELDS
    """Fields shown to the model when given."""

    def __init__(
        self,
        *,
        model: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        name: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 2,
        backoff: float = 0.5,
        max_concurrency: int = 4,
        max_chars: int | None = -1,
        temperature: float | None = 0.0,
        json_mode: bool = False,
        client: openai.OpenAI | None = None,
    ) -> None:
        super().__init__(name=name, max_chars=max_chars)
        if model is not None and (not isinstance(model, str) or not model.strip()):
            raise ScorerConfigError(f"model= must be a non-empty string, got {model!r}")
        self.model: str = model or get_settings().judge_model
        self.temperature = temperature
        self.json_mode = json_mode
        self.endpoint = ChatEndpoint(
            base_url=base_url,
            api_key=api_key,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            max_concurrency=max_concurrency,
            client=client,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, model={self.model!r})"

    @property
    def source_id(self) -> str:
        """The judge's model."""
        return self.model

    def task(self) -> str:
        """The instructions of this judge."""
        return self.instructions

    def messages(self, fields: Fields) -> list[dict[str, str]]:
        """The chat messages sent for ``fields`` (raises when a required field is missing)."""
        values = {
            "input": _prompt_text(fields.input),
            "output": _prompt_text(fields.output),
            "expected": _prompt_text(fields.expected),
            "context": _context_block(fields.context),
        }
        missing = [field for field in self.required if not values[field]]
        if missing:
            needs = " and ".join(f"{field}=" for field in self.required)
            raise MissingInputError(
                f"{type(self).__name__} needs {needs}; missing: {', '.join(missing)}"
            )
        blocks = [
            (field, self._bounded(field, text)) for field in self.uses if (text := values[field])
        ]
        return [
            {"role": "system", "content": prompts.SYSTEM},
            {"role": "user", "content": prompts.user_message(self.task(), blocks)},
        ]

    def _bounded(self, field: str, text: str) -> str:
        if self.max_chars is None or len(text) <= self.max_chars:
            return text
        count("scoring_input_truncated")
        logger.info(
            "%s: %s cut from %d to %d characters", self.name, field, len(text), self.max_chars
        )
        return f"{text[: self.max_chars]}\n[... {len(text) - self.max_chars} characters cut]"

    def _compute(self, fields: Fields) -> Score:
        messages = self.messages(fields)
        options: dict[str, Any] = {}
        if self.temperature is not None:
            options["temperature"] = self.temperature
        if self.json_mode:
            options["response_format"] = {"type": "json_object"}
        answer = self.endpoint.complete(self.model, messages, **options)
        judgement = parse_judgement(answer)
        return self.result(judgement.score, reason=judgement.reason, label=judgement.label)


def _prompt_text(value: Any) -> str:
    text = as_text(value)
    return text.strip() if text else ""


def _context_block(value: Any) -> str:
    passages = context_texts(value)
    if len(passages) == 1:
        return passages[0]
    return "\n\n".join(f"[{number}] {text}" for number, text in enumerate(passages, 1))


class Factuality(LLMJudge):
    """1 when the output states the same facts as ``expected``; 0 when it contradicts it."""

    instructions = prompts.FACTUALITY
    required = ("output", "expected")
    uses = ("input", "expected", "output")


class Moderation(LLMJudge):
    """How unsafe the output is: 0 safe, 1 clearly harmful."""

    instructions = prompts.MODERATION
    required = ("output",)
    uses = ("output",)


class Hallucination(LLMJudge):
    """1 when the output's claims are not supported by ``context``; 0 when all are."""

    instructions = prompts.HALLUCINATION
    required = ("output", "context")
    uses = ("input", "context", "output")


class AnswerRelevance(LLMJudge):
    """1 when the output addresses exactly what ``input`` asks; 0 when off-topic."""

    instructions = prompts.ANSWER_RELEVANCE
    required = ("input", "output")
    uses = ("input", "context", "output")


class ContextRecall(LLMJudge):
    """Share of the ``expected`` answer's statements that ``context`` supports."""

    instructions = prompts.CONTEXT_RECALL
    required = ("expected", "context")
    uses = ("input", "expected", "context")


class ContextPrecision(LLMJudge):
    """1 when the useful ``context`` passages come first and little is irrelevant."""

    instructions = prompts.CONTEXT_PRECISION
    required = ("input", "context")
    uses = ("input", "expected", "output", "context")


class ContextRelevancy(LLMJudge):
    """Share of the ``context`` that bears on ``input``."""

    instructions = prompts.CONTEXT_RELEVANCY
    required = ("input", "context")
    uses = ("input", "context")


class GEval(LLMJudge):
    """A judge from your own rubric: ``criteria`` (what a good output is), an optional
    ``task`` description and optional evaluation ``steps``. Default name ``g_eval``."""

    required = ("output",)
    uses = _FIELDS

    def __init__(
        self,
        criteria: str,
        *,
        task: str | None = None,
        steps: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(criteria, str) or not criteria.strip():
            raise ScorerConfigError(f"GEval needs criteria= (a non-empty string), got {criteria!r}")
        if isinstance(steps, str) or (
            steps is not None and not all(isinstance(step, str) and step for step in steps)
        ):
            raise ScorerConfigError("GEval steps= must be a list of non-empty strings")
        super().__init__(**kwargs)
        self.criteria = criteria.strip()
        self.task_description = task
        self.steps = tuple(steps or ())

    def task(self) -> str:
        """The rubric as instructions."""
        return prompts.geval_task(self.criteria, self.task_description, self.steps)
