"""The day's equity curve, kept once for every session: a tab opened at noon does not start
empty, and one open all day still shows the morning.

The hub notes the account's equity as events pass (on the writer's thread, after the commit):
a point a second at first; when ``maxlen`` points are kept, every other one goes and the
spacing doubles — the whole run in at most ``maxlen`` points, the older part coarser. Each
session's overview mirrors it: the new points streamed, the whole curve re-sent only when it
was thinned (a handful of times a day).
"""

from __future__ import annotations

import threading


class EquityHistory:
    """(wall time, equity) of ``account`` since the history began, at most ``maxlen`` points."""

    def __init__(self, account, every_s: float = 1.0, maxlen: int = 2_000) -> None:
        self.account = account  # the state's account part: read, never written
        self.every_s = every_s  # the spacing now (doubles each time the curve is thinned)
        self.maxlen = maxlen
        self.generation = 0  # counts the thinnings: a mirror of an older one is re-sent whole
        self._points: list[tuple[float, float]] = []
        self._lock = threading.Lock()

    def note(self, ts: float) -> None:
        """An event committed at ``ts`` (wall clock, s): the equity then, if a point is due."""
        if self._points and ts - self._points[-1][0] < self.every_s:
            return
        if self.account.updated_at is None:  # no opening balance yet: a 0 would start the curve (and its axis)
            return
        point = (ts, self.account.equity)
        with self._lock:
            self._points.append(point)
            if len(self._points) > self.maxlen:
                self._points = self._points[::-2][::-1]  # every other one, the newest kept
                self.every_s *= 2
                self.generation += 1

    def __len__(self) -> int:
        return len(self._points)

    def since(self, generation: int, count: int) -> tuple[int, list[tuple[float, float]], bool]:
        """What a mirror holding the first ``count`` points of ``generation`` lacks:
        (generation now, points, whole) — the points after its ``count``, or every point
        (``whole``) if the curve was thinned since. Copies: the writer goes on appending."""
        with self._lock:
            if generation == self.generation:
                return generation, self._points[count:], False
            return self.generation, list(self._points), True


def columns(points: list[tuple[float, float]]) -> dict[str, list[float]]:
    """Points as the overview's plot takes them (``t`` in ms since the epoch)."""
    return {"t": [t * 1000 for t, _ in points], "equity": [e for _, e in points]}
