"""The System view's time series, kept once for every session: a sample a second of the
figures ``/metrics`` exports (events per second by topic group, commit / write / push latency
p50 and p99, journal lag, open sessions) for the last 15 minutes. Sampled on the server's
heartbeat (the hub's ``tick``), never on the writer's thread."""

from __future__ import annotations

import collections
import threading
from typing import Any

GROUPS = ("market", "order", "signal", "other")  # events per second, by the topic's first word
COLUMNS = (
    "t",
    *(f"eps_{g}" for g in GROUPS),
    "commit_p50",
    "commit_p99",
    "write_p50",
    "write_p99",
    "push_p50",
    "push_p99",
    "lag",
    "sessions",
)


def _ms(v: Any) -> float:
    return float("nan") if v is None else float(v)


class SystemSeries:
    """``sample(now, store_stats, hub_stats)`` once a second; ``since(n)`` for a mirror."""

    def __init__(self, keep_s: int = 900) -> None:
        self._rows: collections.deque[tuple[float, ...]] = collections.deque(maxlen=keep_s)
        self.count = 0  # samples ever taken: a mirror asks for those after its last
        self._lock = threading.Lock()

    def sample(self, now: float, st: dict[str, Any], hub: dict[str, Any]) -> None:
        eps = dict.fromkeys(GROUPS, 0.0)
        for topic, rate in st["bus"]["events_per_s"].items():
            group = topic.split(".", 1)[0]
            eps[group if group in eps else "other"] += rate
        row = (
            now * 1000,
            *(eps[g] for g in GROUPS),
            _ms(st["commit"]["p50_ms"]),
            _ms(st["commit"]["p99_ms"]),
            _ms(st["write"]["p50_ms"]),
            _ms(st["write"]["p99_ms"]),
            _ms(hub["push_ms"]["p50_ms"]),
            _ms(hub["push_ms"]["p99_ms"]),
            float(st["seq"] - st["durable_seq"]),
            float(hub["sessions"]),
        )
        with self._lock:
            self._rows.append(row)
            self.count += 1

    def since(self, count: int) -> tuple[int, dict[str, list[float]]]:
        """(samples ever taken, the columns of those after the first ``count``; all kept if
        the mirror is further behind than the series keeps)."""
        with self._lock:
            new = min(self.count - count, len(self._rows))
            rows = list(self._rows)[len(self._rows) - new :] if new > 0 else []
            total = self.count
        return total, {c: [r[i] for r in rows] for i, c in enumerate(COLUMNS)}
