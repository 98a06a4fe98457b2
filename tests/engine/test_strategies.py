"""Strategies: crossover and breakout signals at the expected ticks, sizing, determinism."""

from __future__ import annotations

import itertools
import math

import pytest

from seamless.engine.strategies import Breakout, Intent, MovingAverageCrossover, Strategy, position_size
from seamless.events import SignalEmitted
from seamless.feeds import SimFeed, Tick


def ticks_of(prices: list[float], symbol: str = "AAPL") -> list[Tick]:
    return [Tick(symbol, p, None, None, 1_000.0 + i) for i, p in enumerate(prices)]


def run(strategy: Strategy, ticks: list[Tick], equity: float = 1_000.0) -> dict[int, Intent]:
    """Tick index -> the intent returned there (ticks that returned None are absent)."""
    out = {}
    for i, t in enumerate(ticks):
        intent = strategy.on_tick(t, 0.0, equity)
        if intent is not None:
            out[i] = intent
    return out


def sim_ticks(seed: int, n: int = 20_000, symbols=("AAPL", "MSFT", "GOOG")) -> list[Tick]:
    # High volatility so that a few thousand ticks cross often.
    return list(itertools.islice(SimFeed(symbols=symbols, seed=seed, volatility=50.0).ticks(), n))


# -- MovingAverageCrossover on a constructed path -------------------------------------------

# fast=2, slow=4. Index 3 fills the slow window with fast == slow (a baseline, not a cross);
# index 4: fast 11 > slow 10.5 (up); 6: fast 10 < slow 10.5 (down); 9: fast 10 > slow 9 (up).
PATH = [10, 10, 10, 10, 12, 12, 8, 8, 8, 12, 12]


def test_crossover_signals_at_exactly_the_crossing_ticks():
    got = run(MovingAverageCrossover(fast=2, slow=4, allocation=0.5), ticks_of(PATH))
    assert sorted(got) == [4, 6, 9]
    # 0.5 * 1000 / 12 = 41.67 -> 41 shares; / 8 = 62.5 -> 62, short.
    assert got[4] == Intent(
        "ma_cross", "AAPL", 1, 41.0, 1.0, 12, "fast SMA(2) 11.0000 crossed above slow SMA(4) 10.5000"
    )
    assert got[6] == Intent(
        "ma_cross", "AAPL", -1, -62.0, 1.0, 8, "fast SMA(2) 10.0000 crossed below slow SMA(4) 10.5000"
    )
    assert got[9] == Intent(
        "ma_cross", "AAPL", 1, 41.0, 1.0, 12, "fast SMA(2) 10.0000 crossed above slow SMA(4) 9.0000"
    )


def test_crossover_says_nothing_until_the_slow_window_is_full():
    # Fast is above slow from the second tick on, but there is no slow SMA before tick 4,
    # and the tick that fills the window is a baseline: a steady rise never crosses.
    rising = [10, 11, 12, 13, 14, 15, 16, 17]
    assert run(MovingAverageCrossover(fast=2, slow=4), ticks_of(rising)) == {}
    # A zigzag inside the warm-up says nothing either; the first cross after it does.
    # Index 3 fills the window with fast 12.5 below slow 13.75; index 4: fast 20 > slow 16.25.
    zigzag = [10, 20, 5, 20, 20, 5]
    got = run(MovingAverageCrossover(fast=2, slow=4), ticks_of(zigzag))
    assert list(got) == [4] and got[4].direction == 1


def test_touching_is_not_crossing():
    # Baseline above at index 3; index 5 fast == slow (11 == 11); index 6 above again.
    path = [10, 10, 10, 12, 12, 10, 16]
    assert run(MovingAverageCrossover(fast=2, slow=4), ticks_of(path)) == {}


def test_long_only_goes_flat_instead_of_short():
    got = run(MovingAverageCrossover(fast=2, slow=4, allocation=0.5, long_only=True), ticks_of(PATH))
    assert sorted(got) == [4, 6, 9]
    assert (got[4].direction, got[4].target_qty) == (1, 41.0)
    assert (got[6].direction, got[6].target_qty) == (0, 0.0)
    assert got[6].reason.startswith("fast SMA(2) 10.0000 crossed below")
    assert (got[9].direction, got[9].target_qty) == (1, 41.0)


