"""Market-data feeds: simulated (GBM), replayed (OHLC files, bokeh-sampledata), paced."""

from __future__ import annotations

import csv
import gzip
import itertools
import math
import statistics

import pandas as pd
import pytest

from seamless.feeds import (
    BAD_TICK_KINDS,
    IMPOSSIBLE_BAR,
    Feed,
    FeedClosed,
    FeedError,
    ReplayFeed,
    SimFeed,
    Tick,
    paced,
    sample_stock_files,
)
from seamless.feeds.sim import SECONDS_PER_YEAR


def take(feed: Feed, n: int) -> list[Tick]:
    return list(itertools.islice(feed.ticks(), n))


def bad_kind(tick: Tick, previous: Tick, symbols: tuple[str, ...]) -> str | None:
    """Classify a tick the way an engine's filter would."""
    if tick.symbol not in symbols:
        return "unknown_symbol"
    if math.isnan(tick.last):
        return "nan"
    if tick.last <= 0:
        return "non_positive"
    if tick.exchange_ts <= previous.exchange_ts:
        return "out_of_order"
    return None


# -- SimFeed -------------------------------------------------------------------------------


def test_sim_same_seed_same_ticks_and_different_seeds_differ():
    a = take(SimFeed(seed=7), 2_000)
    assert a == take(SimFeed(seed=7), 2_000)
    assert take(SimFeed(seed=8), 2_000) != a
    feed = SimFeed(seed=7)
    assert take(feed, 500) == take(feed, 500) == a[:500]  # ticks() starts over each time


def test_sim_start_prices_seeded_per_symbol_or_given():
    feed = SimFeed(symbols=("AAPL", "MSFT"), seed=3)
    assert feed.start_prices["AAPL"] == SimFeed(symbols=("IBM", "AAPL"), seed=3).start_prices["AAPL"]
    assert feed.start_prices != SimFeed(symbols=("AAPL", "MSFT"), seed=4).start_prices
    assert all(p > 0 for p in feed.start_prices.values())
    first = take(SimFeed(symbols=("AAPL", "MSFT"), start_prices={"MSFT": 123.45}), 2)
    assert first[1].symbol == "MSFT" and first[1].last == 123.45
    with pytest.raises(FeedError, match="IBM"):
        SimFeed(symbols=("AAPL",), start_prices={"IBM": 10.0})
    with pytest.raises(FeedError, match="start_prices"):
        SimFeed(symbols=("AAPL",), start_prices={"AAPL": -1.0})


def test_sim_round_robin_strictly_increasing_time_and_spread():
    symbols = ("AAPL", "MSFT", "GOOG")
    ticks = take(SimFeed(symbols=symbols, tick_interval_s=0.001, spread_bps=4.0, start_ts=1_767_225_600.0), 30_000)
    assert [t.symbol for t in ticks[:6]] == list(symbols) * 2
    assert all(t.symbol == symbols[i % 3] for i, t in enumerate(ticks))
    assert ticks[0].exchange_ts == 1_767_225_600.0
    assert all(b.exchange_ts > a.exchange_ts for a, b in itertools.pairwise(ticks))
    assert ticks[-1].exchange_ts == pytest.approx(1_767_225_600.0 + 29_999 * 0.001, abs=1e-6)
    for t in ticks[:300]:
        assert t.bid < t.last < t.ask
        assert (t.ask - t.bid) / t.last == pytest.approx(4.0 / 10_000)


def test_sim_gbm_log_returns_match_drift_and_volatility():
    # Daily steps so that many years of returns give tight estimates quickly.
    symbols, drift, vol, step = ("AAPL", "MSFT"), 0.5, 0.3, 86_400.0
    ticks = take(SimFeed(symbols=symbols, seed=11, drift=drift, volatility=vol, tick_interval_s=step), 20_000)
    assert all(t.last > 0 and math.isfinite(t.last) for t in ticks)
    dt_years = len(symbols) * step / SECONDS_PER_YEAR  # one symbol moves every 2 steps
    for s in symbols:
        prices = [t.last for t in ticks if t.symbol == s]
        r = [math.log(b / a) for a, b in itertools.pairwise(prices)]
        sd = statistics.stdev(r)
        assert sd == pytest.approx(vol * math.sqrt(dt_years), rel=0.05)
        # Annualized drift estimate: standard error ~0.04 here.
        assert statistics.fmean(r) / dt_years + sd**2 / (2 * dt_years) == pytest.approx(drift, abs=0.15)
        lag1 = statistics.correlation(r[:-1], r[1:])
        assert abs(lag1) < 0.06  # independent increments


