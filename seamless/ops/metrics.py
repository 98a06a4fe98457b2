"""Prometheus metrics, read at scrape time: nothing is counted on the write path for them.

:class:`Metrics` is one subject's collector. It reads what the store, the bus and the hub
already keep (the bus's events by topic, the latency reservoirs, the writer's health, the
state's parts) when Prometheus asks, and keeps two tallies of its own on the bus's rare
topics (``order.refused`` by reason, ``reconcile.mismatch`` by kind). :func:`registry` puts
it with the readiness checks and the process's own figures (``process_*``).

The latency histograms are folded from the reservoirs at each scrape: the samples added
since the last scrape (found by identity) go into cumulative buckets, so ``_bucket``,
``_count`` and ``_sum`` only grow, as Prometheus expects. A reservoir holds the last 8,192
samples: with more observations than that between two scrapes (the dispatch of a store
committing flat out) the histogram counts the newest 8,192 of them, a sample of the rest.
Throughput is ``seamless_events_total``, not a histogram's ``_count``.

Past one process: a viewer's replica (no writer: its lag from the runner's commit instead of
the writer's figures), the mirror beside a runner (rows, batches, lag), the viewers' commands
(applied on the runner's host, relayed by a viewer), the quotes conflation folded, and the
process's ``/events`` clients (:data:`~seamless.ops.stream.STREAMS`).
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from ..bus.stats import LatencyReservoir
from ..events import Event, RunnerStatus, TradingState
from ..reconcile.findings import KINDS as MISMATCH_KINDS
from ..store import Store
from .health import Readiness, Source, Subject, readiness
from .stream import DROP_REASONS, REFUSE_REASONS, STREAMS

#: Histogram bucket bounds (seconds): 10 µs to 2.5 s, covering a dispatch (µs) to a slow fsync.
BUCKETS: tuple[float, ...] = (
    1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3,
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
)  # fmt: skip

#: A refusal's reason (the risk checks' text) -> its label; the first match wins.
REFUSAL_REASONS: tuple[tuple[str, str], ...] = (
    ("trading is HALTED", "halted"),
    ("trading is REDUCING", "reducing"),
    ("exceeds max order size", "max_order_size"),
    ("beyond max position", "max_position"),
    ("orders in the last minute", "orders_per_minute"),
)


def refusal_reason(text: str) -> str:
    """The label of a refusal's reason: one of :data:`REFUSAL_REASONS`' labels, or ``other``."""
    for fragment, label in REFUSAL_REASONS:
        if fragment in text:
            return label
    return "other"


class Folded:
    """A reservoir's samples folded into a cumulative histogram, scrape after scrape."""

    def __init__(self, reservoir: LatencyReservoir) -> None:
        self.reservoir = reservoir
        self.counts = [0] * (len(BUCKETS) + 1)  # per bucket, not cumulative; the last is +Inf
        self.sum = 0.0
        self._last: float | None = None  # the newest sample folded, by identity

    def update(self) -> None:
        samples = self.reservoir.samples()
        start = 0
        last = self._last
        if last is not None:
            for i in range(len(samples) - 1, -1, -1):
                if samples[i] is last:
                    start = i + 1
                    break
        new = samples[start:]
        if not new:
            return
        self._last = new[-1]
        for v in new:
            self.counts[bisect.bisect_left(BUCKETS, v)] += 1
        self.sum += sum(new)

    def family(self, name: str, doc: str) -> HistogramMetricFamily:
        self.update()
        cumulative, total = [], 0
        for bound, n in zip((*map(_le, BUCKETS), "+Inf"), self.counts):
            total += n
            cumulative.append((bound, float(total)))
        return HistogramMetricFamily(name, doc, buckets=cumulative, sum_value=self.sum)


def _le(bound: float) -> str:
    return f"{bound:g}"


