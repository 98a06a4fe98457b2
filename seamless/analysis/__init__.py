"""Analysis and replay of a store, read-only, as pandas DataFrames: what the notebooks stand on.

- :mod:`.frames`: the journal as a frame (:func:`events_frame`), the state as frames
  (:func:`state_frames`), the state as of a seq or time (:func:`at`).
- :mod:`.metrics`: equity, P&L and drawdown; fills with slippage against the quote of the
  moment; trades per symbol; signal hit rate; reconciliation history.
- :mod:`.seeded`: a store made by a short seeded run (:func:`seeded_store`), and the store a
  notebook uses (:func:`store_for_notebook`: ``SEAMLESS_DB`` or a seeded one).
"""

from .frames import at, events_frame, state_frames, to_datetime
from .metrics import (
    HIT_HORIZON,
    drawdown,
    equity_curve,
    fills_frame,
    reconcile_mismatches,
    reconcile_runs,
    signal_hit_rate,
    signal_outcomes,
    trades_per_symbol,
)
from .seeded import DB_ENV, seeded_store, store_for_notebook

__all__ = [
    "at",
    "events_frame",
    "state_frames",
    "to_datetime",
    "drawdown",
    "equity_curve",
    "fills_frame",
    "trades_per_symbol",
    "signal_outcomes",
    "signal_hit_rate",
    "HIT_HORIZON",
    "reconcile_runs",
    "reconcile_mismatches",
    "seeded_store",
    "store_for_notebook",
    "DB_ENV",
]
