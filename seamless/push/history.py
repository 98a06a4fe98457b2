"""What a tab opened later shows of the past: the equity curve since the server started.

Each session's overview draws the curve from the moment its page opened; a tab opened at
noon would start empty. The hub notes the account's equity once a second as events pass
(on the writer's thread, after the commit) and a new session's curve starts from that.
"""
from __future__ import annotations

import collections
import threading


class EquityHistory:
    """(wall time, equity) of ``account``, at most one point per ``every_s``, the last ``maxlen``."""

    def __init__(self, account, every_s: float = 1.0, maxlen: int = 2_000) -> None:
        self.account = account  # the state's account part: read, never written
        self.every_s = every_s
        self._points: collections.deque[tuple[float, float]] = collections.deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def note(self, ts: float) -> None:
        """An event committed at ``ts`` (wall clock, s): the equity then, if a point is due."""
        if self._points and ts - self._points[-1][0] < self.every_s:
            return
        equity = self.account.equity
        with self._lock:
            self._points.append((ts, equity))

    def columns(self) -> dict[str, list[float]]:
        """The curve so far, as the overview's plot takes it (``t`` in ms since the epoch)."""
        with self._lock:
            points = list(self._points)
        return {"t": [t * 1000 for t, _ in points], "equity": [e for _, e in points]}
