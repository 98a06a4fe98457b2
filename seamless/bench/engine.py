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
from ..feeds import SimFeed
from . import print_figures

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
        on_tick = runner.on_tick

        def timed_tick(tick) -> None:
            started[0] = time.perf_counter()
            on_tick(tick)

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
        t0 = time.perf_counter()
        runner.run(max_ticks=ticks)
        elapsed = time.perf_counter() - t0
        store.flush()
        out = {
            "broker": broker_name,
            "ticks_per_s": round(runner.ticks / elapsed, 1),
            "ticks": runner.ticks,
            "orders": len(latencies),
            "symbols": len(SYMBOLS),
        }
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


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1e3, 3)


def main(as_json: bool = False, scale: float = 1.0, directory: str | None = None, broker: str = "paper") -> int:
    ticks = max(2_000, int(100_000 * scale))
    paper = run(ticks=ticks, directory=directory)
    if broker == "paper":
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
