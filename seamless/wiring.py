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
from .config import BROKERS, FEEDS, STRATEGIES, Config, plugin_names
from .engine.risk import RiskLimits
from .engine.runner import Runner
from .engine.strategies import MovingAverageCrossover, Strategy
from .errors import SeamlessError
from .feeds import Feed, ReplayFeed, SimFeed
from .feeds.sim import DEFAULT_START_TS
from .reconcile import ReconcilePolicy, Reconciler
from .store import Follower, Store

if TYPE_CHECKING:
    from .brokers.alpaca import AlpacaBroker
    from .feeds.alpaca import AlpacaFeed
    from .notify.notifier import Notifier


def plugin(group: str, name: str) -> Any:
    """What the entry point ``name`` of ``group`` names (a factory or a class), loaded."""
    from importlib.metadata import entry_points

    found = [ep for ep in entry_points(group=group) if ep.name == name]
    if not found:
        kind = group.rpartition(".")[2][:-1]
        raise SeamlessError(f"no {kind} named {name!r}; known: {', '.join(plugin_names(group))}")
    return found[0].load()


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


def open_broker(config: Config, *, must_exist: bool = False, read_only: bool = False) -> Broker:
    """The configured broker (``config.broker``, an entry point of ``seamless.brokers``).
    ``must_exist``: the account must be there already (commands that inspect one: a missing
    paper broker file is an error, not a new broker with fresh cash). ``read_only``: only read
    it, never blocking a runner that trades there (implies ``must_exist``)."""
    return plugin(BROKERS, config.broker)(config, must_exist=must_exist, read_only=read_only)


def paper_broker(config: Config, *, must_exist: bool = False, read_only: bool = False) -> PaperBroker:
    """The paper broker in ``config.broker_path``, with its sanity limits (``broker_max_notional``,
    ``broker_price_band``, ``broker_margin``)."""
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


def alpaca_broker(config: Config, *, must_exist: bool = False, read_only: bool = False) -> AlpacaBroker:
    """The Alpaca account of the environment's keys (paper unless ``alpaca_paper`` is off).
    An Alpaca account always exists, and reading it never blocks a runner: the flags change
    nothing but that ``read_only`` opens no trade-updates stream."""
    from .brokers.alpaca import AlpacaBroker, AlpacaEndpoints

    key_id, secret = config.alpaca_keys()
    return AlpacaBroker(
        key_id,
        secret,
        AlpacaEndpoints.of(paper=config.alpaca_paper, loopback=config.alpaca_url or None),
        stream=not read_only,
    )


def make_feed(config: Config, store: Store | None = None) -> Feed:
    """The configured feed (``config.feed``, an entry point of ``seamless.feeds``)."""
    return plugin(FEEDS, config.feed)(config, store)  # type: ignore[no-any-return]


def sim_feed(config: Config, store: Store | None = None) -> SimFeed:
    """Simulated prices; restarted on a store, it goes on from its last prices and exchange time."""
    start_ts = resume_ts(store) if store is not None else None
    prices = resume_prices(store, config.symbols) if store is not None else {}
    # ``sim_ticks_per_s`` at any speed: faster, each tick is a longer step of exchange time
    # (a sped-up demo must not ask the runner for 60 times the ticks, nor the journal).
    speed = config.speed or 1.0
    return SimFeed(
        tick_interval_s=max(1.0, speed) / config.sim_ticks_per_s,
        symbols=config.symbols,
        seed=config.seed,
        volatility=config.volatility,
        start_ts=start_ts or DEFAULT_START_TS,
        start_prices=prices or None,
        gap_every_s=config.sim_gap_every_s,
        gap_s=config.sim_gap_s,
    )


def replay_feed(config: Config, store: Store | None = None) -> ReplayFeed:
    """The bars of ``replay_file`` (default: the sample stocks)."""
    symbols = config.symbols if config.is_set("symbols") else None  # default: all in the file
    return ReplayFeed(source=config.replay_file or None, symbols=symbols)


def alpaca_feed(config: Config, store: Store | None = None) -> AlpacaFeed:
    """Alpaca's live quotes of ``symbols`` (IEX or SIP), warmed by its recent minute bars."""
    from .feeds.alpaca import AlpacaFeed, DataEndpoints

    key_id, secret = config.alpaca_keys()
    return AlpacaFeed(
        key_id,
        secret,
        symbols=config.symbols,
        endpoints=DataEndpoints.of(config.alpaca_data_feed, loopback=config.alpaca_url or None),
    )


def make_strategies(
    names: Iterable[str], symbols: Sequence[str] | None = None, bar_seconds: float = 0.0
) -> list[Strategy]:
    """One strategy per name (an entry point of ``seamless.strategies``), each with its
    defaults (``symbols``: reserved for strategies that trade a subset). ``bar_seconds``:
    ``ma_cross`` on bars of that length, 5 over 20 (a few crossings per symbol per simulated
    hour on one-minute bars); 0: on ticks."""
    return [
        MovingAverageCrossover(fast=5, slow=20, bar_s=bar_seconds)
        if name == "ma_cross" and bar_seconds
        else plugin(STRATEGIES, name)()
        for name in names
    ]


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
        strategies = make_strategies(config.strategies, feed.symbols, config.bar_seconds)
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
        conflate=config.conflate,
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
