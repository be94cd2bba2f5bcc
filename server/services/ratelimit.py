"""Per-key token buckets, kept in memory: limits are per process, which is what they guard."""

from __future__ import annotations

import math
import time
from collections.abc import Hashable

from server.domain.errors import RateLimited

MAX_TRACKED_KEYS = 100_000


class RateLimiter:
    def __init__(self, per_minute: int, what: str) -> None:
        self.capacity = float(per_minute)
        self.refill_per_second = per_minute / 60.0
        self.what = what
        self._buckets: dict[Hashable, tuple[float, float]] = {}

    def take(self, key: Hashable) -> None:
        """Spend one token for `key`, or raise RateLimited saying when to try again."""
        now = time.monotonic()
        tokens, stamp = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - stamp) * self.refill_per_second)
        if tokens < 1.0 - 1e-9:  # float refill must not refuse someone who waited exactly
            retry_after = (1.0 - tokens) / self.refill_per_second
            raise RateLimited(
                f"too many {self.what}; try again in {math.ceil(retry_after)} s",
                retry_after=retry_after,
            )
        if len(self._buckets) >= MAX_TRACKED_KEYS and key not in self._buckets:
            self._buckets.clear()  # forgetting everyone is safe: it only forgives
        self._buckets[key] = (tokens - 1.0, now)
