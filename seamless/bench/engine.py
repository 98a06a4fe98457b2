"""``seamless bench engine``: ticks per second through the runner, and tick -> order latencies.

The runner runs flat out (speed 0) on a seeded simulated feed of 10 symbols with the default
strategy, against a paper broker, every change through a real store on this disk. Latencies
are from the start of a tick's handling to the moment its order intent is durable and
published (``order.submitting`` reaches a subscriber), and to the moment the broker's first
answer on it is (``order.accepted``, or its fill or rejection when that comes first): the
order acknowledged.

``--broker alpaca`` runs the same against ``AlpacaBroker`` and a loopback Alpaca on this
machine (HTTP and websockets over loopback, the venue's own SQLite file), after the paper
broker's run, the floor, in the same process: the figures side by side, and their ratio.

The ceiling (paper broker): what the run would reach if each of its durable transactions (the
store's and the venue's, counted over the run) cost only an ``fdatasync`` of the floor measured
on the same disk in the same run (:class:`seamless.bench.store.FsyncFloor`, a slice before and
one after), and each tick only the median quiet tick's Python: ``ticks_per_s`` is reported
beside it as ``ceiling_ratio``.

The burst: 50,000 quotes of the same 10 symbols put at once into a :class:`QueueFeed` before
the runner starts, the time from the runner's RUNNING to the strategy having seen the last
one, every one before it applied (conflation off) or applied or folded into a newer quote of
its symbol (conflation on: counted and journaled), each beside the same run of the runner on
the same ticks handed one by one (the runner's per-tick floor).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from .. import wiring
from ..brokers import Broker, PaperBroker
from ..config import Config
from ..events import QuotesConflated, RunnerStatusChanged
from ..feeds import QueueFeed, SimFeed
from ..feeds.base import Tick
from . import print_figures
from .store import FsyncFloor

SYMBOLS = tuple(f"S{i:02d}" for i in range(10))


def run(
    ticks: int = 100_000,
    directory: str | None = None,
    volatility: float = 0.5,
    tick_interval_s: float = 0.05,
    broker_name: str = "paper",
) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="seamless-bench-engine-", dir=directory))
    fake = None
    try:
        # No loss limit: the loopback fills at its own prices, not the simulated ones, and a
        # breach would stop the orders being measured.
        config = Config(
            db=str(work / "engine.db"),
            symbols=list(SYMBOLS),
            speed=0,
            reconcile=False,
            daily_loss_limit=1e12,
            bar_seconds=0,  # ma_cross on every tick: the per-tick path with its orders
        )
        store = wiring.open_store(config)
        broker: Broker
        if broker_name == "alpaca":
            from ..brokers.alpaca import AlpacaBroker, AlpacaEndpoints
            from ..fakes.alpaca import FakeAlpaca

            fake = FakeAlpaca(
                work / "alpaca.db", step_s=0, cash=1_000_000.0, prices={s: 100.0 for s in SYMBOLS}
            ).start()
            broker = AlpacaBroker(fake.key_id, fake.secret_key, AlpacaEndpoints.of(paper=True, loopback=fake.url))
        else:
            broker = PaperBroker(config.broker_path, starting_cash=1_000_000.0)
        runner = wiring.make_runner(
            config,
            store,
            broker,
            SimFeed(symbols=SYMBOLS, seed=1, volatility=volatility, tick_interval_s=tick_interval_s),
        )
        latencies: list[float] = []
        acks: list[float] = []
        started = [0.0]
        quiet: list[float] = []  # on_tick's time for ticks that sent no order
        on_tick = runner.on_tick

        def timed_tick(tick) -> None:
            orders = len(latencies)
            started[0] = t0 = time.perf_counter()
            on_tick(tick)
            if len(latencies) == orders:
                quiet.append(time.perf_counter() - t0)

        runner.on_tick = timed_tick  # type: ignore[method-assign]
        store.bus.subscribe(
            "order.submitting", lambda ev: latencies.append(time.perf_counter() - started[0]), queued=False
        )
        answered: set[str] = set()

        def on_answer(ev) -> None:  # the broker's first word on an order: accepted, filled or rejected
            coid = getattr(ev, "client_order_id", "")
            if coid and coid not in answered and ev.topic in ("order.accepted", "order.filled", "order.rejected"):
                answered.add(coid)
                acks.append(time.perf_counter() - started[0])

        store.bus.subscribe("order.*", on_answer, queued=False)
        refused = [0]
        store.bus.subscribe("order.refused", lambda ev: refused.__setitem__(0, refused[0] + 1), queued=False)
        paper = broker if isinstance(broker, PaperBroker) else None
        floor = fsync_floor(work) if paper is not None else 0.0
        store_tx, broker_tx = store.counters["transactions"], paper.durable_writes if paper is not None else 0
        t0 = time.perf_counter()
        runner.run(max_ticks=ticks)
        elapsed = time.perf_counter() - t0
        store_tx = store.counters["transactions"] - store_tx
        store.flush()
        quiet_s = sorted(quiet)[len(quiet) // 2] if quiet else None
        out: dict[str, Any] = {
            "broker": broker_name,
            "ticks_per_s": round(runner.ticks / elapsed, 1),
            "ticks": runner.ticks,
            "orders": len(latencies),
            "symbols": len(SYMBOLS),
            # a tick with no order: its quote committed (made, planned, applied, published),
            # risk's day and loss checks, the monitors and the strategy
            "quiet_tick_us_p50": round(quiet_s * 1e6, 1) if quiet_s is not None else None,
            "refused": refused[0],
            # durable transactions over the run: the store's (intents, fills, refusals, and the
            # background writer's batches of quotes) and, below, the venue's own
            "store_transactions": store_tx,
        }
        if paper is not None and quiet_s is not None:
            broker_tx = paper.durable_writes - broker_tx
            floor = (floor + fsync_floor(work)) / 2
            durable = store_tx + broker_tx
            ceiling = runner.ticks / (runner.ticks * quiet_s + durable / floor)
            out.update(
                broker_transactions=broker_tx,
                transactions_per_order=round(durable / len(latencies), 2) if latencies else None,
                fsync_per_s=round(floor, 1),
                ceiling_ticks_per_s=round(ceiling, 1),
                ceiling_ratio=round(runner.ticks / elapsed / ceiling, 3),
            )
        broker.close()
        store.close(snapshot=False)
        for name, values in (("tick_to_order", latencies), ("tick_to_ack", acks)):
            if values:
                out[f"{name}_p50_ms"] = _quantile(values, 0.5)
                out[f"{name}_p99_ms"] = _quantile(values, 0.99)
        return out
    finally:
        if fake is not None:
            fake.stop()
        shutil.rmtree(work, ignore_errors=True)


def fsync_floor(directory: Path, slice_s: float = 0.25) -> float:
    """``fdatasync``s per second of the floor on ``directory``'s disk, over one slice."""
    floor = FsyncFloor(directory)
    try:
        k, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < slice_s:
            floor.commit()
            k += 1
        return k / (time.perf_counter() - t0)
    finally:
        floor.close()


