"""Memory of the client ids already recorded, so a retry is answered without a second record.

Bounded: the oldest ids are forgotten first once ``capacity`` is reached (a retry arrives
seconds or minutes later, not after 100,000 other records). Per process: behind a load balancer
a retry that reaches another instance is recorded again with the same ``feedback.id``, which
backends can deduplicate on.
"""

from __future__ import annotations

import threading
from collections import OrderedDict


class IdempotencyMemory:
    """Thread-safe, bounded set of claimed client ids, mapped to the feedback id they got."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, str | None] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, client_id: str) -> tuple[bool, str | None]:
        """``(True, None)`` if ``client_id`` is new (now claimed), else ``(False, feedback id)``.

        The feedback id is ``None`` while the first request with that id is still recording.
        """
        with self._lock:
            if client_id in self._ids:
                self._ids.move_to_end(client_id)
                return False, self._ids[client_id]
            self._ids[client_id] = None
            if len(self._ids) > self.capacity:
                self._ids.popitem(last=False)
            return True, None

    def settle(self, client_id: str, feedback_id: str | None) -> None:
        """Record the outcome of a claim: the feedback id, or ``None`` to release the claim."""
        with self._lock:
            if feedback_id is None:
                self._ids.pop(client_id, None)
            elif client_id in self._ids:
                self._ids[client_id] = feedback_id

    def __len__(self) -> int:
        with self._lock:
            return len(self._ids)
