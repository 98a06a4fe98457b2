"""``seamless bench engine``: ticks per second through the runner, and tick -> order-intent latency.

The runner runs flat out (speed 0) on a seeded simulated feed of 10 symbols with the default
strategy, against a paper broker, every change through a real store on this disk.  Latency
is from the start of a tick's handling to the moment its order intent is durable and
published (``order.submitting`` reaches a subscriber).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from .. import wiring
from ..brokers import PaperBroker
from ..config import Config
from ..feeds import SimFeed
from . import print_figures

SYMBOLS = tuple(f"S{i:02d}" for i in range(10))


def run(
    ticks: int = 100_000, directory: str | None = None, volatility: float = 0.5, tick_interval_s: float = 0.05
) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="seamless-bench-engine-", dir=directory))
    try:
        # ma_cross on every tick (bar_seconds=0): the per-tick path with its orders, as measured before
        config = Config(db=str(work / "engine.db"), symbols=list(SYMBOLS), speed=0, reconcile=False, bar_seconds=0)
        store = wiring.open_store(config)
        broker = PaperBroker(config.broker_path, starting_cash=1_000_000.0)
        runner = wiring.make_runner(
            config,
            store,
            broker,
            SimFeed(symbols=SYMBOLS, seed=1, volatility=volatility, tick_interval_s=tick_interval_s),
        )
        latencies: list[float] = []
        started = [0.0]
        on_tick = runner.on_tick

        def timed_tick(tick) -> None:
            started[0] = time.perf_counter()
            on_tick(tick)

        runner.on_tick = timed_tick  # type: ignore[method-assign]
        store.bus.subscribe(
            "order.submitting", lambda ev: latencies.append(time.perf_counter() - started[0]), queued=False
        )
        t0 = time.perf_counter()
        runner.run(max_ticks=ticks)
        elapsed = time.perf_counter() - t0
        store.flush()
        out = {
            "ticks_per_s": round(runner.ticks / elapsed, 1),
            "ticks": runner.ticks,
            "orders": len(latencies),
            "symbols": len(SYMBOLS),
        }
        broker.close()
        store.close(snapshot=False)
        latencies.sort()
        if latencies:
            out["tick_to_order_p50_ms"] = round(latencies[len(latencies) // 2] * 1e3, 3)
            out["tick_to_order_p99_ms"] = round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1e3, 3)
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(as_json: bool = False, scale: float = 1.0, directory: str | None = None) -> int:
    return print_figures(run(ticks=max(2_000, int(100_000 * scale)), directory=directory), as_json)