def test_sim_limit_and_close():
    feed = SimFeed(limit=10)
    assert len(list(feed.ticks())) == 10
    assert len(list(SimFeed(limit=0).ticks())) == 0
    endless = SimFeed()
    it = endless.ticks()
    assert len(list(itertools.islice(it, 100))) == 100
    endless.close()
    assert list(it) == []  # a running iterator ends at its next tick
    with pytest.raises(FeedClosed):
        endless.ticks()
    with SimFeed() as f:
        pass
    assert f.closed


def test_sim_bad_ticks_each_kind_inserted_among_unchanged_good_ticks():
    symbols = ("AAPL", "MSFT", "GOOG")
    faulty = list(SimFeed(symbols=symbols, seed=5, limit=400, bad_tick_every=5).ticks())
    assert len(faulty) == 400
    kinds = []
    for i, t in enumerate(faulty):
        kind = bad_kind(t, faulty[i - 1], symbols) if i else None
        assert (kind is not None) == ((i + 1) % 5 == 0), (i, t)
        if kind:
            kinds.append(kind)
    assert len(kinds) == 80
    assert kinds[:8] == list(BAD_TICK_KINDS) * 2  # cycles through every kind
    non_positive = [t.last for t in faulty if t.symbol in symbols and t.last <= 0]
    assert 0.0 in non_positive and min(non_positive) < 0  # zero, then negative
    good = [t for i, t in enumerate(faulty) if (i + 1) % 5]
    assert good == take(SimFeed(symbols=symbols, seed=5), len(good))
    # The faults are in time order except the out-of-order one.
    assert all(
        b.exchange_ts > a.exchange_ts
        for a, b in itertools.pairwise(faulty)
        if bad_kind(b, a, symbols) != "out_of_order"
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"symbols": ()},
        {"symbols": ("AAPL", "AAPL")},
        {"volatility": -0.1},
        {"tick_interval_s": 0.0},
        {"limit": -1},
        {"bad_tick_every": 1},
        {"drift": math.nan},
    ],
)
def test_sim_refuses_bad_arguments(kwargs):
    with pytest.raises(FeedError):
        SimFeed(**kwargs)


# -- ReplayFeed over bokeh-sampledata --------------------------------------------------------


def first_sample_row(ticker: str) -> dict[str, str]:
    """The first row for ``ticker`` in the package's file, read without pandas."""
    [path] = sample_stock_files()
    assert path.name == "stocks.csv.gz"
    with gzip.open(path, "rt", newline="") as f:
        return next(row for row in csv.DictReader(f) if row["Ticker"] == ticker)


def test_replay_default_sample_data_real_prices_in_time_order():
    feed = ReplayFeed(symbols=["AAPL", "MSFT"])
    assert feed.symbols == ("AAPL", "MSFT")
    ticks = list(feed.ticks())
    assert len(ticks) == len(feed) > 20_000
    assert {t.symbol for t in ticks} == {"AAPL", "MSFT"}
    assert all(b.exchange_ts >= a.exchange_ts for a, b in itertools.pairwise(ticks))
    for s in ("AAPL", "MSFT"):
        mine = [t.exchange_ts for t in ticks if t.symbol == s]
        assert all(b > a for a, b in itertools.pairwise(mine))

    from bokeh_sampledata import stocks

    row = first_sample_row("AAPL")
    first_bar = [t for t in ticks if t.symbol == "AAPL"][:4]
    assert first_bar[0].last == float(row["Open"]) == stocks.AAPL["open"][0]
    assert first_bar[0].exchange_ts == pd.Timestamp(row["Date"], tz="UTC").timestamp()
    o, h, lo, c = (float(row[k]) for k in ("Open", "High", "Low", "Close"))
    assert [t.last for t in first_bar] == ([o, lo, h, c] if c >= o else [o, h, lo, c])
    assert [t.exchange_ts - first_bar[0].exchange_ts for t in first_bar] == [0, 21_600, 43_200, 64_800]
    assert all(t.bid is None and t.ask is None for t in first_bar)
    msft = next(t for t in ticks if t.symbol == "MSFT")
    assert msft.last == float(first_sample_row("MSFT")["Open"])
    assert all(0 < t.last < 1_000 for t in ticks)  # real share prices, not noise


