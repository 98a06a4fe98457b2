"""Market-data feeds: sources of :class:`Tick` in exchange-time order.

- :class:`SimFeed`: simulated prices (geometric Brownian motion), reproducible by seed,
  with optional injected faults for testing the engine's bad-tick filter.
- :class:`ReplayFeed`: real OHLC bars from CSV/Parquet files, or by default the daily
  stock prices shipped in ``bokeh-sampledata``.
- :class:`QueueFeed`: the ticks its producer puts in.

A feed never sleeps; :func:`paced` paces any tick stream against the clock; :func:`conflate`
folds a symbol's waiting quotes into its newest (an explicit setting).
"""

from .base import DEFAULT_SYMBOLS, Feed, FeedClosed, FeedError, Tick, paced
from .conflation import conflate
from .queued import QueueFeed
from .replay import IMPOSSIBLE_BAR, ReplayFeed, sample_stock_files
from .sim import BAD_TICK_KINDS, SimFeed

__all__ = [
    "BAD_TICK_KINDS",
    "DEFAULT_SYMBOLS",
    "Feed",
    "FeedClosed",
    "FeedError",
    "IMPOSSIBLE_BAR",
    "QueueFeed",
    "ReplayFeed",
    "SimFeed",
    "Tick",
    "conflate",
    "paced",
    "sample_stock_files",
]
