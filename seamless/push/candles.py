"""Price bars per symbol built from every quote, with the strategy's signals and the fills,
kept once for every session (like the equity curve): a Market tab opened late shows the bars
from before it opened.

Bars are kept at a base size (``base_s`` of exchange time, 1 s) for the last ``keep_s``; a
view asks for any multiple of it (1 s, 1 min, 15 min) and gets them aggregated. Fed by one
queued bus subscriber (its own thread), never by the writer's thread: the commit pays one
queue put per event. Each fill and signal is placed at the exchange time of its symbol's last
quote then (a fill has no exchange time of its own), so it sits on its bar.
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass

from ..events import Event


@dataclass(frozen=True, slots=True)
class Mark:
    """A fill (``side`` +1 buy, -1 sell) or a signal (``side``: the direction wished) on the chart."""

    seq: int
    t: float  # exchange time, s
    side: int
    qty: float
    price: float
    text: str  # the fill's trade id, or the signal's reason


class Candles:
    """OHLC bars, fills and signals per symbol, from ``bus`` (a store's bus)."""

    def __init__(self, bus, base_s: float = 1.0, keep_s: float = 4 * 3600, keep_marks: int = 1_000) -> None:
        self.base_s = base_s
        self.keep = int(keep_s / base_s)
        self.keep_marks = keep_marks
        self._bars: dict[str, collections.deque[list[float]]] = {}  # [k, open, high, low, close]
        self._fills: dict[str, collections.deque[Mark]] = {}
        self._signals: dict[str, collections.deque[Mark]] = {}
        self._last_t: dict[str, float] = {}
        self._lock = threading.Lock()
        self._sub = bus.subscribe("*", self._on_event, queued=True, name="push-candles")

    def close(self) -> None:
        self._sub.cancel()

    def _on_event(self, ev: Event) -> None:
        t = ev.topic
        if t == "market.quote":
            self._quote(ev)
        elif t == "order.filled":
            self._mark(self._fills, ev, 1 if ev.qty > 0 else -1, abs(ev.qty), ev.price, ev.trade_id)  # type: ignore[attr-defined]
        elif t == "signal.emitted":
            price = ev.price if ev.price is not None else 0.0  # type: ignore[attr-defined]
            self._mark(self._signals, ev, ev.direction, 0.0, price, ev.reason)  # type: ignore[attr-defined]

    def _quote(self, ev) -> None:
        ts = ev.exchange_ts if ev.exchange_ts is not None else ev.ts
        k = int(ts // self.base_s)
        p = ev.last
        with self._lock:
            self._last_t[ev.symbol] = ts
            bars = self._bars.get(ev.symbol)
            if bars is None:
                bars = self._bars[ev.symbol] = collections.deque(maxlen=self.keep)
            if bars and bars[-1][0] == k:
                bar = bars[-1]
                bar[2] = max(bar[2], p)
                bar[3] = min(bar[3], p)
                bar[4] = p
            elif not bars or k > bars[-1][0]:
                bars.append([k, p, p, p, p])

    def _mark(self, where: dict, ev, side: int, qty: float, price: float, text: str) -> None:
        with self._lock:
            t = self._last_t.get(ev.symbol)
            if t is None:
                t = ev.exchange_ts if ev.exchange_ts is not None else ev.ts
            marks = where.get(ev.symbol)
            if marks is None:
                marks = where[ev.symbol] = collections.deque(maxlen=self.keep_marks)
            marks.append(Mark(ev.seq, t, side, qty, price, text))

    def symbols(self) -> list[str]:
        with self._lock:
            return sorted(self._bars)

    def bars(self, symbol: str, size_s: float, since: float = float("-inf")) -> list[tuple[float, ...]]:
        """Bars of ``size_s`` (a multiple of ``base_s``) of ``symbol``, oldest first, each
        ``(start, open, high, low, close)`` with ``start`` in exchange seconds; only those
        starting at or after ``since`` (the last one a view shows: it may have moved on)."""
        per = max(1, round(size_s / self.base_s))
        first = int(since // self.base_s) if since != float("-inf") else None
        with self._lock:
            bars = self._bars.get(symbol)
            if not bars:
                return []
            tail = []
            for b in reversed(bars):  # the newest first: a view asks for the last few
                if first is not None and b[0] < first:
                    break
                tail.append(tuple(b))
        out: list[tuple[float, ...]] = []
        for k, o, h, lo, c in reversed(tail):
            start = (int(k) // per) * per * self.base_s
            if out and out[-1][0] == start:
                _, o0, h0, l0, _ = out[-1]
                out[-1] = (start, o0, max(h0, h), min(l0, lo), c)
            else:
                out.append((start, o, h, lo, c))
        return out

    def fills(self, symbol: str, after_seq: int = 0) -> list[Mark]:
        return self._after(self._fills, symbol, after_seq)

    def signals(self, symbol: str, after_seq: int = 0) -> list[Mark]:
        return self._after(self._signals, symbol, after_seq)

    def _after(self, where: dict, symbol: str, after_seq: int) -> list[Mark]:
        with self._lock:
            marks = where.get(symbol, ())
            return [m for m in marks if m.seq > after_seq]