def test_replay_default_has_all_sample_tickers_and_names_them_for_unknown_symbol():
    assert set(ReplayFeed().symbols) >= {"AAPL", "GOOG", "IBM", "MSFT"}
    with pytest.raises(FeedError) as e:
        ReplayFeed(symbols=["MSFTX"])
    assert str(e.value).startswith("MSFTX is not in the bokeh-sampledata stocks; it has AAPL, ")
    assert "MSFT" in str(e.value).split("it has")[1]


# -- ReplayFeed over user files ------------------------------------------------------------

BARS = pd.DataFrame(
    {
        # Unsorted on purpose; MSFT's second bar fell (close < open); AAPL's last close is missing.
        "Date": ["2024-01-03", "2024-01-02", "2024-01-02", "2024-01-03"],
        "Symbol": ["MSFT", "AAPL", "MSFT", "AAPL"],
        "Open": [12.0, 100.0, 10.0, 103.0],
        "High": [12.5, 105.0, 11.0, 106.0],
        "Low": [11.0, 99.0, 9.5, 102.0],
        "Close": [11.5, 104.0, 10.5, None],
        "Volume": [1, 2, 3, 4],
    }
)
DAY0 = pd.Timestamp("2024-01-02", tz="UTC").timestamp()
EXPECTED = [  # (symbol, last, seconds after DAY0)
    ("AAPL", 100.0, 0),
    ("MSFT", 10.0, 0),
    ("AAPL", 99.0, 21_600),
    ("MSFT", 9.5, 21_600),
    ("AAPL", 105.0, 43_200),
    ("MSFT", 11.0, 43_200),
    ("AAPL", 104.0, 64_800),
    ("MSFT", 10.5, 64_800),
    ("AAPL", 103.0, 86_400),
    ("MSFT", 12.0, 86_400),
    ("AAPL", 106.0, 108_000),
    ("MSFT", 12.5, 108_000),
    ("AAPL", 102.0, 129_600),
    ("MSFT", 11.0, 129_600),
    ("AAPL", math.nan, 151_200),
    ("MSFT", 11.5, 151_200),
]


def as_tuples(ticks: list[Tick]) -> list[tuple[str, float, float]]:
    return [(t.symbol, t.last, t.exchange_ts - DAY0) for t in ticks]


def assert_expected(ticks: list[Tick]) -> None:
    got = as_tuples(ticks)
    assert len(got) == len(EXPECTED)
    for (s, p, dt), (es, ep, edt) in zip(got, EXPECTED):
        assert s == es and dt == edt
        assert (math.isnan(p) and math.isnan(ep)) or p == ep  # the NaN close passes through


def test_replay_csv_file(tmp_path):
    path = tmp_path / "bars.csv"
    BARS.to_csv(path, index=False)
    feed = ReplayFeed(path)
    assert feed.symbols == ("AAPL", "MSFT") and feed.bar_seconds == 86_400
    assert_expected(list(feed.ticks()))
    assert [t.symbol for t in ReplayFeed(str(path), symbols=["msft"]).ticks()] == ["MSFT"] * 8


def test_replay_parquet_file(tmp_path):
    path = tmp_path / "bars.parquet"
    BARS.assign(Date=pd.to_datetime(BARS["Date"])).to_parquet(path)
    assert_expected(list(ReplayFeed(path).ticks()))


