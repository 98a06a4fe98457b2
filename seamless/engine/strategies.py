"""Strategies: pure functions of the tick stream that say what position they want.

A strategy sees every good tick (the runner filters bad ones) and answers with an
:class:`Intent` only when its wish for a symbol changes; most ticks return None. It never
does I/O, never reads the store and never trades: the runner turns an intent into a
``SignalEmitted`` event and, through risk checks, into orders. Everything here is
deterministic — the same ticks and equity give the same intents, whatever the position —
so a seeded feed replays to the same signals.

``on_tick`` runs for every tick of every symbol, so each one is a few dict/deque
operations: O(1) per tick (amortized), no scans of the window.
"""

from __future__ import annotations

import abc
import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from ..events import SignalEmitted
from ..feeds.base import Tick

__all__ = ["Breakout", "Intent", "MovingAverageCrossover", "Strategy", "position_size"]

_INF = math.inf
#: Added before flooring a share count, so that 0.7 * 700 / 1 = 489.99999999999994
#: (floating point) still buys the 490 shares the arithmetic means.
_SIZE_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class Intent:
    """What a strategy wants for one symbol, from this tick on.

    ``target_qty`` is the signed position wanted (not an order size): the runner trades
    the difference from what it holds. It can be 0 with ``direction`` != 0 when the
    allocation does not buy a single share.
    """

    strategy: str
    symbol: str
    direction: int  # -1 short, 0 flat, +1 long
    target_qty: float
    strength: float
    price: float
    reason: str

    def to_signal(self, exchange_ts: float | None = None) -> SignalEmitted:
        """The ``SignalEmitted`` event that records this intent."""
        return SignalEmitted(
            strategy=self.strategy,
            symbol=self.symbol,
            direction=self.direction,
            strength=self.strength,
            price=self.price,
            reason=self.reason,
            exchange_ts=exchange_ts,
        )


def position_size(allocation: float, equity: float, price: float) -> int:
    """Whole shares that ``allocation`` of ``equity`` buys at ``price`` (>= 0).

    0 when the allocation is worth less than one share, and when equity or price is not
    a positive finite number (a strategy must never size off a NaN).
    """
    if not (0 < equity < _INF and 0 < price < _INF):
        return 0
    return math.floor(allocation * equity / price + _SIZE_EPSILON)


class Strategy(abc.ABC):
    """A source of intents.

    ``symbols`` limits the strategy to those symbols (None: every symbol); ticks of other
    symbols are ignored by ``on_tick`` itself, so the runner may call every strategy with
    every tick.
    """

    name: str
    symbols: tuple[str, ...] | None = None

    @abc.abstractmethod
    def on_tick(self, tick: Tick, position_qty: float, equity: float) -> Intent | None:
        """Take in one good tick; return an Intent when the wish for its symbol changes.

        ``position_qty`` is the signed position held now and ``equity`` the account equity,
        both for sizing; a strategy's wish must not depend on fills, so that it stays
        reproducible from the ticks alone.
        """

    _state: dict
    #: the symbols it takes (None: every symbol); set with ``symbols`` by each constructor.
    _allowed: frozenset[str] | None

    def reset(self) -> None:
        """Forget every symbol's history, as if no tick had been seen."""
        self._state.clear()

    def _takes(self, tick: Tick) -> bool:
        """A tick of one of this strategy's symbols with a usable price. Defensive: one NaN
        in a running sum would poison that symbol for good."""
        return (self._allowed is None or tick.symbol in self._allowed) and 0 < tick.last < _INF

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def _symbol_filter(symbols: Iterable[str] | None) -> tuple[tuple[str, ...] | None, frozenset[str] | None]:
    if symbols is None:
        return None, None
    if isinstance(symbols, str):  # "AAPL" is one symbol, not four
        symbols = (symbols,)
    out = tuple(symbols)
    if not out:
        raise ValueError("strategy symbols must be None (all) or non-empty")
    return out, frozenset(out)


def _check_allocation(allocation: float) -> float:
    allocation = float(allocation)
    if not 0 < allocation <= 1:
        raise ValueError(f"allocation must be a fraction of equity in (0, 1], not {allocation}")
    return allocation


def _fmt(price: float) -> str:
    # Four decimals: at a crossing the two averages are close, and two would often print equal.
    return f"{price:.4f}"


