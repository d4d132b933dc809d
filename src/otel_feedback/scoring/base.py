"""The scorer protocol: ``score(output=, expected=, input=, context=) -> Score``."""

from __future__ import annotations

import asyncio
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from otel_feedback.reporting import count, logger
from otel_feedback.scoring.errors import InputTooLongError, MissingInputError, ScorerConfigError
from otel_feedback.scoring.score import Score

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(name: str) -> str:
    """``IsJson`` -> ``is_json``, ``AnswerRelevance`` -> ``answer_relevance``."""
    return _CAMEL.sub("_", name).lower()


@dataclass(frozen=True, slots=True)
class Fields:
    """What a scorer may look at. ``logprobs`` feeds :class:`~.Perplexity`."""

    output: Any = None
    expected: Any = None
    input: Any = None
    context: Any = None
    logprobs: Any = None


class Scorer(ABC):
    """Base of every scorer: a name, a source type, and :meth:`score`.

    Subclasses implement :meth:`_compute`; :meth:`score` turns any failure into a
    :class:`Score` with an ``error``, so a scorer never raises into the caller.
    """

    source: ClassVar[str] = "CODE"
    """Feedback source type of the scores (``CODE`` or ``LLM_JUDGE``)."""
    default_max_chars: ClassVar[int | None] = None
    """Longest text scored by default (``None``: no bound; the scorer is linear)."""

    def __init__(self, *, name: str | None = None, max_chars: int | None = -1) -> None:
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise ScorerConfigError(f"name= must be a non-empty string, got {name!r}")
        self.name: str = name if name is not None else snake_case(type(self).__name__)
        if max_chars == -1:
            max_chars = self.default_max_chars
        if max_chars is not None and (not isinstance(max_chars, int) or max_chars < 1):
            raise ScorerConfigError(f"max_chars= must be a positive int or None, got {max_chars!r}")
        self.max_chars: int | None = max_chars

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    @property
    def source_id(self) -> str:
        """Recorded as ``feedback.source.id``: the scorer class (judges: their model)."""
        return type(self).__name__

    def score(
        self,
        output: Any = None,
        expected: Any = None,
        input: Any = None,
        context: Any = None,
    ) -> Score:
        """Score ``output`` (against ``expected``, given ``input`` and ``context``).

        Keywords a scorer does not use are ignored. Never raises: a problem gives a
        :class:`Score` whose ``error`` says what went wrong and whose ``value`` is ``None``.
        """
        return self.score_fields(Fields(output, expected, input, context))

    async def ascore(
        self,
        output: Any = None,
        expected: Any = None,
        input: Any = None,
        context: Any = None,
    ) -> Score:
        """:meth:`score` in a worker thread, for asyncio code (a judge waits on the network)."""
        return await asyncio.to_thread(self.score_fields, Fields(output, expected, input, context))

    def __call__(self, *args: Any, **kwargs: Any) -> Score:
        """Same as :meth:`score`."""
        return self.score(*args, **kwargs)

    def score_fields(self, fields: Fields) -> Score:
        """:meth:`score` on a :class:`Fields` (what online scoring reads from a span)."""
        try:
            return self._compute(fields)
        except Exception as error:  # noqa: BLE001 - a scorer reports, never raises
            if not isinstance(error, (MissingInputError, InputTooLongError)):
                count("scoring_failed")
                logger.warning("scorer %r failed: %r", self.name, error)
            return self.failed(error)

    @abstractmethod
    def _compute(self, fields: Fields) -> Score:
        """Compute the score; raise a :class:`~.ScoringError` when it cannot be computed."""

    # -- helpers for subclasses --------------------------------------------------------------

    def result(self, value: float, *, reason: str | None = None, label: str | None = None) -> Score:
        """A successful score of this scorer."""
        return Score(
            self.name,
            float(value),
            label=label,
            reason=reason,
            source=self.source,
            source_id=self.source_id,
        )

    def failed(self, error: BaseException) -> Score:
        """A failed score of this scorer (``value`` unset)."""
        message = str(error) or type(error).__name__
        return Score(
            self.name,
            None,
            error=message,
            source=self.source,
            source_id=self.source_id,
            exception=error,
        )

    def text(self, value: Any, what: str) -> str:
        """``value`` as text for scoring; ``None`` is missing, over ``max_chars`` is refused."""
        text = as_text(value)
        if text is None:
            raise MissingInputError(f"{type(self).__name__} needs {what}=; got None")
        if self.max_chars is not None and len(text) > self.max_chars:
            count("scoring_input_too_long")
            raise InputTooLongError(
                f"{what} has {len(text)} characters, more than {type(self).__name__}'s "
                f"max_chars={self.max_chars}; not scored"
            )
        return text

    def texts(self, value: Any, what: str) -> list[str]:
        """One text or a list of texts (several references), each as :meth:`text`."""
        if isinstance(value, (list, tuple)):
            if not value:
                raise MissingInputError(f"{type(self).__name__} needs {what}=; got an empty list")
            return [self.text(item, what) for item in value]
        return [self.text(value, what)]


def as_text(value: Any) -> str | None:
    """Text of a value: strings as they are, bytes decoded, mappings and lists as JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, (Mapping, list, tuple)):
        try:
            return json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def _document_text(item: Any) -> Any:
    if isinstance(item, Mapping):
        for key in ("content", "text", "page_content", "document.content"):
            if item.get(key) is not None:
                return item[key]
    return item


def context_texts(value: Any) -> list[str]:
    """Context as a list of passages: one string, a list of strings, or documents
    (mappings with ``content``/``text``/``page_content``)."""
    if value is None:
        return []
    if isinstance(value, (str, bytes, bytearray)):
        text = as_text(value)
        return [text] if text else []
    if isinstance(value, Mapping):
        value = [value]
    passages: list[str] = []
    if isinstance(value, Sequence):
        for item in value:
            text = as_text(_document_text(item))
            if text:
                passages.append(text)
        return passages
    text = as_text(value)
    return [text] if text else []
