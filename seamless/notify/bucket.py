"""The rate limit: a token bucket of ``rate`` messages per ``per_s`` seconds.

Full at first: ``rate`` messages may go at once, then one every ``per_s / rate`` seconds.
Not thread-safe: the notifier's worker is its one user.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """``rate`` tokens per ``per_s`` seconds, holding at most ``rate`` (at least one)."""

    def __init__(self, rate: float, per_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        if not rate > 0 or not per_s > 0:
            raise ValueError(f"rate and per_s must be > 0, not {rate!r} per {per_s!r} s")
        self.capacity = max(1.0, float(rate))
        self.refill_per_s = rate / per_s
        self.clock = clock
        self._tokens = self.capacity
        self._at = clock()

    @property
    def tokens(self) -> float:
        """Tokens available now (a fraction: part of the next one)."""
        now = self.clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.refill_per_s)
        self._at = now
        return self._tokens

    def wait_s(self) -> float:
        """Seconds until a whole token is there (0: one is)."""
        missing = 1.0 - self.tokens
        return 0.0 if missing <= 0 else missing / self.refill_per_s

    def take(self) -> bool:
        """Take one token if there is a whole one."""
        if self.tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
