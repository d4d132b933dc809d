"""How a judge talks to its model: the official ``openai`` client against any
OpenAI-compatible chat endpoint, with a timeout, retries with backoff and a concurrency limit.

The client's own retries are off: retrying here keeps the policy (which failures, how long
to wait) in one place and the same for every endpoint.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from otel_feedback.reporting import count, logger
from otel_feedback.scoring.errors import (
    JudgeAnswerError,
    JudgeRequestError,
    JudgeTimeoutError,
    ScorerConfigError,
)

if TYPE_CHECKING:
    import openai

_RETRYABLE_STATUS = frozenset({408, 409, 429})
_NO_KEY = "no-key"  # sent to a self-hosted endpoint when no key is configured
_MAX_RETRY_AFTER = 30.0


class ChatEndpoint:
    """One OpenAI-compatible chat endpoint, shared by the calls of one judge.

    ``base_url`` and ``api_key`` default to the ``openai`` client's own environment
    variables (``OPENAI_BASE_URL``, ``OPENAI_API_KEY``). A local server (vLLM, Ollama,
    llama.cpp) needs no key: when a base URL is set and no key is, a placeholder is sent. The
    client is built on first use, so a missing key for OpenAI itself is reported as a failed
    judgement, not at import or construction.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 2,
        backoff: float = 0.5,
        max_concurrency: int = 4,
        client: openai.OpenAI | None = None,
    ) -> None:
        if not timeout > 0:
            raise ScorerConfigError(f"timeout= must be > 0 seconds, got {timeout!r}")
        if not isinstance(max_retries, int) or max_retries < 0:
            raise ScorerConfigError(f"max_retries= must be an int >= 0, got {max_retries!r}")
        if not backoff >= 0:
            raise ScorerConfigError(f"backoff= must be >= 0 seconds, got {backoff!r}")
        if not isinstance(max_concurrency, int) or max_concurrency < 1:
            raise ScorerConfigError(
                f"max_concurrency= must be an int >= 1, got {max_concurrency!r}"
            )
        self.base_url = base_url
        self.timeout = float(timeout)
        self.max_retries = max_retries
        self.backoff = float(backoff)
        self._api_key = api_key
        self._client = client
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_concurrency)

    def _get_client(self) -> openai.OpenAI:
        with self._lock:
            if self._client is None:
                import openai  # noqa: PLC0415 - heavy; imported on the first judgement

                api_key = self._api_key
                if (
                    api_key is None
                    and not os.environ.get("OPENAI_API_KEY")
                    and (self.base_url or os.environ.get("OPENAI_BASE_URL"))
                ):
                    api_key = _NO_KEY
                try:
                    self._client = openai.OpenAI(
                        base_url=self.base_url,
                        api_key=api_key,
                        timeout=self.timeout,
                        max_retries=0,
                    )
                except openai.OpenAIError as error:
                    raise JudgeRequestError(f"cannot build the OpenAI client: {error}") from None
            return self._client

    def complete(self, model: str, messages: Sequence[dict[str, str]], **options: Any) -> str:
        """The text of the model's answer; raises a :class:`~.JudgeError` subclass."""
        import openai  # noqa: PLC0415 - heavy; imported on the first judgement

        client = self._get_client()
        attempts = self.max_retries + 1
        for attempt in range(attempts):
            try:
                with self._slots:
                    response = client.chat.completions.create(
                        model=model, messages=cast(Any, messages), **options
                    )
            except openai.APITimeoutError as error:
                failure: Exception = JudgeTimeoutError(
                    f"the judge at {self._where(client)} did not answer within "
                    f"{self.timeout:g} s ({attempt + 1} attempt(s))"
                )
                wait = self._wait(attempt, None)
                cause: Exception = error
            except openai.APIConnectionError as error:
                failure = JudgeRequestError(
                    f"cannot reach the judge at {self._where(client)}: {error} "
                    f"({attempt + 1} attempt(s))"
                )
                wait = self._wait(attempt, None)
                cause = error
            except openai.APIStatusError as error:
                failure = JudgeRequestError(
                    f"the judge at {self._where(client)} answered HTTP {error.status_code}: "
                    f"{_short(error.message)} ({attempt + 1} attempt(s))"
                )
                if error.status_code < 500 and error.status_code not in _RETRYABLE_STATUS:
                    raise failure from None
                wait = self._wait(attempt, error.response.headers.get("retry-after"))
                cause = error
            else:
                return _answer_text(response)
            if attempt + 1 >= attempts:
                raise failure from cause
            count("judge_retry")
            logger.info("judge request failed (%s); retrying in %.2f s", cause, wait)
            time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, attempt: int, retry_after: str | None) -> float:
        """Exponential backoff with jitter; a server's ``Retry-After`` (seconds) wins."""
        if retry_after:
            try:
                seconds = float(retry_after)
            except ValueError:
                seconds = -1.0
            if 0 <= seconds <= _MAX_RETRY_AFTER:
                return seconds
        return float(self.backoff * (2**attempt) * (0.5 + random.random() / 2))

    @staticmethod
    def _where(client: openai.OpenAI) -> str:
        return str(client.base_url)


def _answer_text(response: Any) -> str:
    choices = getattr(response, "choices", None)
    if not choices:
        raise JudgeAnswerError("the judge's response has no choices")
    message = getattr(choices[0], "message", None)
    content = getattr(message, "content", None)
    if not isinstance(content, str):
        raise JudgeAnswerError("the judge's response has no text content")
    return content


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