def burst(n: int = 50_000, directory: str | None = None, conflate: bool = False) -> dict[str, Any]:
    """``n`` quotes waiting at once: seconds from RUNNING until the strategy has seen the last."""
    work = Path(tempfile.mkdtemp(prefix="seamless-bench-burst-", dir=directory))
    try:
        config = Config(
            db=str(work / "burst.db"),
            symbols=list(SYMBOLS),
            speed=0,
            reconcile=False,
            daily_loss_limit=1e12,
            conflate=conflate,
        )
        store = wiring.open_store(config)
        broker = PaperBroker(config.broker_path, starting_cash=1_000_000.0)
        feed = QueueFeed(SYMBOLS, beat_s=0.05)
        sim = SimFeed(symbols=SYMBOLS, seed=2, volatility=0.5, tick_interval_s=0.001)
        last: list[Tick] = []
        for tick in sim.ticks():
            if tick is None:
                continue
            feed.put(tick)
            last.append(tick)
            if len(last) == n:
                break
        runner = wiring.make_runner(config, store, broker, feed)
        began, ended = [0.0], [0.0]
        final = last[-1]
        strategy = runner.strategies[0]
        seen = strategy.on_tick

        def watch(tick, qty, equity):
            if tick is final:
                ended[0] = time.perf_counter()
                runner.stop()
            return seen(tick, qty, equity)

        strategy.on_tick = watch  # type: ignore[method-assign]

        def on_status(ev: RunnerStatusChanged) -> None:
            if ev.status == "RUNNING":
                began[0] = time.perf_counter()

        store.bus.subscribe("runner.status", on_status, queued=False)
        runner.run()
        out = {
            "s": round(ended[0] - began[0], 3),
            "applied": runner.ticks,
            "folded": sum(runner.conflated.values()),
            "journaled_folded": sum(
                sum(e.counts.values())
                for e in store.tail(10_000, topics=["market.conflated"])
                if isinstance(e, QuotesConflated)
            ),
        }
        broker.close()
        store.close(snapshot=False)
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1e3, 3)


def main(as_json: bool = False, scale: float = 1.0, directory: str | None = None, broker: str = "paper") -> int:
    ticks = max(2_000, int(100_000 * scale))
    paper = run(ticks=ticks, directory=directory)
    if broker == "paper":
        n = max(2_000, int(50_000 * scale))
        for conflate in (False, True):
            b = burst(n, directory, conflate)
            name = "burst_conflated" if conflate else "burst"
            paper[f"{name}_s"] = b["s"]
            paper[f"{name}_quotes_per_s"] = round(n / b["s"], 1) if b["s"] > 0 else None
            paper[f"{name}_applied"] = b["applied"]
            paper[f"{name}_folded"] = b["folded"]
            paper[f"{name}_folded_journaled"] = b["journaled_folded"]
        paper["burst_quotes"] = n
        return print_figures(paper, as_json)
    other = run(ticks=ticks, directory=directory, broker_name=broker)
    figures: dict[str, Any] = {f"paper_{k}": v for k, v in paper.items() if k != "broker"}
    figures.update({f"{broker}_{k}": v for k, v in other.items() if k != "broker"})
    for name in ("tick_to_ack_p50_ms", "tick_to_ack_p99_ms"):
        if paper.get(name) and other.get(name):
            figures[f"{broker}_over_paper_{name.removeprefix('tick_to_ack_').removesuffix('_ms')}"] = round(
                other[name] / paper[name], 1
            )
    return print_figures(figures, as_json)
