"""The dashboard's demo (the default configuration) behaves like trading: ma_cross on
one-minute bars trades a handful of times per simulated hour, never over its order budget."""

from __future__ import annotations

from seamless import wiring
from seamless.analysis import events_frame
from seamless.config import Config
from seamless.engine.runner import Runner

HOURS = 2


def test_the_demo_trades_a_few_times_an_hour_and_is_never_refused(tmp_path, open_account):
    acct = open_account()
    config = Config(db=str(acct.db), speed=60)  # the defaults otherwise: ma_cross on 60 s bars
    feed = wiring.make_feed(config)
    assert feed.tick_interval_s == 0.6, "sped up, each tick is a longer step: ~100 ticks a second still"
    strategies = wiring.make_strategies(config.strategies, feed.symbols, config.bar_seconds)
    runner = Runner(acct.store, acct.broker, feed, strategies, speed=0)
    hours = HOURS * 3600 / feed.tick_interval_s  # ticks of HOURS simulated hours
    runner.run(max_ticks=int(hours))
    acct.store.flush()
    journal = events_frame(acct.db)
    signals = journal[journal.topic == "signal.emitted"]
    fills = journal[journal.topic == "order.filled"]
    refused = journal[journal.topic == "order.refused"]
    per_symbol_hour = len(signals) / len(feed.symbols) / HOURS
    print(f"{len(signals)} signals, {len(fills)} fills, {len(refused)} refusals in {HOURS} simulated hours")
    assert 1 <= per_symbol_hour <= 8, f"{per_symbol_hour:.1f} signals per symbol per simulated hour"
    assert len(fills) >= len(feed.symbols), "it trades"
    assert refused.empty, f"never over its order budget: {refused.tail()}"
    assert signals["reason"].str.contains("of 1-min bars").all()
