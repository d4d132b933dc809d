"""Why a score could not be computed: the types a failed :class:`~.Score` carries.

A failed score is recorded as an error (``error.type`` is the class name), never as an
invented value. :class:`ScorerConfigError` is different: it is a programming error (an
invalid regular expression, an unknown ROUGE type) and is raised when the scorer is built.
"""

from __future__ import annotations


class ScorerConfigError(ValueError):
    """A scorer was built with an invalid argument; raised at construction, in every mode."""


class ScoringError(Exception):
    """Base of the reasons a score could not be computed."""


class MissingInputError(ScoringError):
    """A value the scorer needs (output, expected, input, context) was not given."""


class InputTooLongError(ScoringError):
    """A text is longer than the scorer's ``max_chars`` bound."""


class JudgeError(ScoringError):
    """An LLM judge gave no usable judgement."""


class JudgeRequestError(JudgeError):
    """The judge's endpoint could not be reached or kept failing (after the retries)."""


class JudgeTimeoutError(JudgeRequestError):
    """The judge's endpoint did not answer in time (after the retries)."""


class JudgeAnswerError(JudgeError):
    """The judge answered, but not with a JSON object ``{"score": 0..1, "reason": "..."}``."""
