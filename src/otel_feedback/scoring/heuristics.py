"""Heuristic scorers (source ``CODE``): exact checks, edit distance, BLEU, ROUGE, perplexity.

Levenshtein, BLEU and ROUGE are computed by the standard libraries of their field
(``rapidfuzz``, ``sacrebleu``, ``rouge-score``), so the numbers match what those give.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from otel_feedback.scoring.base import Fields, Scorer
from otel_feedback.scoring.errors import MissingInputError, ScorerConfigError, ScoringError
from otel_feedback.scoring.score import Score


def _flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise ScorerConfigError(f"{name}= must be True or False, got {value!r}")
    return value


class Equals(Scorer):
    """1.0 when ``output`` equals ``expected`` (by default ignoring case), else 0.0."""

    def __init__(self, case_sensitive: bool = False, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.case_sensitive = _flag(case_sensitive, "case_sensitive")

    def _compute(self, fields: Fields) -> Score:
        output = self.text(fields.output, "output")
        expected = self.text(fields.expected, "expected")
        if not self.case_sensitive:
            output, expected = output.casefold(), expected.casefold()
        return self.result(1.0 if output == expected else 0.0)


class Contains(Scorer):
    """1.0 when ``output`` contains the text (``substring=`` here, else ``expected``)."""

    def __init__(
        self,
        case_sensitive: bool = False,
        *,
        substring: str | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name)
        if substring is not None and (not isinstance(substring, str) or not substring):
            raise ScorerConfigError(f"substring= must be a non-empty string, got {substring!r}")
        self.substring = substring
        self.case_sensitive = _flag(case_sensitive, "case_sensitive")

    def _compute(self, fields: Fields) -> Score:
        output = self.text(fields.output, "output")
        wanted = self.substring if self.substring is not None else fields.expected
        needle = self.text(wanted, "expected")
        if not self.case_sensitive:
            output, needle = output.casefold(), needle.casefold()
        return self.result(1.0 if needle in output else 0.0)


class RegexMatch(Scorer):
    """1.0 when ``pattern`` is found in ``output`` (``re.search``), else 0.0.

    An invalid pattern raises :class:`~.ScorerConfigError` here, when the scorer is built.
    """

    def __init__(
        self, pattern: str | re.Pattern[str], flags: int = 0, *, name: str | None = None
    ) -> None:
        super().__init__(name=name)
        if isinstance(pattern, re.Pattern):
            self.pattern = pattern
            return
        if not isinstance(pattern, str):
            raise ScorerConfigError(f"RegexMatch pattern must be a string, got {pattern!r}")
        try:
            self.pattern = re.compile(pattern, flags)
        except re.error as error:
            raise ScorerConfigError(
                f"RegexMatch: invalid regular expression {pattern!r}: {error}"
            ) from error

    def _compute(self, fields: Fields) -> Score:
        output = self.text(fields.output, "output")
        return self.result(1.0 if self.pattern.search(output) else 0.0)


class IsJson(Scorer):
    """1.0 when ``output`` is valid JSON (a mapping or list given as is counts), else 0.0."""

    def _compute(self, fields: Fields) -> Score:
        output = fields.output
        if isinstance(output, (Mapping, list, tuple)):
            try:
                json.dumps(output, allow_nan=False)
            except (TypeError, ValueError) as error:
                return self.result(0.0, reason=f"not JSON-serializable: {error}")
            return self.result(1.0)
        text = self.text(output, "output")
        try:
            json.loads(text)
        except ValueError as error:
            return self.result(0.0, reason=f"invalid JSON: {error}")
        return self.result(1.0)


class Levenshtein(Scorer):
    """Normalized similarity ``1 - distance / max(len(output), len(expected))`` (rapidfuzz).

    Two empty strings are identical (1.0). Texts longer than ``max_chars`` (default
    50,000) are refused with an error: the distance is quadratic.
    """

    default_max_chars = 50_000

    def __init__(self, *, name: str | None = None, max_chars: int | None = -1) -> None:
        super().__init__(name=name, max_chars=max_chars)
        from rapidfuzz.distance import Levenshtein as _distance  # noqa: PLC0415 - optional

        self._similarity = _distance.normalized_similarity

    def _compute(self, fields: Fields) -> Score:
        output = self.text(fields.output, "output")
        expected = self.text(fields.expected, "expected")
        return self.result(self._similarity(output, expected))


BLEU_TOKENIZERS = ("13a", "none", "intl", "char", "zh")
"""sacrebleu tokenizers that work offline with no extra package (``13a`` is the default)."""


class BLEU(Scorer):
    """Sentence BLEU of ``output`` against ``expected`` (one text or several), in [0, 1].

    ``sacrebleu.sentence_bleu(output, references).score / 100`` with sacrebleu's
    defaults (13a tokenizer, exponential smoothing, effective order); ``lowercase``,
    ``tokenize`` (one of :data:`BLEU_TOKENIZERS`), ``smooth_method`` and ``smooth_value`` are
    ``sentence_bleu``'s options.
    Texts longer than ``max_chars`` (default 50,000) are refused with an error.
    """

    default_max_chars = 50_000

    def __init__(
        self,
        *,
        lowercase: bool = False,
        tokenize: str | None = None,
        smooth_method: str = "exp",
        smooth_value: float | None = None,
        name: str | None = None,
        max_chars: int | None = -1,
    ) -> None:
        super().__init__(name=name, max_chars=max_chars)
        import sacrebleu  # noqa: PLC0415 - imported when used

        if tokenize is not None and tokenize not in BLEU_TOKENIZERS:
            raise ScorerConfigError(
                f"BLEU: tokenize={tokenize!r} is not one of {', '.join(BLEU_TOKENIZERS)} "
                "(the others need extra packages or download a model when first used)"
            )
        # What sentence_bleu() builds on every call, built once: the same numbers, faster.
        try:
            self._metric = sacrebleu.BLEU(
                lowercase=_flag(lowercase, "lowercase"),
                tokenize=tokenize,
                smooth_method=smooth_method,
                smooth_value=smooth_value,
                effective_order=True,
            )
        except (AssertionError, KeyError, ValueError, TypeError) as error:
            raise ScorerConfigError(f"BLEU: invalid option: {error!r}") from error

    def _compute(self, fields: Fields) -> Score:
        output = self.text(fields.output, "output")
        references = self.texts(fields.expected, "expected")
        result = self._metric.sentence_score(output, references)
        # sacrebleu's 0..100 can overshoot by a rounding error (100.00000000000004).
        return self.result(min(1.0, max(0.0, result.score / 100.0)), reason=str(result))


ROUGE_TYPES = ("rouge1", "rouge2", "rouge3", "rouge4", "rouge5", "rougeL", "rougeLsum")
"""ROUGE variants ``rouge-score`` computes (n-gram overlap up to 5, longest common subsequence)."""


class ROUGE(Scorer):
    """ROUGE F-measure of ``output`` against ``expected`` as ``rouge-score`` computes it.

    ``rouge_type`` is one of :data:`ROUGE_TYPES` (default ``rougeL``); ``use_stemmer`` is
    passed to ``RougeScorer`` (default ``False``, its own default; ``rougeLsum`` takes
    sentences as newline-separated, since splitting them would need NLTK data downloaded at
    run time). Several references: the
    best F-measure (``score_multi``). ``rougeL``/``rougeLsum`` are quadratic in pure Python,
    so their texts are bounded by ``max_chars`` (default 4,000; n-gram types 50,000).
    """

    def __init__(
        self,
        rouge_type: str = "rougeL",
        *,
        use_stemmer: bool = False,
        name: str | None = None,
        max_chars: int | None = -1,
    ) -> None:
        if rouge_type not in ROUGE_TYPES:
            raise ScorerConfigError(
                f"ROUGE: unknown rouge_type {rouge_type!r}; use one of {', '.join(ROUGE_TYPES)}"
            )
        if max_chars == -1:
            max_chars = 4_000 if rouge_type.startswith("rougeL") else 50_000
        super().__init__(name=name, max_chars=max_chars)
        from rouge_score import (  # type: ignore[import-untyped]  # noqa: PLC0415
            rouge_scorer,
        )

        self.rouge_type = rouge_type
        self.use_stemmer = _flag(use_stemmer, "use_stemmer")
        self._scorer = rouge_scorer.RougeScorer([rouge_type], use_stemmer=use_stemmer)

    def _compute(self, fields: Fields) -> Score:
        output = self.text(fields.output, "output")
        references = self.texts(fields.expected, "expected")
        if len(references) == 1:
            scores = self._scorer.score(references[0], output)
        else:
            scores = self._scorer.score_multi(references, output)
        measured = scores[self.rouge_type]
        return self.result(
            measured.fmeasure,
            reason=f"{self.rouge_type}: precision {measured.precision:.4f}, "
            f"recall {measured.recall:.4f}",
        )


class Perplexity(Scorer):
    """Perplexity ``exp(-mean(logprobs))`` of the output's tokens (>= 1; lower is better).

    The token log-probabilities come from ``logprobs=`` (floats, or OpenAI's ``logprobs``
    object), else from ``output`` when it is an OpenAI chat completion (its
    ``choices[0].logprobs``); online scoring reads the span attribute
    ``llm.output_logprobs``.
    """

    def score(
        self,
        output: Any = None,
        expected: Any = None,
        input: Any = None,
        context: Any = None,
        logprobs: Any = None,
    ) -> Score:
        """Perplexity of the tokens in ``logprobs`` (or in ``output``); see the class."""
        return self.score_fields(Fields(output, expected, input, context, logprobs))

    def _compute(self, fields: Fields) -> Score:
        source = fields.logprobs if fields.logprobs is not None else fields.output
        if source is None:
            raise MissingInputError("Perplexity needs logprobs= (token log-probabilities)")
        values = token_logprobs(source)
        if not values:
            raise MissingInputError("Perplexity found no token log-probabilities")
        for value in values:
            if not math.isfinite(value) or value > 0:
                raise ScoringError(f"token log-probability {value!r} is not finite and <= 0")
        mean = math.fsum(values) / len(values)
        return self.result(math.exp(-mean), reason=f"{len(values)} tokens")


def token_logprobs(source: Any) -> list[float]:
    """Floats out of a list of floats, OpenAI ``logprobs`` (``content[].logprob``), a chat
    completion (``choices[0].logprobs``), or any of these as JSON text or objects."""
    if isinstance(source, str):
        try:
            source = json.loads(source)
        except ValueError as error:
            raise ScoringError(f"logprobs text is not JSON: {error}") from error
    if hasattr(source, "model_dump"):
        source = source.model_dump()
    if isinstance(source, Mapping):
        if "choices" in source:
            choices = source["choices"]
            if not choices:
                return []
            first = choices[0]
            if hasattr(first, "model_dump"):
                first = first.model_dump()
            return token_logprobs(first.get("logprobs") or [])
        if "content" in source:
            return token_logprobs(source["content"] or [])
        if "token_logprobs" in source:  # legacy completions
            return token_logprobs(source["token_logprobs"] or [])
        raise ScoringError("no 'choices', 'content' or 'token_logprobs' in the logprobs given")
    if isinstance(source, Sequence) and not isinstance(source, (bytes, bytearray)):
        values: list[float] = []
        for item in source:
            entry = item.model_dump() if hasattr(item, "model_dump") else item
            number = entry.get("logprob") if isinstance(entry, Mapping) else entry
            if isinstance(number, bool) or not isinstance(number, (int, float)):
                raise ScoringError(f"a token log-probability must be a number, got {number!r}")
            values.append(float(number))
        return values
    raise ScoringError(f"cannot read token log-probabilities from {type(source).__name__}")
