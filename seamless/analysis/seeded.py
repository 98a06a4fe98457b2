"""A store made by a short seeded run, so analysis and notebooks work with no set-up.

The run is the real thing (``Store``, ``PaperBroker``, ``SimFeed``, ``Runner``), not a
fabricated journal: what a notebook shows of it is what a live account would show.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ..feeds.base import DEFAULT_SYMBOLS

#: The environment variable naming the store a notebook analyses.
DB_ENV = "SEAMLESS_DB"


def seeded_store(
    path: str | Path,
    seed: int = 0,
    ticks: int = 10_000,
    *,
    symbols: Sequence[str] = DEFAULT_SYMBOLS,
    volatility: float = 2.0,
    tick_interval_s: float = 0.25,
    stop_loss_pct: float | None = 0.003,
    take_profit_pct: float | None = 0.005,
    trailing_pct: float | None = None,
    out_of_band_qty: float = 7.0,
    restart_ticks: int | None = None,
    fast: int = 10,
    slow: int = 40,
) -> Path:
    """Make a store at ``path`` (it must not exist) by two seeded runner sessions.

    The first session trades ``ticks`` ticks of a simulated feed with protective monitors
    (stop-loss, take-profit, trailing stop), so the journal holds quotes, signals, orders,
    fills and monitors, and a reconciliation at start.  Then a limit order to buy
    ``out_of_band_qty`` shares of the first symbol just below its last price is placed at
    the paper broker by hand, and a second session (``restart_ticks``, default a quarter
    of ``ticks``) restarts on the same store: its reconciliation finds the order unknown to
    the store and adopts it (a mismatch with its resolution), and it may fill later.  Same
    arguments, same events (exchange time is synthetic and reconciliation runs only at
    start; only wall-clock stamps and measured durations differ).
    Returns the store's path; the paper broker's file lies beside it (``*.broker.db``).
    """
    from .. import wiring
    from ..brokers import OrderRequest, PaperBroker
    from ..config import Config
    from ..engine.strategies import MovingAverageCrossover
    from ..feeds import SimFeed
    from ..feeds.sim import DEFAULT_START_TS
    from ..replay import replay

    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists; seeded_store makes a new store")
    # reconcile_interval is wall time: a huge one keeps the runs to the forced one at start,
    # so the journal does not depend on how fast this machine is.
    config = Config(
        db=str(path),
        symbols=list(symbols),
        speed=0,
        stop_loss_pct=stop_loss_pct,
        take_profit_pct=take_profit_pct,
        trailing_pct=trailing_pct,
        reconcile_interval=1e9,
    )
    sessions = [(seed, ticks), (seed + 1, restart_ticks if restart_ticks is not None else max(1, ticks // 4))]
    for i, (session_seed, n) in enumerate(sessions):
        if i == 1 and out_of_band_qty:
            last = replay(path).values["market"]["quotes"][symbols[0]].last
            with PaperBroker(config.broker_path) as paper:  # an order placed by hand, unknown to the store
                below = min(last, paper.last_mark(symbols[0]) or last) * 0.995  # not filled at once
                paper.submit(
                    OrderRequest(
                        client_order_id="by-hand-1",
                        symbol=symbols[0],
                        qty=out_of_band_qty,
                        order_type="limit",
                        limit_price=round(below, 2),
                    )
                )
        store = wiring.open_store(config)
        broker = wiring.open_broker(config)
        try:
            feed = SimFeed(
                symbols=symbols,
                seed=session_seed,
                volatility=volatility,
                tick_interval_s=tick_interval_s,
                start_prices=wiring.resume_prices(store, symbols) or None,
                start_ts=ts if (ts := wiring.resume_ts(store)) is not None else DEFAULT_START_TS,
            )
            runner = wiring.make_runner(
                config, store, broker, feed, strategies=[MovingAverageCrossover(fast=fast, slow=slow)]
            )
            runner.run(max_ticks=n)
        finally:
            broker.close()
            store.close()
    return path


def store_for_notebook(seed: int = 0, ticks: int = 10_000) -> Path:
    """The store named by ``SEAMLESS_DB`` when set (it must exist), else a new seeded one
    in a temporary directory: a notebook runs top to bottom with no set-up either way."""
    named = os.environ.get(DB_ENV)
    if named:
        path = Path(named)
        if not path.is_file():
            raise FileNotFoundError(f"{DB_ENV}={named}: no store database there")
        return path
    return seeded_store(Path(tempfile.mkdtemp(prefix="seamless-notebook-")) / "seeded.db", seed=seed, ticks=ticks)