class Metrics:
    """One subject's metrics (a prometheus-client collector): see the module's docstring."""

    def __init__(self, subject: Subject) -> None:
        self.subject = subject
        store = subject.store
        self._lock = threading.Lock()
        self._refusals: Counter[str] = Counter()
        self._mismatches: Counter[str] = Counter()
        self._events: dict[str, int] = {}  # the highest count exported per topic: counters never go back
        self._writes = isinstance(store, Store)  # else a viewer's replica: no writer here
        if self._writes:
            self._histograms = {"commit": Folded(store.commit_latency), "write": Folded(store.write_latency)}
        else:
            self._histograms = {"viewer_lag": Folded(store.commit_latency)}
        self._histograms["dispatch"] = Folded(store.bus.dispatch_latency)
        if subject.hub is not None:
            self._histograms["push"] = Folded(subject.hub.push)
        # The quotes conflation folded, by symbol, over every runner this process started.
        self._runner: Any = None
        self._folded_before: Counter[str] = Counter()
        # Rare topics only: the quotes' path (tens of thousands a second) has no subscriber here.
        self._subs = [
            store.bus.subscribe("order.refused", self._on_refused, queued=False, name="metrics-refusals"),
            store.bus.subscribe("reconcile.mismatch", self._on_mismatch, queued=False, name="metrics-mismatches"),
        ]

    def _on_refused(self, ev: Event) -> None:
        self._refusals[refusal_reason(getattr(ev, "reason", ""))] += 1

    def _on_mismatch(self, ev: Event) -> None:
        kind = getattr(ev, "kind", "")
        self._mismatches[kind if kind in MISMATCH_KINDS else "other"] += 1

    def close(self) -> None:
        for sub in self._subs:
            sub.cancel()

    def collect(self) -> Iterator[Metric]:
        with self._lock:  # two scrapes at once would fold the same samples twice
            yield from self._collect()

    def _collect(self) -> Iterator[Metric]:
        s = self.subject
        store = s.store
        mirror = getattr(s, "mirror", None)  # the service starts its mirror after its metrics
        if mirror is not None and "mirror_lag" not in self._histograms:
            self._histograms["mirror_lag"] = Folded(mirror.lag)
        counts = store.bus.rates.counts()
        for topic, n in counts.items():
            self._events[topic] = max(n, self._events.get(topic, 0))
        events = CounterMetricFamily("seamless_events", "Events published, by topic", labels=["topic"])
        for topic, n in sorted(self._events.items()):
            events.add_metric([topic], n)
        yield events

        docs = {
            "commit": ("commit", "Critical commits: commit() called to durable, seconds"),
            "write": ("write", "Journal transactions: one SQLite write and fsync, seconds"),
            "dispatch": ("dispatch", "Bus dispatch of one event to its synchronous subscribers, seconds"),
            "push": ("push", "Critical events: commit stamp to applied in a browser session, server side, seconds"),
            "mirror_lag": ("mirror", "Journal rows: commit to committed in PostgreSQL by the mirror, seconds"),
            "viewer_lag": ("viewer", "Journal rows: commit on the runner's host to applied on this viewer, seconds"),
        }
        for name, folded in self._histograms.items():
            prefix, doc = docs[name]
            yield folded.family(f"seamless_{prefix}_latency_seconds", doc)

        if self._writes:
            yield from self._writer(store)
        else:
            yield from self._replica(store)
        if s.hub is not None:
            yield _gauge("seamless_open_sessions", "Browser sessions the dashboard pushes to", s.hub.sessions)
        yield from self._state(counts)
        yield from self._past_one_process(store)

    def _writer(self, store: Store) -> Iterator[Metric]:
        w = store.health()
        yield _gauge("seamless_journal_lag_events", "Events applied but not yet durable", w.lag_events)
        yield _gauge("seamless_journal_lag_seconds", "How long the oldest event not yet durable has waited", w.lag_s)
        yield _gauge(
            "seamless_last_durable_write_age_seconds",
            "Seconds since a journal write last reached the disk",
            w.last_write_age_s,
        )
        yield _gauge("seamless_snapshot_age_seconds", "Seconds since the last snapshot", w.snapshot_age_s)
        yield _gauge(
            "seamless_store_writable", "1 unless the store is closed or its last write failed", w.error is None
        )
        yield _gauge("seamless_seq", "The last event's sequence number", w.seq)

    def _replica(self, replica: Any) -> Iterator[Metric]:
        yield _gauge("seamless_seq", "The last event's sequence number", replica.seq)
        yield _gauge("seamless_viewer_connected", "1 while this viewer reads the mirror", replica.error is None)
        if replica.last_ts is not None:
            age = max(0.0, time.time() - replica.last_ts)
            yield _gauge(
                "seamless_viewer_newest_row_age_seconds", "Seconds since the newest row applied here was committed", age
            )

    def _state(self, counts: dict[str, int]) -> Iterator[Metric]:
        s = self.subject
        state = s.store.state
        yield _counter(
            "seamless_orders", "Orders sent (journaled intents, order.submitting)", counts, "order.submitting"
        )
        yield _counter("seamless_fills", "Fills journaled (order.filled)", counts, "order.filled")
        open_orders = sum(1 for o in state.orders.by_id.values() if o.is_open)
        yield _gauge("seamless_open_orders", "Orders not yet filled, cancelled or rejected", open_orders)
        refusals = CounterMetricFamily(
            "seamless_order_refusals", "Orders a pre-trade check refused, by reason", labels=["reason"]
        )
        for label in sorted({*self._refusals, *(lbl for _, lbl in REFUSAL_REASONS), "other"}):
            refusals.add_metric([label], self._refusals.get(label, 0))
        yield refusals

        yield _counter("seamless_reconciliation_runs", "Reconciliation runs completed", counts, "reconcile.completed")
        mismatches = CounterMetricFamily(
            "seamless_reconciliation_mismatches", "Mismatches reconciliation found, by kind", labels=["kind"]
        )
        for kind in (*MISMATCH_KINDS, "other"):
            mismatches.add_metric([kind], self._mismatches.get(kind, 0))
        yield mismatches

        trading, runner = state.risk.trading_state, state.runner.status
        yield _states("seamless_trading_state", "1 for the trading state in force", "state", TradingState, trading)
        yield _states("seamless_runner_status", "1 for the runner's status", "status", RunnerStatus, runner)
        yield _gauge("seamless_broker_connected", "1 while the broker is reachable", state.runner.broker_connected)
        yield _gauge(
            "seamless_daily_loss_breached", "1 while a daily-loss breach is active", state.risk.breach is not None
        )
        if state.risk.daily_loss_limit is not None:
            yield _gauge(
                "seamless_daily_loss_limit", "The daily loss limit (account currency)", state.risk.daily_loss_limit
            )
        if state.market.updated_at is not None:
            age = max(0.0, time.time() - state.market.updated_at)
            yield _gauge("seamless_feed_age_seconds", "Seconds since the last quote was journaled", age)
        a = state.account
        yield _gauge("seamless_equity", "Cash plus positions at their marks (account currency)", a.equity)
        yield _gauge("seamless_cash", "Cash balance (account currency)", a.cash)
        yield _gauge(
            "seamless_daily_pnl",
            "Profit and loss since the trading day started, realized and unrealized (account currency)",
            a.daily_realized_pnl + a.daily_unrealized_pnl,
        )
        positions = sum(1 for p in state.positions.by_symbol.values() if p.qty)
        yield _gauge("seamless_positions", "Symbols with an open position", positions)
        notifier = getattr(s, "notifier", None)  # the Service's, or seamless run's Target's
        if notifier is not None:
            n = notifier.stats()
            sent = CounterMetricFamily(
                "seamless_notifications",
                "Notifications by outcome (sent, failed after retries, coalesced)",
                labels=["outcome"],
            )
            for outcome in ("sent", "failed", "coalesced"):
                sent.add_metric([outcome], n[outcome])
            yield sent
            yield CounterMetricFamily(
                "seamless_notification_retries", "Notification attempts retried", value=n["retried"]
            )
            yield _gauge("seamless_notifications_pending", "Notifications waiting to be sent", n["pending"])

    def _past_one_process(self, store: Any) -> Iterator[Metric]:
        s = self.subject
        m = getattr(s, "mirror", None)
        if m is not None:
            yield CounterMetricFamily("seamless_mirror_rows", "Journal rows copied to PostgreSQL", value=m.rows)
            yield CounterMetricFamily(
                "seamless_mirror_batches",
                "Batches copied to PostgreSQL (one transaction and NOTIFY each)",
                value=m.batches,
            )
            yield CounterMetricFamily(
                "seamless_mirror_reconnects", "Times the mirror lost PostgreSQL", value=m.reconnects
            )
            yield _gauge("seamless_mirror_connected", "1 while the mirror reaches PostgreSQL", m.error is None)
            yield _gauge(
                "seamless_mirror_behind_events", "Journal rows not yet in PostgreSQL", max(0, store.seq - m.seq)
            )
        commands = getattr(s, "commands", None)  # the runner's host taking the viewers' commands
        if commands is not None:
            applied = CounterMetricFamily(
                "seamless_viewer_commands_applied", "Viewers' commands taken here, by outcome", labels=["status"]
            )
            for status in commands.STATUSES:
                applied.add_metric([status], commands.taken.get(status, 0))
            yield applied
        relayed = getattr(s, "relayed", None)  # a viewer's commands, by what became of them
        if relayed is not None:
            family = CounterMetricFamily(
                "seamless_viewer_commands",
                "Commands pressed on this viewer, by outcome (refused_here: not relayed, the user may not)",
                labels=["outcome"],
            )
            for outcome in getattr(s, "OUTCOMES", ()):
                family.add_metric([outcome], relayed.get(outcome, 0))
            yield family
        runner = s.runner
        if runner is not None:
            if runner is not self._runner:  # a new runner counts from 0: what the last one folded stays
                if self._runner is not None:
                    self._folded_before += Counter(dict(self._runner.conflated))
                self._runner = runner
            folded = self._folded_before + Counter(dict(runner.conflated))  # one copy, under the GIL
            family = CounterMetricFamily(
                "seamless_quotes_conflated",
                "Quotes folded into a newer one of their symbol by conflation (SEAMLESS_CONFLATE), by symbol",
                labels=["symbol"],
            )
            for symbol in sorted({*s.config.symbols, *folded}):
                family.add_metric([symbol], folded.get(symbol, 0))
            yield family


