"""Rate limits per client address and per token, kept by the ``limits`` package.

The storage is a ``limits`` URI: ``memory://`` (the default: one process) or
``redis://host:6379`` (``pip install redis``) when several instances behind a load balancer
must share their counts. The sliding-window-counter strategy smooths the bursts a fixed window
allows at its edges, at the cost of two counters per key.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.storage import Storage, storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from otel_feedback.errors import ConfigurationError

_NAMESPACE = "otel-feedback"


class RateLimits:
    """Two per-minute limits: requests from one client, records about one span (token)."""

    def __init__(self, per_client: int, per_token: int, storage_uri: str = "memory://") -> None:
        try:
            storage = storage_from_string(storage_uri)
        except Exception as error:  # the limits package raises several types for a bad URI
            raise ConfigurationError(
                f"rate limit storage {storage_uri!r} cannot be used: {error}"
            ) from error
        if not isinstance(storage, Storage):
            raise ConfigurationError(f"rate limit storage {storage_uri!r} is asynchronous")
        self.storage = storage
        self._limiter = SlidingWindowCounterRateLimiter(self.storage)
        self._client: RateLimitItem | None = (
            RateLimitItemPerMinute(per_client, namespace=_NAMESPACE) if per_client else None
        )
        self._token: RateLimitItem | None = (
            RateLimitItemPerMinute(per_token, namespace=_NAMESPACE) if per_token else None
        )
        self.in_memory = storage_uri.startswith("memory://")

    def allow_client(self, address: str) -> float | None:
        """Count one request from ``address``: ``None`` if allowed, else seconds to wait."""
        return self._hit(self._client, "client", address, 1)

    def allow_token(self, span_key: str, records: int) -> float | None:
        """Count ``records`` about one span: ``None`` if allowed, else seconds to wait."""
        return self._hit(self._token, "token", span_key, records)

    def _hit(self, item: RateLimitItem | None, kind: str, key: str, cost: int) -> float | None:
        if item is None:
            return None
        if self._limiter.hit(item, kind, key, cost=cost):
            return None
        reset_at = self._limiter.get_window_stats(item, kind, key).reset_time
        return max(1.0, math.ceil(reset_at - time.time()))
