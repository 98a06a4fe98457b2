"""Replaying real OHLC bars as ticks: a user's CSV or Parquet files, or by default the
daily stock prices shipped in the ``bokeh-sampledata`` package (nothing is downloaded).

Each bar becomes four ticks spread evenly over the bar: open, then low and high, then
close. The order of low and high is a convention, since a bar does not record it: a bar
that closed at or above its open is taken to have dipped first (open, low, high, close),
any other bar to have rallied first (open, high, low, close). Ticks of all symbols are
merged in exchange-time order; ticks of different symbols at the same instant come in
the order of ``symbols``. Per symbol, exchange_ts is strictly increasing.

A missing or unreadable price in the source is *not* skipped or filled: it becomes a tick
whose ``last`` is NaN, so the engine's bad-tick filter sees it and counts it, and the
replay stays faithful to what the data says.

A bar that cannot be — its high below its low, its open or close outside [low, high], a
price at or below zero — is not traded on either: each of its four ticks carries
``fault=IMPOSSIBLE_BAR``, which the engine rejects and counts as a bad tick of that kind
(``seamless run`` prints "bad ticks rejected: impossible_bar N"). A missing price does
not make a bar impossible: the others are checked, the missing one is a NaN tick.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .base import Feed, FeedError, Tick

PathLike = str | os.PathLike[str]

#: Name of the default source in messages.
SAMPLE_NAME = "the bokeh-sampledata stocks"
#: The tickers bokeh-sampledata ships (used where it keeps one file per ticker).
SAMPLE_TICKERS = ("AAPL", "FB", "GOOG", "IBM", "MSFT")

# Column names are matched after lower-casing, trimming and ' ' -> '_' ("Adj Close").
_TIME_COLUMNS = ("datetime", "timestamp", "date", "time")
_SYMBOL_COLUMNS = ("symbol", "ticker")
_PRICE_COLUMNS = ("open", "high", "low", "close")
_PARQUET_SUFFIXES = (".parquet", ".pq")
# The symbol taken from a file name must be one Seamless events accept.
_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9_\-]{0,31}$")
_DEFAULT_BAR_SECONDS = 86_400.0  # when no symbol has two bars to measure
_TICKS_PER_BAR = 4
#: The bad-tick kind of every tick of a bar that cannot be (see the module's docstring).
IMPOSSIBLE_BAR = "impossible_bar"


class ReplayFeed(Feed):
    """Ticks from OHLC bars, finite, in exchange-time order.

    ``source``: a CSV (optionally compressed, e.g. ``.csv.gz``) or Parquet file, or a
    sequence of them; None means :func:`sample_stock_files`. Columns, any case: a time
    (``date``, ``datetime``, ``timestamp``, ``time``, or ``date`` plus ``time``; numbers
    are epoch seconds; naive times are taken as UTC), ``symbol`` or ``ticker`` (optional:
    without it a file holds one symbol, named by the file, ``aapl.csv`` -> ``AAPL``), and
    ``open``, ``high``, ``low``, ``close``. Other columns are ignored.

    ``symbols``: the ones to replay (None: all in the source, sorted). ``speed``: the
    suggested pace for :func:`~seamless.feeds.base.paced` (0: as fast as possible).
    ``bar_seconds``: the length of a bar; None infers it as the smallest gap between two
    bars of one symbol.

    Everything is read and checked here, so a bad file fails at construction, not
    half-way through a run. ``ticks()`` starts from the first bar each time.
    """

    def __init__(
        self,
        source: PathLike | Sequence[PathLike] | None = None,
        symbols: Iterable[str] | None = None,
        speed: float = 0.0,
        bar_seconds: float | None = None,
    ) -> None:
        if source is None:
            self.paths = sample_stock_files()
            self.source_name = SAMPLE_NAME
        else:
            self.paths = _as_paths(source)
            self.source_name = ", ".join(str(p) for p in self.paths)
        if not (speed >= 0):
            raise FeedError(f"ReplayFeed: speed must be >= 0, not {speed}")
        self.speed = float(speed)

        bars = pd.concat([_read_bars(p) for p in self.paths], ignore_index=True)
        available = tuple(sorted(bars["symbol"].unique()))
        if not available:
            raise FeedError(f"{self.source_name} has no bars")
        self.symbols = self._select(available, symbols)
        bars = bars[bars["symbol"].isin(self.symbols)]
        _refuse_duplicates(bars, self.source_name)

        self.bar_seconds = _bar_seconds(bars) if bar_seconds is None else float(bar_seconds)
        if not (math.isfinite(self.bar_seconds) and self.bar_seconds > 0):
            raise FeedError(f"ReplayFeed: bar_seconds must be finite and > 0, not {bar_seconds}")
        self._ts, self._symbol_index, self._price, self._impossible = self._tick_arrays(bars)
        #: How many bars cannot be (each replays as four ticks the engine rejects).
        self.impossible_bars = int(self._impossible.sum()) // _TICKS_PER_BAR

    def _select(self, available: tuple[str, ...], wanted: Iterable[str] | None) -> tuple[str, ...]:
        if wanted is None:
            return available
        if isinstance(wanted, str):
            wanted = (wanted,)
        chosen = tuple(dict.fromkeys(s.strip().upper() for s in wanted))
        for s in chosen:
            if s not in available:
                raise FeedError(f"{s} is not in {self.source_name}; it has {', '.join(available)}")
        if not chosen:
            raise FeedError("ReplayFeed: symbols is empty")
        return chosen

    def _tick_arrays(self, bars: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Four ticks per bar, as flat arrays sorted by (exchange_ts, symbol order): times,
        symbol indexes, prices, and whether the tick's bar is impossible."""
        o, h, lo, c = (bars[k].to_numpy(dtype=float) for k in _PRICE_COLUMNS)
        with np.errstate(invalid="ignore"):
            up = c >= o  # False where either is NaN: such a bar takes the "rallied" order
            impossible = impossible_bars(o, h, lo, c)
        prices = np.stack([o, np.where(up, lo, h), np.where(up, h, lo), c], axis=1)
        offsets = np.arange(_TICKS_PER_BAR) * (self.bar_seconds / _TICKS_PER_BAR)
        ts = bars["ts"].to_numpy(dtype=float)[:, None] + offsets[None, :]
        rank = {s: i for i, s in enumerate(self.symbols)}
        index = np.repeat(bars["symbol"].map(rank).to_numpy(dtype=np.int64)[:, None], _TICKS_PER_BAR, axis=1)
        bad = np.repeat(impossible[:, None], _TICKS_PER_BAR, axis=1)
        ts, index, prices, bad = ts.ravel(), index.ravel(), prices.ravel(), bad.ravel()
        order = np.lexsort((index, ts))  # by time, then by the order of symbols
        return ts[order], index[order], prices[order], bad[order]

    def __len__(self) -> int:
        """The number of ticks one iteration yields."""
        return len(self._ts)

    def ticks(self) -> Iterator[Tick]:
        self._check_open()
        return self._generate()

    def _generate(self) -> Iterator[Tick]:
        symbols = self.symbols
        for ts, i, price, bad in zip(
            self._ts.tolist(), self._symbol_index.tolist(), self._price.tolist(), self._impossible.tolist()
        ):
            if self._closed:
                return
            # OHLC bars carry no quotes: bid and ask are unknown, not made up.
            yield Tick(symbols[i], price, None, None, ts, IMPOSSIBLE_BAR if bad else None)

    def __repr__(self) -> str:
        return (
            f"ReplayFeed({self.source_name}, symbols={self.symbols}, bars of {self.bar_seconds:g} s, {len(self)} ticks)"
        )


