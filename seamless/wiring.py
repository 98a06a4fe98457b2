"""The composition root: what one :class:`~seamless.config.Config` builds.

The CLI (``seamless run``, ``reconcile``), the dashboard's service, the notebooks' seeded
runs and the benchmarks all get their store, broker, feed, strategies and runner here, so
a setting means the same thing wherever it is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .brokers import Broker, PaperBroker
from .config import Config
from .engine.risk import RiskLimits
from .engine.runner import Runner
from .engine.strategies import STRATEGIES, Strategy
from .errors import SeamlessError
from .feeds import Feed, ReplayFeed, SimFeed
from .feeds.sim import DEFAULT_START_TS
from .reconcile import ReconcilePolicy, Reconciler
from .store import Follower, Store

if TYPE_CHECKING:
    from .notify.notifier import Notifier


def open_store(config: Config, **options: Any) -> Store:
    """The store at ``config.db`` (created if new), opened for writing."""
    if config.store_max_mb is not None:
        options.setdefault("max_bytes", int(config.store_max_mb * 1_000_000))
    return Store(config.db, **options)


def maintain(config: Config, store: Store) -> None:
    """The store's background tasks for a long-running writer: retention (archives, at most
    hourly) and the scrubber (verification of the whole history); they stop when it closes."""
    from .store.retention import Retention
    from .store.scrubber import Scrubber

    Retention(store, config.retention_days).start()
    if config.scrub_kb_per_s > 0:
        Scrubber(store, config.scrub_kb_per_s, halt=config.halt_on_corrupt_history, rest_s=config.scrub_rest_s).start()


def compact(config: Config, *, dry_run: bool = False) -> Any:
    """``seamless compact``: open the store (the writer lock: refused beside a runner), move
    what the retention window says, close; the :class:`~seamless.store.retention.Report`."""
    from .store.retention import compact as run

    store = open_store(config)
    try:
        return run(store, config.retention_days, dry_run=dry_run)
    finally:
        store.close(snapshot=False)


def open_broker(config: Config, *, must_exist: bool = False, read_only: bool = False) -> PaperBroker:
    """The configured broker, with its sanity limits (``broker_max_notional``,
    ``broker_price_band``, ``broker_margin``). ``must_exist``: a missing paper broker file is
    an error, not a new broker with fresh cash (commands that inspect one). ``read_only``:
    only read it, never blocking a runner that trades there (implies ``must_exist``)."""
    path = config.broker_path
    if (must_exist or read_only) and not Path(path).is_file():
        raise SeamlessError(f"no paper broker database at {path}")
    return PaperBroker(
        path,
        max_order_notional=config.broker_max_notional,
        price_band=config.broker_price_band,
        margin=config.broker_margin,
        read_only=read_only,
    )


def follow_store(config: Config) -> Follower:
    """The store at ``config.db`` as of now, read-only: no writer lock, no write, never
    blocking (nor blocked by) the process that writes it. Close it when done."""
    return Follower(config.db)


def make_feed(config: Config, store: Store | None = None) -> Feed:
    """The configured feed. A simulated feed restarted on a store goes on from its last
    prices and exchange time."""
    if config.feed == "sim":
        start_ts = resume_ts(store) if store is not None else None
        prices = resume_prices(store, config.symbols) if store is not None else {}
        return SimFeed(
            symbols=config.symbols,
            seed=config.seed,
            volatility=config.volatility,
            start_ts=start_ts or DEFAULT_START_TS,
            start_prices=prices or None,
            gap_every_s=config.sim_gap_every_s,
            gap_s=config.sim_gap_s,
        )
    symbols = config.symbols if config.is_set("symbols") else None  # default: all in the file
    return ReplayFeed(source=config.replay_file or None, symbols=symbols)


def make_strategies(names: Iterable[str], symbols: Sequence[str] | None = None) -> list[Strategy]:
    """One strategy per name, each with its defaults (``symbols``: reserved for strategies
    that trade a subset)."""
    out = []
    for name in names:
        if name not in STRATEGIES:
            raise SeamlessError(f"unknown strategy {name!r}; known: {', '.join(STRATEGIES)}")
        out.append(STRATEGIES[name]())
    return out


def make_runner(
    config: Config,
    store: Store,
    broker: Broker,
    feed: Feed | None = None,
    *,
    strategies: Sequence[Strategy] | None = None,
    reconciler: Reconciler | None = None,
    scheduled_reconcile: bool = True,
) -> Runner:
    """The runner of ``config``'s strategies on ``feed`` (defaults: :func:`make_strategies`,
    :func:`make_feed`)."""
    feed = make_feed(config, store) if feed is None else feed
    if strategies is None:
        strategies = make_strategies(config.strategies, feed.symbols)
    reconcile: Reconciler | ReconcilePolicy | None = reconciler
    if reconcile is None and config.reconcile:
        reconcile = ReconcilePolicy(interval_s=config.reconcile_interval)
    return Runner(
        store,
        broker,
        feed,
        strategies,
        RiskLimits(daily_loss_limit=config.daily_loss_limit, max_position=config.max_position),
        speed=config.speed,
        stop_loss_pct=config.stop_loss_pct,
        take_profit_pct=config.take_profit_pct,
        trailing_pct=config.trailing_pct,
        reconcile=reconcile,
        scheduled_reconcile=scheduled_reconcile,
    )


@dataclass
class Trading:
    """A store, its broker and a runner between them, closed together."""

    store: Store
    broker: Broker
    runner: Runner
    #: sends the store's events to a person (None: no ``notify_urls``).
    notifier: Notifier | None = None

    def close(self) -> None:
        """Close the notifier (what it holds is sent), the broker, then the store (it
        flushes and writes a snapshot)."""
        try:
            if self.notifier is not None:
                self.notifier.close()
        finally:
            try:
                self.broker.close()
            finally:
                self.store.close()


def make_notifier(config: Config, store: Store, *, ready: Callable[[], str | None] | None = None) -> Notifier | None:
    """The notifier of ``store``'s events to ``config.notify_urls``, started; None when no URL
    is set. ``ready() -> None | reason``: the readiness to watch (default: from the state)."""
    if not config.notify_urls:
        return None
    from .notify.notifier import Notifier  # apprise: imported only when there is a URL

    return Notifier(
        store,
        config.notify_urls,
        kinds=config.notify_events,
        rate=config.notify_rate,
        not_ready_s=config.notify_not_ready_s,
        ready=ready,
    ).start()


def read_inputs(config: Config) -> Feed | None:
    """The feed that reads a file (replay), read before any store is opened: a file it
    cannot use changes nothing. None for a feed that needs the store (sim resumes from it)."""
    return make_feed(config) if config.feed == "replay" else None


def trading(config: Config) -> Trading:
    """Open the store and the broker and build the runner; nothing is left open on an error."""
    feed = read_inputs(config)
    store = open_store(config)
    broker: Broker | None = None
    try:
        maintain(config, store)
        broker = open_broker(config)
        runner = make_runner(config, store, broker, feed)
        return Trading(store, broker, runner, make_notifier(config, store))
    except BaseException:
        if broker is not None:
            broker.close()
        store.close()
        raise


def resume_prices(store: Store, symbols: Iterable[str]) -> dict[str, float]:
    """The last price of each symbol in the store: where a restarted simulated feed goes on."""
    quotes = store.state.market.quotes
    return {s: quotes[s].last for s in symbols if s in quotes}


def resume_ts(store: Store) -> float | None:
    """Just after the newest quote's exchange time in the store: where a restarted
    simulated feed must begin, or every quote would go back in time and be refused."""
    times = [q.exchange_ts for q in store.state.market.quotes.values() if q.exchange_ts is not None]
    return max(times) + 1.0 if times else None