def test_replay_one_symbol_per_file_named_by_file_lowercase_columns_and_intraday_bars(tmp_path):
    aapl = tmp_path / "aapl.csv.gz"
    pd.DataFrame(
        {
            "datetime": ["2024-01-02T14:30:00Z", "2024-01-02T14:31:00Z"],
            "open": [1.0, 2.0],
            "high": [1.5, 2.5],
            "low": [0.5, 1.5],
            "close": [1.2, 1.8],
        }
    ).to_csv(aapl, index=False)
    ibm = tmp_path / "IBM.csv"
    pd.DataFrame(
        {"date": ["2024-01-02"], "time": ["14:30:30"], "open": [3.0], "high": [4.0], "low": [2.0], "close": [3.0]}
    ).to_csv(ibm, index=False)
    feed = ReplayFeed([aapl, ibm])
    assert feed.symbols == ("AAPL", "IBM") and feed.bar_seconds == 60
    t0 = pd.Timestamp("2024-01-02T14:30:00Z").timestamp()
    got = [(t.symbol, t.last, t.exchange_ts - t0) for t in feed.ticks()]
    # AAPL's second bar fell, so it rallied first; IBM's closed where it opened, which
    # counts as not falling (low first); at equal times AAPL (the first symbol) leads.
    assert got == [
        ("AAPL", 1.0, 0),
        ("AAPL", 0.5, 15),
        ("AAPL", 1.5, 30),
        ("IBM", 3.0, 30),
        ("AAPL", 1.2, 45),
        ("IBM", 2.0, 45),
        ("AAPL", 2.0, 60),
        ("IBM", 4.0, 60),
        ("AAPL", 2.5, 75),
        ("IBM", 3.0, 75),
        ("AAPL", 1.5, 90),
        ("AAPL", 1.8, 105),
    ]


def test_replay_clear_errors(tmp_path):
    with pytest.raises(FeedError, match="nope.csv: no such file"):
        ReplayFeed(tmp_path / "nope.csv")
    no_close = tmp_path / "x.csv"
    BARS.drop(columns="Close").to_csv(no_close, index=False)
    with pytest.raises(FeedError, match=r"has no close column; its columns are Date, Symbol"):
        ReplayFeed(no_close)
    no_time = tmp_path / "AAPL.csv"
    BARS.drop(columns=["Date", "Symbol"]).to_csv(no_time, index=False)
    with pytest.raises(FeedError, match="date/time"):
        ReplayFeed(no_time)
    unnamed = tmp_path / "my bars.csv"
    BARS.drop(columns="Symbol").to_csv(unnamed, index=False)
    with pytest.raises(FeedError, match="no symbol column"):
        ReplayFeed(unnamed)
    dup = tmp_path / "dup.csv"
    pd.concat([BARS, BARS.iloc[:1]]).to_csv(dup, index=False)
    with pytest.raises(FeedError, match="MSFT has more than one bar at 2024-01-03"):
        ReplayFeed(dup)
    with pytest.raises(FeedError, match=r"^GOOG is not in .*bars\.csv; it has AAPL, MSFT$"):
        path = tmp_path / "bars.csv"
        BARS.to_csv(path, index=False)
        ReplayFeed(path, symbols=["AAPL", "GOOG"])


# -- paced -----------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds


def ticks_at(*times: float) -> list[Tick]:
    return [Tick("AAPL", 1.0, None, None, 1_000.0 + t) for t in times]


def yield_times(ticks: list[Tick], speed: float, clock: FakeClock, work: float = 0.0, **kw: float) -> list[float]:
    out = []
    for _ in paced(ticks, speed, clock=clock, sleep=clock.sleep, **kw):
        out.append(clock.now - 100.0)
        clock.now += work  # the consumer's own time per tick
    return out


def test_paced_yields_at_exchange_gaps_over_speed():
    clock = FakeClock()
    assert yield_times(ticks_at(0, 1, 1.5, 3, 3), 2.0, clock) == [0, 0.5, 0.75, 1.5, 1.5]
    clock = FakeClock()  # consumer time is absorbed, not added: no drift
    assert yield_times(ticks_at(0, 1, 2, 3), 1.0, clock, work=0.25) == [0, 1, 2, 3]
    assert clock.sleeps == [0.75, 0.75, 0.75]


@pytest.mark.parametrize("speed", [0, math.inf])
def test_paced_unpaced_never_sleeps(speed):
    clock = FakeClock()
    assert yield_times(ticks_at(0, 10, 20), speed, clock) == [0, 0, 0]
    assert clock.sleeps == []


