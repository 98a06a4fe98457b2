"""Cheap counters for the bus: events per second by topic, latency percentiles."""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Iterable


class LatencyReservoir:
    """The last ``size`` samples (seconds); percentiles in milliseconds."""

    def __init__(self, size: int = 8192) -> None:
        self._samples: collections.deque[float] = collections.deque(maxlen=size)
        self.add = self._samples.append

    def samples(self) -> list[float]:
        """The samples held, oldest first: a copy holding the same float objects, so that a
        reader can find by identity where it stopped last time (the metrics' histograms)."""
        return list(self._samples)

    def percentiles_ms(self, qs: Iterable[float] = (50, 99)) -> dict[str, float | None]:
        data = sorted(self._samples)
        out: dict[str, float | None] = {}
        for q in qs:
            out[f"p{q:g}_ms"] = (data[min(len(data) - 1, int(len(data) * q / 100))] * 1e3) if data else None
        return out


class RateCounter:
    """Counts per key in one-second buckets; rates over the last ``window`` full seconds."""

    def __init__(self, window: int = 5, clock: Callable[[], float] = time.monotonic) -> None:
        self._window = window
        self._clock = self.clock = clock
        self._sec = int(clock())
        self._current: collections.Counter[str] = collections.Counter()
        self._past: collections.deque[tuple[int, collections.Counter[str]]] = collections.deque(maxlen=window)
        self.totals: collections.Counter[str] = collections.Counter()

    def add(self, key: str, now: float) -> None:
        sec = int(now)
        if sec != self._sec:
            self._roll(sec)
        self._current[key] += 1

    def _roll(self, sec: int) -> None:
        self._past.append((self._sec, self._current))
        self.totals.update(self._current)
        self._current = collections.Counter()
        self._sec = sec

    def counts(self) -> dict[str, int]:
        """Every key's count since the counter was made (the current second included)."""
        # dict() copies in one step: the publishing thread may add a key meanwhile.
        out = dict(self.totals)
        for key, n in dict(self._current).items():
            out[key] = out.get(key, 0) + n
        return out

    def rates(self) -> dict[str, float]:
        now = int(self._clock())
        if now != self._sec:
            self._roll(now)
        recent = [(s, c) for s, c in self._past if s >= now - self._window]
        out: collections.Counter[str] = collections.Counter()
        for _, c in recent:
            out.update(c)
        return {k: v / self._window for k, v in sorted(out.items())}
