"""The live runner: feed -> quotes -> risk -> strategies -> orders, every change through the store.

Lifecycle (journaled as ``runner.status``): STARTING -> RECOVERING (settle orders left
open by a crash) -> RECONCILING (catch up fills, opening cash) -> RUNNING <-> PAUSED ->
STOPPING -> STOPPED, or ERROR with its reason. Whether it may open risk is apart: the
trading state (ACTIVE, REDUCING, HALTED) of the risk part.  One runner per store: the
store's writer lock refuses a second one.
"""

from __future__ import annotations

import collections
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence

from ..brokers import Broker, BrokerError
from ..errors import InvalidEvent
from ..events import (
    BreachReset,
    BrokerStatusChanged,
    CashSet,
    FeedStatusChanged,
    MonitorCancelled,
    MonitorStatus,
    MonitorTriggered,
    OrderFilled,
    QuoteReceived,
    QuotesConflated,
    RunnerStatus,
    RunnerStatusChanged,
    TradingState,
    TradingStateChanged,
)
from ..feeds import Feed, Tick, conflate, paced
from ..params.records import Monitor, Order
from ..reconcile import ReconcilePolicy, Reconciler, Report
from ..store import Store
from .monitors import evaluate, protective_monitors
from .orders import OrderManager
from .risk import RiskLimits, RiskManager
from .strategies import Intent, Strategy

log = logging.getLogger("seamless.engine.runner")

#: With conflation on, the folded quotes' counts are journaled at most this often (seconds).
CONFLATION_REPORT_S = 1.0