def test_paced_out_of_order_tick_at_once_and_slow_consumer_reanchors():
    clock = FakeClock()
    assert yield_times(ticks_at(0, 2, -50, 4), 1.0, clock) == [0, 2, 2, 4]
    clock = FakeClock()
    times = []
    for _ in paced(ticks_at(0, 1, 2, 3), 1.0, clock=clock, sleep=clock.sleep, max_lag=1.0):
        times.append(clock.now - 100.0)
        if len(times) == 1:
            clock.now += 5.0  # the consumer stalls: the schedule moves, no burst after
    assert times == [0, 5, 6, 7]
    with pytest.raises(FeedError):
        list(paced(ticks_at(0), -1.0))


def test_paced_sim_feed_end_to_end():
    clock = FakeClock()
    feed = SimFeed(tick_interval_s=0.001, limit=1_001)
    out = list(paced(feed.ticks(), feed.speed, clock=clock, sleep=clock.sleep))
    assert len(out) == 1_001
    assert clock.now - 100.0 == pytest.approx(1.0)  # 1,000 gaps of 1 ms at real time


@pytest.mark.parametrize(
    "content, says",
    [
        (b"", "is empty: a replay file needs a header and at least one bar"),
        (bytes(range(128, 256)) * 16, "is not a CSV file of bars: 'utf-8' codec can't decode"),
        (
            b'date,open,high,low,close\n2020-01-01,1,2,0.5,1.5\n"2020-01-02,1,2\n',
            "is not a CSV file of bars: Error tokenizing",
        ),
        (b"date,open,high,low,close\n2020-01-01,1,2,0.5,1.5,9\n", "is not a CSV file of bars: Length of header"),
    ],
    ids=["empty", "binary", "unterminated-quote", "extra-column"],
)
def test_a_malformed_replay_file_is_one_clear_error(tmp_path, content, says):
    path = tmp_path / "bars.csv"
    path.write_bytes(content)
    with pytest.raises(FeedError) as e:
        ReplayFeed(path)
    assert str(e.value).startswith(f"{path} {says}"), str(e.value)
    assert "\n" not in str(e.value)


def test_sim_gaps_jump_exchange_time_and_keep_the_prices():
    plain = list(SimFeed(seed=3, tick_interval_s=0.5, limit=200).ticks())
    gappy = list(SimFeed(seed=3, tick_interval_s=0.5, limit=200, gap_every_s=10.0, gap_s=30.0).ticks())
    assert [(t.symbol, t.last) for t in gappy] == [(t.symbol, t.last) for t in plain]
    steps = [b.exchange_ts - a.exchange_ts for a, b in zip(gappy, gappy[1:])]
    assert sorted(set(steps)) == [0.5, 30.5]  # a tick's step, or a step and a gap
    assert steps.count(30.5) == int(199 * 0.5 // 10.0)  # one gap each 10 s of ticks
    with pytest.raises(FeedError, match="gap_every_s must be finite > 0"):
        SimFeed(gap_every_s=0.0, gap_s=1.0)


def test_replay_marks_every_tick_of_an_impossible_bar(tmp_path):
    path = tmp_path / "bars.csv"
    path.write_text(
        "date,symbol,open,high,low,close\n"
        "2024-01-02,AAPL,100,105,99,104\n"
        "2024-01-03,AAPL,103,101,106,104\n"  # high below low
        "2024-01-04,AAPL,107,106,102,104\n"  # open above the high
        "2024-01-05,AAPL,103,106,102,101\n"  # close below the low
        "2024-01-08,AAPL,-1,106,-2,104\n"  # prices below zero (in order, but impossible)
        "2024-01-09,AAPL,103,106,102,\n"  # no close: that tick is NaN; the bar is not impossible
    )
    feed = ReplayFeed(path)
    ticks = list(feed.ticks())
    bars = [ticks[i : i + 4] for i in range(0, len(ticks), 4)]
    assert [{t.fault for t in bar} for bar in bars] == [{None}] + [{IMPOSSIBLE_BAR}] * 4 + [{None}]
    assert [t.last for t in bars[1]] == [103.0, 106.0, 101.0, 104.0]  # as the file has them: open, low, high, close
    assert math.isnan(bars[-1][-1].last)
    assert feed.impossible_bars == 4
    clean = tmp_path / "clean.csv"
    BARS.to_csv(clean, index=False)
    assert ReplayFeed(clean).impossible_bars == 0 and all(t.fault is None for t in ReplayFeed(clean).ticks())