def test_long_only_says_nothing_on_a_downward_cross_while_flat():
    # Baseline equal, then down (already flat: no intent), then up (long).
    path = [12, 12, 12, 12, 8, 8, 16]
    assert sorted(run(MovingAverageCrossover(fast=2, slow=4), ticks_of(path))) == [4, 6]
    got = run(MovingAverageCrossover(fast=2, slow=4, long_only=True), ticks_of(path))
    assert list(got) == [6] and got[6].direction == 1


def test_crossover_keeps_symbols_apart_and_honours_its_symbol_list():
    a, b = ticks_of(PATH, "AAPL"), ticks_of([20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20], "MSFT")
    mixed = [t for pair in zip(a, b) for t in pair]  # interleaved AAPL, MSFT, ...
    got = run(MovingAverageCrossover(fast=2, slow=4), mixed)
    assert [(i // 2, x.symbol) for i, x in got.items()] == [(4, "AAPL"), (6, "AAPL"), (9, "AAPL")]
    only_msft = MovingAverageCrossover(fast=2, slow=4, symbols=("MSFT",))
    assert run(only_msft, mixed) == {}
    assert only_msft.symbols == ("MSFT",)


def test_crossover_ignores_a_bad_price_instead_of_poisoning_its_averages():
    ticks = ticks_of(PATH)
    with_bad = ticks[:5] + [Tick("AAPL", math.nan, None, None, 0.0), Tick("AAPL", -1.0, None, None, 0.0)] + ticks[5:]
    got = run(MovingAverageCrossover(fast=2, slow=4, allocation=0.5), with_bad)
    assert [x.reason for x in got.values()] == [
        x.reason for x in run(MovingAverageCrossover(fast=2, slow=4, allocation=0.5), ticks).values()
    ]


def test_crossover_matches_a_naive_recomputation_on_a_long_random_path():
    ticks = sim_ticks(seed=11)
    fast, slow = 5, 20
    history: dict[str, list[float]] = {}
    side: dict[str, int | None] = {}
    wished: dict[str, int] = {}
    expected = []
    for i, t in enumerate(ticks):  # the rule as written in the docstring, slowly
        h = history.setdefault(t.symbol, [])
        h.append(t.last)
        if len(h) < slow:
            continue
        f, s = math.fsum(h[-fast:]) / fast, math.fsum(h[-slow:]) / slow
        now = (f > s) - (f < s)
        if t.symbol not in side:
            side[t.symbol] = now
            continue
        if now and now != side[t.symbol]:
            side[t.symbol] = now
            if now != wished.get(t.symbol, 0):
                wished[t.symbol] = now
                expected.append((i, t.symbol, now))
    got = run(MovingAverageCrossover(fast=fast, slow=slow), ticks, equity=1e6)
    assert len(expected) > 50
    assert [(i, x.symbol, x.direction) for i, x in got.items()] == expected


# -- sizing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "allocation, equity, price, shares",
    [
        (0.1, 1_000.0, 100.0, 1),  # exactly one share
        (0.1, 1_000.0, 100.01, 0),  # not even one
        (0.1, 1_000.0, 33.0, 3),  # floored, not rounded (3.03)
        (0.1, 1_000.0, 26.0, 3),  # floored, not rounded (3.85)
        (0.7, 700.0, 1.0, 490),  # 489.99999999999994 in floating point
        (1.0, 0.0, 10.0, 0),
        (0.1, -5_000.0, 10.0, 0),
        (0.1, math.nan, 10.0, 0),
        (0.1, math.inf, 10.0, 0),
        (0.1, 1_000.0, math.nan, 0),
        (0.1, 1_000.0, 0.0, 0),
    ],
)
def test_position_size(allocation, equity, price, shares):
    assert position_size(allocation, equity, price) == shares


def test_a_signal_too_small_for_one_share_still_says_its_direction():
    got = run(MovingAverageCrossover(fast=2, slow=4, allocation=0.1), ticks_of(PATH), equity=75.0)
    assert [(x.direction, x.target_qty) for x in got.values()] == [(1, 0.0), (-1, 0.0), (1, 0.0)]
    got = run(MovingAverageCrossover(fast=2, slow=4, allocation=0.1), ticks_of(PATH), equity=120.0)
    assert [(x.direction, x.target_qty) for x in got.values()] == [(1, 1.0), (-1, -1.0), (1, 1.0)]


def test_bad_parameters_are_refused():
    for kw in (
        {"fast": 30, "slow": 30},
        {"fast": 0, "slow": 5},
        {"fast": 2.5, "slow": 5},
        {"allocation": 0.0},
        {"allocation": 1.5},
        {"allocation": math.nan},
        {"name": ""},
        {"symbols": ()},
    ):
        with pytest.raises(ValueError):
            MovingAverageCrossover(**kw)
    for kw in ({"lookback": 0}, {"allocation": -0.1}, {"name": ""}):
        with pytest.raises(ValueError):
            Breakout(**kw)


# -- Breakout --------------------------------------------------------------------------------


def test_breakout_long_above_the_high_flat_below_the_low():
    # lookback 3. 0-2 warm up (2 would break out of a 2-tick window, but that is not full);
    # 3: 13 > 12 long; 4: 13 is not above 13; 5: 11 < low 12 flat; 6: 10 < 11 but already
    # flat; 7: 14 > 13 long.
    path = [10, 11, 12, 13, 13, 11, 10, 14]
    got = run(Breakout(lookback=3, allocation=0.5), ticks_of(path))
    assert sorted(got) == [3, 5, 7]
    assert got[3] == Intent("breakout", "AAPL", 1, 38.0, 1.0, 13, "price 13.0000 broke above the 3-tick high 12.0000")
    assert got[5] == Intent("breakout", "AAPL", 0, 0.0, 1.0, 11, "price 11.0000 fell below the 3-tick low 12.0000")
    assert (got[7].direction, got[7].target_qty) == (1, 35.0)


def test_touching_the_channel_is_not_breaking_it():
    # lookback 3: at 3, 12 equals the high (no long); at 5 and 7, 11 equals the low (still long).
    got = run(Breakout(lookback=3), ticks_of([10, 12, 11, 12, 13, 11, 12, 11]))
    assert [(i, x.direction) for i, x in got.items()] == [(4, 1)]


def test_breakout_window_forgets_old_extremes():
    # The 20 at index 1 leaves the 3-tick window after index 4: 14 breaks out at 5.
    got = run(Breakout(lookback=3), ticks_of([10, 20, 11, 12, 13, 14]))
    assert list(got) == [5] and "3-tick high 13.0000" in got[5].reason


def test_breakout_matches_a_naive_recomputation_on_a_long_random_path():
    ticks = sim_ticks(seed=5)
    lookback = 30
    history: dict[str, list[float]] = {}
    wished: dict[str, int] = {}
    expected = []
    for i, t in enumerate(ticks):
        h = history.setdefault(t.symbol, [])
        if len(h) >= lookback:
            window = h[-lookback:]
            if t.last > max(window) and wished.get(t.symbol, 0) != 1:
                wished[t.symbol] = 1
                expected.append((i, t.symbol, 1))
            elif t.last < min(window) and wished.get(t.symbol, 0) != 0:
                wished[t.symbol] = 0
                expected.append((i, t.symbol, 0))
        h.append(t.last)
    got = run(Breakout(lookback=lookback), ticks, equity=1e6)
    assert len(expected) > 50
    assert [(i, x.symbol, x.direction) for i, x in got.items()] == expected


# -- determinism -----------------------------------------------------------------------------


@pytest.mark.parametrize("make", [lambda: MovingAverageCrossover(), lambda: Breakout()], ids=["ma_cross", "breakout"])
def test_same_seed_same_intents_different_seeds_differ(make):
    ticks = sim_ticks(seed=3)
    first = list(run(make(), ticks, equity=50_000.0).items())
    assert len(first) > 10
    assert list(run(make(), sim_ticks(seed=3), equity=50_000.0).items()) == first
    again = make()
    run(again, sim_ticks(seed=4))
    again.reset()  # reset forgets everything: the same strategy object replays the same
    assert list(run(again, ticks, equity=50_000.0).items()) == first
    assert list(run(make(), sim_ticks(seed=4), equity=50_000.0).items()) != first


def test_intent_becomes_a_signal_event():
    intent = Intent("ma_cross", "AAPL", -1, -7.0, 1.0, 101.5, "why")
    sig = intent.to_signal(exchange_ts=1_000.0)
    assert isinstance(sig, SignalEmitted)
    assert (sig.strategy, sig.symbol, sig.direction, sig.strength, sig.price, sig.reason, sig.exchange_ts) == (
        "ma_cross",
        "AAPL",
        -1,
        1.0,
        101.5,
        "why",
        1_000.0,
    )