def impossible_bars(o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Which bars cannot be: high below low, open or close outside [low, high], a price
    at or below zero. A NaN price takes part in no comparison (it is a NaN tick, not an
    impossible bar)."""
    with np.errstate(invalid="ignore"):
        return (h < lo) | (o < lo) | (o > h) | (c < lo) | (c > h) | (o <= 0) | (h <= 0) | (lo <= 0) | (c <= 0)


def sample_stock_files() -> list[Path]:
    """The stock price files inside the installed ``bokeh-sampledata`` package.

    Releases from 2025 keep all tickers in one ``stocks.csv.gz`` with a ``Ticker``
    column; 2024 releases keep one ``<TICKER>.csv`` per ticker. Both read the same way.
    """
    try:
        import bokeh_sampledata
    except ImportError as e:  # a dependency of Seamless; missing only in a broken install
        raise FeedError(
            "ReplayFeed's default data is the bokeh-sampledata package, "
            "which is not installed: pip install bokeh-sampledata"
        ) from e
    folder = bokeh_sampledata.package_dir()
    combined = folder / "stocks.csv.gz"
    if combined.is_file():
        return [combined]
    per_ticker = [folder / f"{t}.csv" for t in SAMPLE_TICKERS if (folder / f"{t}.csv").is_file()]
    if per_ticker:
        return per_ticker
    raise FeedError(f"no stock prices found in {folder} (bokeh-sampledata {bokeh_sampledata.__version__})")


def _as_paths(source: PathLike | Sequence[PathLike]) -> list[Path]:
    if isinstance(source, (str, os.PathLike)):
        source = [source]
    paths = [Path(p) for p in source]
    if not paths:
        raise FeedError("ReplayFeed: source names no file")
    return paths


def _read_bars(path: Path) -> pd.DataFrame:
    """One file as a frame of ``ts`` (epoch s), ``symbol``, ``open``..``close``."""
    if not path.is_file():
        raise FeedError(f"{path}: no such file")
    parquet = any(s.lower() in _PARQUET_SUFFIXES for s in path.suffixes)
    try:
        with warnings.catch_warnings():
            # A row with more fields than the header would shift its values into other
            # columns (pandas takes the first as an index, or drops the rest with a warning).
            warnings.simplefilter("error", pd.errors.ParserWarning)
            # compression (.gz, .zip, ...) inferred from the name
            raw = pd.read_parquet(path) if parquet else pd.read_csv(path, index_col=False)
    except ImportError as e:
        raise FeedError(f"reading {path} needs a Parquet engine: pip install pyarrow") from e
    except pd.errors.EmptyDataError:
        raise FeedError(f"{path} is empty: a replay file needs a header and at least one bar") from None
    except (ValueError, OSError, pd.errors.ParserWarning) as e:  # ParserError and UnicodeDecodeError too
        kind = "Parquet" if parquet else "CSV"
        raise FeedError(f"{path} is not a {kind} file of bars: {str(e).strip().splitlines()[0]}") from None
    columns: dict[str, str] = {}  # normalized name -> the file's column label
    for c in raw.columns:  # the first of "Date" and "date" wins
        columns.setdefault(str(c).strip().lower().replace(" ", "_"), c)

    missing = [k for k in _PRICE_COLUMNS if k not in columns]
    time_key = next((k for k in _TIME_COLUMNS if k in columns), None)
    if missing or time_key is None:
        lacks = missing + ([] if time_key else ["date/time"])
        raise FeedError(
            f"{path} has no {', '.join(lacks)} column; its columns are "
            f"{', '.join(map(str, raw.columns))}; a bar needs date (or time), "
            f"symbol (or one symbol per file), open, high, low, close"
        )

    out = pd.DataFrame(index=raw.index)
    when = raw[columns[time_key]]
    if time_key == "date" and "time" in columns:  # separate date and time-of-day columns
        when = when.astype(str) + " " + raw[columns["time"]].astype(str)
    out["ts"] = _epoch_seconds(when, path)
    out["symbol"] = _symbol_column(raw, columns, path)
    for k in _PRICE_COLUMNS:
        # Unreadable prices become NaN on purpose: they replay as NaN ticks (see above).
        out[k] = pd.to_numeric(raw[columns[k]], errors="coerce").astype(float)
    return out


def _epoch_seconds(when: pd.Series, path: Path) -> pd.Series:
    try:
        if pd.api.types.is_numeric_dtype(when):
            stamps = pd.to_datetime(when, unit="s", utc=True)
        else:
            stamps = pd.to_datetime(when, utc=True)  # naive -> UTC; aware -> converted
    except (ValueError, TypeError, OverflowError) as e:
        raise FeedError(f"{path}: cannot read its times: {e}") from e
    missing = stamps.isna()
    if missing.any():
        raise FeedError(
            f"{path}: {int(missing.sum())} row(s) have no time, the first at "
            f"row {int(missing.to_numpy().argmax())}: a bar must be placed in time"
        )
    return (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds()


def _symbol_column(raw: pd.DataFrame, columns: dict[str, str], path: Path) -> pd.Series | str:
    key = next((k for k in _SYMBOL_COLUMNS if k in columns), None)
    if key is None:
        name = path.name.split(".")[0].strip().upper()
        if not _SYMBOL.match(name):
            raise FeedError(
                f"{path} has no symbol column, and its file name does not make a "
                f"symbol: add a symbol column or name the file like AAPL.csv"
            )
        return name
    col = raw[columns[key]]
    if col.isna().any():
        raise FeedError(f"{path}: {int(col.isna().sum())} row(s) have no {columns[key]}")
    return col.astype(str).str.strip().str.upper()


def _refuse_duplicates(bars: pd.DataFrame, source_name: str) -> None:
    """Two bars of one symbol at one time cannot be ordered: say so rather than guess."""
    dup = bars.duplicated(["symbol", "ts"])
    if dup.any():
        row = bars[dup].iloc[0]
        when = pd.Timestamp(row["ts"], unit="s", tz="UTC").isoformat()
        raise FeedError(f"{row['symbol']} has more than one bar at {when} in {source_name}")


def _bar_seconds(bars: pd.DataFrame) -> float:
    gaps = bars.sort_values("ts").groupby("symbol")["ts"].diff()
    gaps = gaps[gaps > 0]
    return float(gaps.min()) if len(gaps) else _DEFAULT_BAR_SECONDS