def _gauge(name: str, doc: str, value: float | bool) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=float(value))


def _counter(name: str, doc: str, counts: dict[str, int], topic: str) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=counts.get(topic, 0))


def _states(name: str, doc: str, label: str, kinds: type[TradingState] | type[RunnerStatus], now: str) -> Metric:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for k in kinds:
        family.add_metric([k.value], 1.0 if k == now else 0.0)
    return family


class Exposition:
    """The collector ``/metrics`` serves: readiness, then the subject's metrics if it started."""

    def __init__(self, source: Callable[[], Source]) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        src = self.source()
        report: Readiness = readiness(src)
        yield _gauge("seamless_ready", "1 when every readiness check is ok (/readyz answers 200)", report.ready)
        checks = GaugeMetricFamily("seamless_check_ok", "1 for each readiness check that is ok", labels=["check"])
        for r in report.results:
            checks.add_metric([r.check], 1.0 if r.ok else 0.0)
        yield checks
        disk = next((r for r in report.results if r.check == "disk"), None)
        if disk is not None and disk.value is not None:
            yield _gauge("seamless_disk_free_bytes", "Free disk space in the store's folder, bytes", disk.value)
        yield _gauge("seamless_sse_clients", "Clients following /events", STREAMS.clients())
        yield CounterMetricFamily("seamless_sse_events_sent", "Events written to /events clients", value=STREAMS.sent)
        dropped = CounterMetricFamily("seamless_sse_dropped", "/events clients dropped, by reason", labels=["reason"])
        for reason in DROP_REASONS:
            dropped.add_metric([reason], STREAMS.dropped.get(reason, 0))
        yield dropped
        refused = CounterMetricFamily("seamless_sse_refused", "/events requests refused, by reason", labels=["reason"])
        for reason in REFUSE_REASONS:
            refused.add_metric([reason], STREAMS.refused.get(reason, 0))
        yield refused
        if src.metrics is not None:
            yield from src.metrics.collect()


def registry(source: Callable[[], Source]) -> CollectorRegistry:
    """A registry of Seamless's collector and the process's own (CPU, memory, files, Python)."""
    reg = CollectorRegistry()
    reg.register(Exposition(source))
    reg.register(ProcessCollector(registry=None))
    reg.register(PlatformCollector(registry=None))
    return reg


__all__ = ["BUCKETS", "Exposition", "Folded", "Metrics", "REFUSAL_REASONS", "refusal_reason", "registry"]
