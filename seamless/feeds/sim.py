"""Simulated prices: geometric Brownian motion per symbol, reproducible from a seed.

Exchange time is synthetic (``start_ts`` plus a fixed step per tick), so a run is the
same tick for tick wherever and however fast it runs; the runner paces it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Iterator, Mapping

from .base import DEFAULT_SYMBOLS, Feed, FeedError, Tick

#: The faults ``bad_tick_every`` cycles through, in this order.
BAD_TICK_KINDS = ("nan", "non_positive", "out_of_order", "unknown_symbol")
#: Simulated exchange time runs around the clock, so volatility is annualized over a
#: calendar year rather than 252 trading days.
SECONDS_PER_YEAR = 365.25 * 86_400
#: 2026-01-01T00:00:00Z: a fixed start so that runs are reproducible.
DEFAULT_START_TS = 1_767_225_600.0


class SimFeed(Feed):
    """Prices that follow a geometric Brownian motion, one path per symbol.

    Symbols tick round-robin, ``tick_interval_s`` of exchange time apart, so each symbol
    moves every ``len(symbols) * tick_interval_s`` seconds. The first tick of a symbol is
    at its start price; bid and ask sit ``spread_bps`` apart around ``last``.

    ``ticks()`` starts over from the seed each time it is called: same arguments, same
    ticks. ``limit`` caps the ticks of one iteration (faulty ones included); None is
    endless.

    ``bad_tick_every=N`` makes every N-th tick a fault, cycling through
    :data:`BAD_TICK_KINDS`: NaN ``last``; a non-positive ``last`` (0, then negative);
    an ``exchange_ts`` earlier than the tick before it; a symbol that is not in
    ``symbols``. Faults are *inserted*: the good ticks are exactly those of the same feed
    without faults, so an engine test can compare the two runs and count rejections.

    ``gap_every_s=E, gap_s=G``: after every E seconds of exchange time with ticks, exchange
    time jumps G seconds with none, as a venue or a connection going quiet would (paced in
    real time, the market data goes stale for G seconds). The prices are those of the same
    feed without gaps.
    """

    speed = 1.0  # the simulated clock is meant to be watched in real time

    def __init__(
        self,
        symbols: Iterable[str] = DEFAULT_SYMBOLS,
        seed: int = 0,
        start_prices: Mapping[str, float] | None = None,
        drift: float = 0.0,
        volatility: float = 0.2,
        tick_interval_s: float = 0.001,
        spread_bps: float = 2.0,
        start_ts: float = DEFAULT_START_TS,
        limit: int | None = None,
        bad_tick_every: int | None = None,
        gap_every_s: float | None = None,
        gap_s: float = 0.0,
    ) -> None:
        self.symbols = _symbols(symbols)
        self.seed = seed
        self.drift = _finite("drift", drift)
        self.volatility = _finite("volatility", volatility, minimum=0.0)
        self.spread_bps = _finite("spread_bps", spread_bps, minimum=0.0)
        self.start_ts = _finite("start_ts", start_ts)
        # Below a microsecond, consecutive exchange_ts near today's epoch (float spacing
        # ~2.4e-7 s) would stop being strictly increasing.
        self.tick_interval_s = _finite("tick_interval_s", tick_interval_s, minimum=1e-6)
        if limit is not None and limit < 0:
            raise FeedError(f"SimFeed: limit must be >= 0 or None, not {limit}")
        self.limit = limit
        if bad_tick_every is not None and bad_tick_every < 2:
            # 1 would make every tick a fault, with no good tick for a fault to copy.
            raise FeedError(f"SimFeed: bad_tick_every must be >= 2 or None, not {bad_tick_every}")
        self.bad_tick_every = bad_tick_every
        self.gap_every_s = (
            None if gap_every_s is None else _finite("gap_every_s", gap_every_s, minimum=0.0, strict=True)
        )
        self.gap_s = _finite("gap_s", gap_s, minimum=0.0)
        self.start_prices = self._start_prices(start_prices or {})
        self.unknown_symbol = _unused_symbol(self.symbols)

    def _start_prices(self, given: Mapping[str, float]) -> dict[str, float]:
        extra = sorted(set(given) - set(self.symbols))
        if extra:
            raise FeedError(
                f"SimFeed: start_prices for {', '.join(extra)}, which are not in symbols {', '.join(self.symbols)}"
            )
        prices = {}
        for s in self.symbols:
            if s in given:
                prices[s] = _finite(f"start_prices[{s!r}]", given[s], minimum=0.0, strict=True)
            else:
                # Seeded per symbol (a str seed hashes deterministically), so a symbol's
                # start price does not change when other symbols are added or reordered.
                prices[s] = round(random.Random(f"seamless.sim:{self.seed}:{s}").uniform(20, 500), 2)
        return prices

    def ticks(self) -> Iterator[Tick]:
        self._check_open()
        return self._generate()

    def _generate(self) -> Iterator[Tick]:
        symbols, n = self.symbols, len(self.symbols)
        gauss = random.Random(self.seed).gauss
        step = self.tick_interval_s
        # Exact GBM step over the time between two ticks of one symbol.
        dt_years = n * step / SECONDS_PER_YEAR
        mean = (self.drift - self.volatility**2 / 2) * dt_years
        sd = self.volatility * math.sqrt(dt_years)
        half_spread = self.spread_bps / 20_000
        prices = [self.start_prices[s] for s in symbols]
        limit, every = self.limit, self.bad_tick_every
        gap_every, gap = (self.gap_every_s, self.gap_s) if self.gap_every_s and self.gap_s else (None, 0.0)
        emitted = good = bad = 0
        last: Tick | None = None
        while not self._closed and (limit is None or emitted < limit):
            emitted += 1
            if every is not None and emitted % every == 0 and last is not None:
                yield self._bad_tick(last, bad)
                bad += 1
                continue
            i = good % n
            p = prices[i]
            ts = good * step  # multiplied, not summed: no drift
            if gap_every is not None:
                ts += (ts // gap_every) * gap
            last = Tick(symbols[i], p, p * (1 - half_spread), p * (1 + half_spread), self.start_ts + ts)
            yield last
            prices[i] = p * math.exp(mean + sd * gauss(0.0, 1.0))
            good += 1

    def _bad_tick(self, last: Tick, count: int) -> Tick:
        """A copy of the last good tick with exactly one thing wrong.

        In time order (half a step after ``last``) unless the fault is the order itself.
        """
        kind = BAD_TICK_KINDS[count % len(BAD_TICK_KINDS)]
        ts = last.exchange_ts + self.tick_interval_s / 2
        if kind == "nan":
            return Tick(last.symbol, math.nan, None, None, ts)
        if kind == "non_positive":
            price = 0.0 if (count // len(BAD_TICK_KINDS)) % 2 == 0 else -last.last
            return Tick(last.symbol, price, None, None, ts)
        if kind == "out_of_order":
            return Tick(last.symbol, last.last, last.bid, last.ask, last.exchange_ts - self.tick_interval_s / 2)
        return Tick(self.unknown_symbol, last.last, last.bid, last.ask, ts)

    def __repr__(self) -> str:
        return (
            f"SimFeed(symbols={self.symbols}, seed={self.seed}, volatility={self.volatility}, "
            f"tick_interval_s={self.tick_interval_s}, limit={self.limit})"
        )


def _symbols(symbols: Iterable[str]) -> tuple[str, ...]:
    if isinstance(symbols, str):  # "AAPL" is one symbol, not four
        symbols = (symbols,)
    out = tuple(symbols)
    if not out or not all(isinstance(s, str) and s for s in out):
        raise FeedError(f"SimFeed: symbols must be non-empty strings, not {out!r}")
    if len(set(out)) != len(out):
        raise FeedError(f"SimFeed: symbols repeat: {', '.join(out)}")
    return out


def _unused_symbol(symbols: tuple[str, ...]) -> str:
    name, k = "UNKNOWN", 0
    while name in symbols:
        k += 1
        name = f"UNKNOWN{k}"
    return name


def _finite(name: str, value: float, minimum: float | None = None, strict: bool = False) -> float:
    value = float(value)
    if not math.isfinite(value) or (minimum is not None and (value <= minimum if strict else value < minimum)):
        bound = "" if minimum is None else f" {'>' if strict else '>='} {minimum}"
        raise FeedError(f"SimFeed: {name} must be finite{bound}, not {value}")
    return value