class Runner:
    """Runs ``strategies`` on ``feed`` against ``broker``, writing ``store``."""

    def __init__(
        self,
        store: Store,
        broker: Broker,
        feed: Feed,
        strategies: Sequence[Strategy],
        limits: RiskLimits | None = None,
        *,
        speed: float | None = None,
        stop_loss_pct: float | None = None,
        take_profit_pct: float | None = None,
        trailing_pct: float | None = None,
        reconcile: ReconcilePolicy | Reconciler | None = None,
        scheduled_reconcile: bool = True,
        resolve_every_s: float = 0.5,
        conflate: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store, self.broker, self.feed = store, broker, feed
        self.strategies = list(strategies)
        self.symbols = frozenset(feed.symbols)
        self.speed = feed.speed if speed is None else speed
        self.risk = RiskManager(store, limits)
        self.orders = OrderManager(store, broker, self.risk, clock=clock)
        self.resolve_every_s = resolve_every_s
        self._clock = clock
        self.reconciler = Reconciler(store, broker, reconcile) if isinstance(reconcile, ReconcilePolicy) else reconcile
        # False when someone else keeps the schedule (the dashboard: once per server process).
        self.scheduled_reconcile = scheduled_reconcile
        self._last_reconcile = -math.inf
        self._stop_by = "runner"
        # A paper venue prices its fills from marks; a real broker has its own market.
        self._mark: Callable[..., object] | None = getattr(broker, "mark", None)
        self.rejected: collections.Counter[str] = collections.Counter()  # bad ticks, by kind
        self.ticks = 0  # ticks applied
        self.seen = 0  # ticks received, bad ones included
        #: Fold each symbol's quotes waiting behind a newer one (see seamless.feeds.conflation).
        self.conflate = conflate
        self.conflated: collections.Counter[str] = collections.Counter()  # quotes folded, by symbol
        self._unreported: collections.Counter[str] = collections.Counter()  # folded, not yet journaled
        self._reported_at = clock()
        #: Why :meth:`run` stopped on an error, kept in memory: journaling it may have failed too.
        self.failure: str | None = None
        self._last_ts: dict[str, float] = {}
        self._stop = threading.Event()
        self._resume = threading.Event()
        self._resume.set()
        self._open_qty: dict[str, float] = {}  # per symbol: what its open orders have left to fill
        self._open: dict[str, Order] = {}  # the open orders by client order id, as the store holds them
        self.protection = {
            "stop_loss_pct": stop_loss_pct,
            "take_profit_pct": take_profit_pct,
            "trailing_pct": trailing_pct,
        }
        self._monitors: dict[str, list[Monitor]] = {}  # active monitors by symbol
        feed.on_status(self._feed_status)
        self._subs = [
            store.bus.subscribe("order.*", self._on_order_event, queued=False, name="runner-orders"),
            store.bus.subscribe("order.filled", self._protect, queued=False, name="runner-protect"),
            store.bus.subscribe("monitor.*", lambda ev: self._index_monitors(), queued=False, name="runner-monitors"),
        ]

    # -- control (any thread) --------------------------------------------------------------

    def stop(self, by: str = "runner") -> None:
        self._stop_by = by
        self._stop.set()
        self._resume.set()

    def pause(self, by: str = "runner") -> None:
        self._resume.clear()
        self._status(RunnerStatus.PAUSED, by=by)

    def resume(self, by: str = "runner") -> None:
        self._status(RunnerStatus.RUNNING, by=by)
        self._resume.set()

    # The runner's status and the trading state are apart: halting trading leaves the runner
    # RUNNING (it still follows the market, closes and reconciles); only the risk part says HALTED.
    # (RunnerStatus.HALTED stays in the catalog for journals written before.)

    def halt(self, by: str, reason: str = "halted by hand") -> None:
        """Stop opening risk: no new orders until trading resumes (closing still passes)."""
        self.store.commit(TradingStateChanged(state=TradingState.HALTED, reason=reason, by=by))

    def resume_trading(self, by: str, reason: str = "resumed by hand") -> None:
        """Back to ACTIVE; refused (InvalidEvent) while a daily-loss breach is not reset."""
        self.store.commit(TradingStateChanged(state=TradingState.ACTIVE, reason=reason, by=by))
        self._unhalt(by)

    def reset_breach(self, by: str, reason: str = "") -> None:
        """Clear a daily-loss breach: trading becomes ACTIVE again (the limit still applies)."""
        self.store.commit(BreachReset(by=by, reason=reason))
        self._unhalt(by)

    def _unhalt(self, by: str) -> None:
        """A store from before the split may say the runner itself is HALTED: it runs."""
        if self.store.state.runner.status == RunnerStatus.HALTED:
            self._status(RunnerStatus.RUNNING, by=by)

    @property
    def alive(self) -> bool:
        """Started and not yet stopping."""
        return (
            self.store.state.runner.status in (RunnerStatus.RUNNING, RunnerStatus.PAUSED, RunnerStatus.HALTED)
            and not self._stop.is_set()
        )

    def _status(self, status: RunnerStatus, error: str = "", by: str = "runner") -> None:
        if self.store.state.runner.status != status or error:
            self.store.commit(RunnerStatusChanged(status=status, error=error, by=by))

    # -- the run ---------------------------------------------------------------------------

    def run(self, duration: float | None = None, max_ticks: int | None = None, by: str = "runner") -> None:
        """Start, trade until ``duration`` seconds, ``max_ticks`` ticks, the feed's end or
        :meth:`stop`, then stop cleanly. An unexpected error is journaled as ERROR."""
        try:
            if not self.start(by=by):
                self.shutdown()
                return
            deadline = None if duration is None else self._clock() + duration
            last_resolve = self._clock()
            ticks = paced(self.feed.ticks(), self.speed)
            for tick in self._conflated(ticks) if self.conflate else ticks:
                if self._stop.is_set() or (max_ticks is not None and self.seen >= max_ticks):
                    break
                if tick is not None:  # None: a live feed's idle beat; the housekeeping still runs
                    self.seen += 1
                    if not self._resume.is_set():
                        self._resume.wait()
                        if self._stop.is_set():
                            break
                    self.on_tick(tick)
                now = self._clock()
                if now - last_resolve >= self.resolve_every_s:
                    self._housekeeping()
                    last_resolve = now
                if self._unreported and now - self._reported_at >= CONFLATION_REPORT_S:
                    self._report_conflation(now)
                if deadline is not None and now >= deadline:
                    break
        except BaseException as e:
            log.exception("runner failed")
            self.failure = f"{type(e).__name__}: {e}"
            self._status(RunnerStatus.ERROR, error=self.failure)
            raise
        self.shutdown()

    def _conflated(self, ticks: Iterator[Tick | None]) -> Iterator[Tick | None]:
        """``ticks``, each with the ticks already waiting behind it in the feed, a symbol's
        good quotes folded into its newest (counted; journaled by :meth:`_report_conflation`)."""
        for tick in ticks:
            waiting = self.feed.ready() if tick is not None else None
            if tick is None or not waiting:
                yield tick
                continue
            kept, folded = conflate([tick, *waiting])
            if folded:
                self.conflated.update(folded)
                self._unreported.update(folded)
                self.seen += sum(folded.values())  # received, and folded into a newer quote
            yield from kept

    def _report_conflation(self, now: float) -> None:
        """Journal the quotes folded since the last report, per symbol."""
        counts, self._unreported = dict(self._unreported), collections.Counter()
        interval, self._reported_at = now - self._reported_at, now
        if counts:
            self.store.commit(QuotesConflated(counts=counts, interval_s=max(0.0, interval)))

    def start(self, max_backoff_s: float = 30.0, by: str = "runner") -> bool:
        """Recover and reconcile before trading; while the broker is unreachable, retry with
        backoff (journaled as a broker outage). False if stopped before it got through."""
        self._status(RunnerStatus.STARTING, by=by)
        self._status(RunnerStatus.RECOVERING)
        delay = 0.25
        while True:
            try:
                self.orders.recover()
                break
            except BrokerError as e:
                self._broker_status(False, str(e))
                if self._stop.wait(delay):
                    return False
                delay = min(delay * 2, max_backoff_s)
        self._broker_status(True)
        self.risk.seed_window(self.store.state.orders.by_id.values())
        self._status(RunnerStatus.RECONCILING)
        if self.store.state.account.updated_at is None:  # a new store: the broker's cash opens it
            self.store.commit(CashSet(cash=self.broker.account().cash, reason="opening balance from the broker"))
        self.orders.sync_fills()
        self._reconcile(force=True, by="startup")  # before trading: the store must agree with the broker
        self.risk.sync_limit()
        self._refresh_open_qty()
        self._index_monitors()
        self._warm()
        for part in ("positions", "orders", "account"):  # a stale read re-polls the broker
            self.store.register_refresher(part, self._housekeeping)
        self._status(RunnerStatus.RUNNING)  # trading may be HALTED meanwhile: that is the risk part's
        return True

    def _warm(self) -> None:
        """Show the strategies the feed's recent history (a live feed's last bars), so their
        averages are whole from the first live tick; what they wish meanwhile is not traded."""
        history = self.feed.history()
        equity = self.store.state.account.equity
        for tick in history:
            if tick.symbol in self.symbols and self._bad(tick) is None:
                self._last_ts[tick.symbol] = tick.exchange_ts
                for strategy in self.strategies:
                    strategy.on_tick(tick, 0.0, equity)
        if history:
            log.info("strategies warmed with %d ticks of history", len(history))

    def _feed_status(self, connected: bool, error: str = "") -> None:
        runner = self.store.state.runner
        if runner.feed_connected != connected or (error and error != runner.feed_error):
            if not connected:
                log.warning("market data lost: %s", error)
            self.store.commit(FeedStatusChanged(connected=connected, error=error))

    def shutdown(self) -> None:
        if self._unreported:
            self._report_conflation(self._clock())
        self._status(RunnerStatus.STOPPING, by=self._stop_by)
        try:
            self._housekeeping(force=True)  # settle what is unknown before saying STOPPED
        except BrokerError as e:
            log.warning("broker unavailable while stopping: %s", e)
        self._status(RunnerStatus.STOPPED)
        for sub in self._subs:
            sub.cancel()

    def _housekeeping(self, force: bool = False) -> None:
        """Settle unknown orders and catch up fills; a broker outage is journaled (what the
        store shows of the broker is stale) and retried at the next round, not fatal."""
        try:
            self.orders.resolve(force=force)
            self.orders.sync_fills()
            self._reconcile()
        except BrokerError as e:
            self._broker_status(False, str(e))
            return
        self._broker_status(True)

    def _reconcile(self, force: bool = False, by: str = "schedule") -> Report | None:
        """Reconcile with the broker when the policy's interval is due (headless schedule), or
        now when ``force``d. None when skipped: answers still outstanding (an in-flight order
        is not a mismatch)."""
        if self.reconciler is None or not (force or self.scheduled_reconcile):
            return None
        now = self._clock()
        if not force and now - self._last_reconcile < self.reconciler.policy.interval_s:
            return None
        with self.orders._lock:  # no order is sent meanwhile
            if self.orders.pending:
                return None
            self._last_reconcile = now
            report = self.reconciler.run(by=by)
        return report

    def reconcile_now(self, by: str, wait_s: float = 2.0) -> Report | None:
        """Reconcile at once (any thread). Waits up to ``wait_s`` for outstanding order answers,
        which the run loop settles every ``resolve_every_s``; None if they are still open."""
        deadline = time.monotonic() + wait_s
        while True:
            report = self._reconcile(force=True, by=by)
            if report is not None or time.monotonic() >= deadline:
                return report
            time.sleep(0.05)  # the run loop owns resolution: give it a turn

    def _broker_status(self, connected: bool, error: str = "") -> None:
        runner = self.store.state.runner
        if runner.broker_connected != connected or (error and error != runner.broker_error):
            if not connected:
                log.warning("broker unreachable: %s", error)
            self.store.commit(BrokerStatusChanged(connected=connected, error=error))

    # -- one tick ----------------------------------------------------------------------------

    def on_tick(self, tick: Tick) -> None:
        """Quote -> venue mark -> risk -> strategies -> orders, for one tick."""
        bad = self._bad(tick)
        if bad:
            self.rejected[bad] += 1
            return
        sym = tick.symbol
        try:
            self.store.commit(
                QuoteReceived(symbol=sym, last=tick.last, bid=tick.bid, ask=tick.ask, exchange_ts=tick.exchange_ts)
            )
        except InvalidEvent as e:
            self.rejected["invalid"] += 1
            log.debug("tick refused: %s", e)
            return
        self._last_ts[sym] = tick.exchange_ts
        self.ticks += 1
        if self._mark is not None and self._open_qty.get(sym):
            try:
                self._mark(sym, tick.last, tick.exchange_ts)  # working orders fill against the venue's price
            except BrokerError as e:
                self._broker_status(False, str(e))
        if self.risk.on_tick(tick.exchange_ts):  # a breach: trading HALTED (the risk part says so)
            if self.risk.limits.auto_flatten:
                self.flatten(by="risk", reason="auto-flatten after a daily-loss breach")
        live = self.store.live  # plain values: a param read per field would cost ~1 µs each
        pos = live("positions")["by_symbol"].get(sym)
        qty = pos.qty if pos else 0.0
        if sym in self._monitors:
            self._run_monitors(tick, qty)
        halted = live("risk")["trading_state"] == TradingState.HALTED
        equity = live("account")["equity"]
        for strategy in self.strategies:
            if strategy.symbols is not None and sym not in strategy.symbols:
                continue
            intent = strategy.on_tick(tick, qty, equity)  # fed while halted too: its averages stay whole
            if intent is not None and not halted:
                self._act(intent, tick)

    def _bad(self, tick: Tick) -> str | None:
        if tick.symbol not in self.symbols:
            return "unknown_symbol"
        if tick.fault:  # the feed's own verdict (a replayed bar that cannot be)
            return tick.fault
        if not (isinstance(tick.last, (int, float)) and math.isfinite(tick.last)):
            return "nan"
        if tick.last <= 0:
            return "non_positive"
        if not math.isfinite(tick.exchange_ts) or tick.exchange_ts <= self._last_ts.get(tick.symbol, -math.inf):
            return "out_of_order"
        return None

    def _act(self, intent: Intent, tick: Tick) -> None:
        sig = self.store.commit(intent.to_signal(tick.exchange_ts))
        pos = self.store.state.positions.by_symbol.get(intent.symbol)
        delta = intent.target_qty - (pos.qty if pos else 0.0) - self._open_qty.get(intent.symbol, 0.0)
        if delta == 0:
            return

        def price_the_venue() -> bool:  # once the pre-trade checks pass: a refused order needs no price
            assert self._mark is not None
            try:
                self._mark(intent.symbol, tick.last, tick.exchange_ts)  # the venue prices at this tick
            except BrokerError as e:  # no order while the venue is unreachable; the signal stands
                self._broker_status(False, str(e))
                return False
            return True

        self.orders.submit(
            intent.symbol,
            delta,
            client_order_id=f"{intent.strategy}-{intent.symbol}-{sig.seq}",
            strategy=intent.strategy,
            reason=intent.reason,
            market_time=tick.exchange_ts,
            before_send=price_the_venue if self._mark is not None else None,
        )

    # -- monitors: protective stops and targets on each position --------------------------

    def _run_monitors(self, tick: Tick, qty: float) -> None:
        for ev in evaluate(tick, self._monitors[tick.symbol], qty):
            current = self.store.state.monitors.by_id.get(ev.monitor_id)
            if current is None or current.status != MonitorStatus.ACTIVE:
                continue  # an earlier trigger of this tick closed the position and cancelled it
            self.store.commit(ev)
            if isinstance(ev, MonitorTriggered):
                mon = self.store.state.monitors.by_id[ev.monitor_id]
                if mon.kind != "price_alert":
                    self.close_position(
                        tick.symbol, by="monitor", reason=f"{mon.kind} {mon.monitor_id} triggered at {ev.price:g}"
                    )

    def _protect(self, ev: OrderFilled) -> None:
        """A fill changed a position: cancel monitors that guard a side no longer held, and
        set the configured protection on a newly opened position."""
        pos = self.store.state.positions.by_symbol.get(ev.symbol)
        qty = pos.qty if pos else 0.0
        before = qty - ev.qty
        if before != 0 and (qty == 0 or (qty > 0) != (before > 0)):
            for mon in list(self._monitors.get(ev.symbol, ())):
                self.store.commit(MonitorCancelled(monitor_id=mon.monitor_id, reason="position closed"))
        opened = qty != 0 and (before == 0 or (qty > 0) != (before > 0))
        if opened and any(v is not None for v in self.protection.values()):
            assert pos is not None  # opened: the position is held
            for mon_ev in protective_monitors(
                ev.symbol, qty, pos.avg_price, id_prefix=f"{ev.symbol}-{ev.seq}", **self.protection
            ):
                self.store.commit(mon_ev)

    def _index_monitors(self) -> None:
        index: dict[str, list[Monitor]] = {}
        for mon in self.store.state.monitors.by_id.values():
            if mon.status == MonitorStatus.ACTIVE:
                index.setdefault(mon.symbol, []).append(mon)
        self._monitors = index

    # -- commands --------------------------------------------------------------------------

    def flatten(self, by: str, reason: str = "flatten all") -> None:
        """Close every position (passes a HALT: it only reduces risk)."""
        for sym in list(self.store.state.positions.by_symbol):
            self.close_position(sym, by=by, reason=reason)

    def close_position(self, symbol: str, by: str, reason: str = "close position") -> None:
        pos = self.store.state.positions.by_symbol.get(symbol)
        if pos is None or pos.qty == 0:
            return
        quote = self.store.state.market.quotes.get(symbol)
        if self._mark is not None and quote is not None:
            self._mark(symbol, quote.last, quote.exchange_ts)
        self.orders.submit(
            symbol,
            -pos.qty,
            client_order_id=f"close-{symbol}-{self.store.seq + 1}",
            reason=reason,
            flatten=True,
            by=by,
            market_time=quote.exchange_ts if quote is not None else None,
        )

    # -- open order quantity per symbol (for target -> order size) --------------------------

    def _on_order_event(self, ev) -> None:
        """Follow the store's open orders: every change of an order is an order event naming
        it, so only that order is read again, and only its symbol's open quantity summed."""
        coid = getattr(ev, "client_order_id", "")
        order = self.store.live("orders")["by_id"].get(coid) if coid else None
        if order is not None and order.is_open:
            self._open[coid] = order
        else:
            self._open.pop(coid, None)
        sym = getattr(ev, "symbol", None) or (order.symbol if order is not None else None)
        if sym is not None:
            self._open_qty[sym] = self._open_qty_of(sym)

    def _open_qty_of(self, symbol: str) -> float:
        return sum(o.qty - o.filled_qty for o in self._open.values() if o.symbol == symbol)

    def _refresh_open_qty(self) -> None:
        self._open = {k: o for k, o in self.store.state.orders.by_id.items() if o.is_open}
        self._open_qty = {s: self._open_qty_of(s) for s in self.symbols}