class _SmaState:
    """One symbol's fast and slow windows with their running sums."""

    __slots__ = ("fast", "slow", "fast_sum", "slow_sum", "side", "direction", "count", "bar", "close")

    def __init__(self, fast: int, slow: int) -> None:
        self.fast: deque[float] = deque(maxlen=fast)
        self.slow: deque[float] = deque(maxlen=slow)
        self.fast_sum = 0.0
        self.slow_sum = 0.0
        #: sign(fast SMA - slow SMA) last seen strictly (0: equal, None: warming up).
        self.side: int | None = None
        #: the direction last wished (and returned); every symbol starts flat.
        self.direction = 0
        self.count = 0
        #: on bars: the bar being built (its number, exchange_ts // bar_s) and its last price.
        self.bar: int | None = None
        self.close = 0.0


class MovingAverageCrossover(Strategy):
    """Long when the fast SMA crosses above the slow one, short (or flat) when below.

    Per symbol, simple moving averages of ``tick.last`` over the last ``fast`` and
    ``slow`` ticks. Nothing is said until the slow window is full; the tick that fills it
    only records which side the fast average is on. After that, an intent is returned
    when the fast average is strictly on the other side of the slow one than last seen
    (touching is not crossing) *and* that changes the wished direction. ``long_only``
    turns the short into flat; a long-only strategy that has never been long says nothing
    on a downward cross.

    ``target_qty`` = :func:`position_size` (``allocation`` of equity at this price) signed
    by the direction; 0 when flat. ``strength`` is 1.

    ``bar_s``: work on bars of that many exchange seconds instead of ticks — the averages are
    of bar closes, a bar closing at the first tick of the next one (the dashboard's demo: one-
    minute bars, a few trades per simulated hour, where raw ticks at 1,000 a second crossed
    many times a second).
    """

    def __init__(
        self,
        fast: int = 10,
        slow: int = 30,
        allocation: float = 0.1,
        long_only: bool = False,
        name: str = "ma_cross",
        symbols: Iterable[str] | None = None,
        bar_s: float | None = None,
    ) -> None:
        if bar_s is not None and not (0 < bar_s < _INF):
            raise ValueError(f"MovingAverageCrossover: bar_s must be a positive number of seconds or None, not {bar_s}")
        self.bar_s = bar_s
        if not (isinstance(fast, int) and isinstance(slow, int) and 1 <= fast < slow):
            raise ValueError(f"MovingAverageCrossover: need integers 1 <= fast < slow, not {fast}, {slow}")
        if not name:
            raise ValueError("MovingAverageCrossover: name must be non-empty")
        self.fast, self.slow = fast, slow
        self.allocation = _check_allocation(allocation)
        self.long_only = bool(long_only)
        self.name = name
        self.symbols, self._allowed = _symbol_filter(symbols)
        self._state: dict[str, _SmaState] = {}

    def on_tick(self, tick: Tick, position_qty: float, equity: float) -> Intent | None:
        if not self._takes(tick):
            return None
        symbol, price = tick.symbol, tick.last
        st = self._state.get(symbol)
        if st is None:
            st = self._state[symbol] = _SmaState(self.fast, self.slow)
        if self.bar_s is not None:
            bar = int(tick.exchange_ts // self.bar_s)
            if st.bar == bar:
                st.close = price
                return None
            closed = st.bar is not None
            st.bar, close, st.close = bar, st.close, price
            if not closed:
                return None
            return self._on_price(st, symbol, close, price, equity)  # the bar just closed; sized at this tick
        return self._on_price(st, symbol, price, price, equity)

    def _on_price(self, st: _SmaState, symbol: str, price: float, now: float, equity: float) -> Intent | None:
        """One price into the averages (a tick's, or a bar's close); ``now``: the price to size at."""
        fast, slow = st.fast, st.slow
        if len(fast) == self.fast:
            st.fast_sum -= fast[0]
        fast.append(price)
        st.fast_sum += price
        if len(slow) == self.slow:
            st.slow_sum -= slow[0]
        slow.append(price)
        st.slow_sum += price
        st.count += 1
        if st.count % self.slow == 0:
            # Re-add from scratch once per slow window (amortized O(1)): add-and-subtract
            # sums drift by rounding over millions of ticks, and drift could flip a cross.
            st.fast_sum = math.fsum(fast)
            st.slow_sum = math.fsum(slow)
        if st.count < self.slow:
            return None
        fast_avg = st.fast_sum / self.fast
        slow_avg = st.slow_sum / self.slow
        side = (fast_avg > slow_avg) - (fast_avg < slow_avg)
        if st.side is None:  # the window just filled: a baseline, not a crossing
            st.side = side
            return None
        if side == 0 or side == st.side:
            return None
        st.side = side
        direction = 0 if side < 0 and self.long_only else side
        if direction == st.direction:
            return None
        st.direction = direction
        qty = direction * position_size(self.allocation, equity, now) if direction else 0
        word = "above" if side > 0 else "below"
        unit = "" if self.bar_s is None else f" of {_bar(self.bar_s)} bars"
        reason = f"fast SMA({self.fast}) {_fmt(fast_avg)} crossed {word} slow SMA({self.slow}) {_fmt(slow_avg)}{unit}"
        return Intent(self.name, symbol, direction, float(qty), 1.0, now, reason)


def _bar(seconds: float) -> str:
    return f"{seconds / 60:g}-min" if seconds >= 60 and seconds % 60 == 0 else f"{seconds:g}-s"


class _BreakoutState:
    """One symbol's rolling high and low of the last ``lookback`` prices.

    Monotonic deques of (tick number, price): the front is the window's extreme, and each
    price enters and leaves each deque once, so a tick costs O(1) amortized.
    """

    __slots__ = ("highs", "lows", "count", "direction")

    def __init__(self) -> None:
        self.highs: deque[tuple[int, float]] = deque()  # prices decreasing front to back
        self.lows: deque[tuple[int, float]] = deque()  # prices increasing front to back
        self.count = 0
        self.direction = 0


class Breakout(Strategy):
    """Long-only channel breakout.

    Long when the price is strictly above the highest price of the previous ``lookback``
    ticks of its symbol (the current tick excluded); flat when strictly below the lowest.
    Nothing is said until ``lookback`` ticks have been seen, and an intent is returned
    only when the wished direction changes (a symbol starts flat). ``target_qty`` is
    :func:`position_size` when long, 0 when flat; ``strength`` is 1.
    """

    def __init__(
        self, lookback: int = 50, allocation: float = 0.1, name: str = "breakout", symbols: Iterable[str] | None = None
    ) -> None:
        if not (isinstance(lookback, int) and lookback >= 1):
            raise ValueError(f"Breakout: lookback must be an integer >= 1, not {lookback}")
        if not name:
            raise ValueError("Breakout: name must be non-empty")
        self.lookback = lookback
        self.allocation = _check_allocation(allocation)
        self.name = name
        self.symbols, self._allowed = _symbol_filter(symbols)
        self._state: dict[str, _BreakoutState] = {}

    def on_tick(self, tick: Tick, position_qty: float, equity: float) -> Intent | None:
        if not self._takes(tick):
            return None
        symbol, price = tick.symbol, tick.last
        st = self._state.get(symbol)
        if st is None:
            st = self._state[symbol] = _BreakoutState()
        n = st.count
        highs, lows = st.highs, st.lows
        # Drop what fell out of the previous `lookback` ticks (numbers n-lookback .. n-1).
        oldest = n - self.lookback
        while highs and highs[0][0] < oldest:
            highs.popleft()
        while lows and lows[0][0] < oldest:
            lows.popleft()
        intent = None
        if n >= self.lookback:  # the channel is judged before this price joins it
            high, low = highs[0][1], lows[0][1]
            if price > high and st.direction != 1:
                st.direction = 1
                qty = position_size(self.allocation, equity, price)
                intent = Intent(
                    self.name,
                    symbol,
                    1,
                    float(qty),
                    1.0,
                    price,
                    f"price {_fmt(price)} broke above the {self.lookback}-tick high {_fmt(high)}",
                )
            elif price < low and st.direction != 0:
                st.direction = 0
                intent = Intent(
                    self.name,
                    symbol,
                    0,
                    0.0,
                    1.0,
                    price,
                    f"price {_fmt(price)} fell below the {self.lookback}-tick low {_fmt(low)}",
                )
        while highs and highs[-1][1] <= price:
            highs.pop()
        highs.append((n, price))
        while lows and lows[-1][1] >= price:
            lows.pop()
        lows.append((n, price))
        st.count = n + 1
        return intent
