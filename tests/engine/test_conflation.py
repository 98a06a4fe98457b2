"""Conflation in the runner: off by default; on, each quote is applied or counted and journaled."""

from __future__ import annotations

import itertools
import json
import math
import sqlite3
from collections import Counter

from seamless.config import Config
from seamless.engine.runner import Runner
from seamless.events import QuotesConflated
from seamless.feeds import QueueFeed, SimFeed, Tick
from seamless.replay import replay

SYMBOLS = ("AAPL", "MSFT", "GOOG", "IBM")


def burst(n: int, bad: bool = False) -> tuple[QueueFeed, list[Tick]]:
    """``n`` simulated quotes waiting at once (with ``bad`` ticks among them)."""
    feed = QueueFeed(SYMBOLS, beat_s=0.05)
    ticks = list(itertools.islice(SimFeed(symbols=SYMBOLS, seed=3, volatility=3.0).ticks(), n))
    if bad:  # bad ticks in the middle of the burst: counted as bad, never folded
        ticks[n // 2 : n // 2] = [
            Tick("AAPL", math.nan, None, None, ticks[n // 2].exchange_ts + 1e-6),
            Tick("MSFT", 10.0, None, None, ticks[n // 2].exchange_ts + 2e-6, "impossible_bar"),
        ]
    for t in ticks:
        feed.put(t)
    return feed, ticks


def journal(db) -> list[tuple[str, str, int]]:
    with sqlite3.connect(db) as c:
        return c.execute("SELECT topic, payload, seq FROM journal ORDER BY seq").fetchall()


def test_conflation_is_off_by_default(open_account):
    assert Config().conflate is False
    acct = open_account()
    feed, ticks = burst(2_000)
    runner = acct.runner(feed)
    assert runner.conflate is False
    runner.run(max_ticks=len(ticks))
    acct.close()
    rows = journal(acct.db)
    assert sum(1 for topic, _, _ in rows if topic == "market.quote") == runner.ticks == len(ticks)
    assert not any(topic == "market.conflated" for topic, _, _ in rows)
    assert not runner.conflated


def test_on_every_quote_is_applied_or_counted_and_journaled(open_account):
    acct = open_account()
    feed, ticks = burst(5_000, bad=True)
    published: list = []
    acct.store.bus.subscribe("*", published.append, queued=False)
    runner = acct.runner(feed, conflate=True)
    runner.run(max_ticks=len(ticks))
    state = acct.store.values()[0]
    acct.close()

    folded = sum(runner.conflated.values())
    assert folded > 4_000  # the burst waited behind its first tick: nearly all of it folded
    assert runner.rejected == {"nan": 1, "impossible_bar": 1}  # bad ticks reach the filter, never folded
    assert runner.ticks + folded + 2 == len(ticks)  # every tick applied, folded or refused
    rows = journal(acct.db)
    reports = [QuotesConflated(**json.loads(p)) for topic, p, _ in rows if topic == "market.conflated"]
    journaled: Counter[str] = Counter()
    for r in reports:
        journaled.update(r.counts)
    assert journaled == runner.conflated  # every folded quote journaled, by symbol
    # The newest quote of each symbol is the one applied.
    newest = {t.symbol: t for t in ticks if not math.isnan(t.last) and t.fault is None}
    assert {s: q.last for s, q in state["market"]["quotes"].items()} == {s: t.last for s, t in newest.items()}
    # Critical events are never conflated: each published one is in the journal, in order.
    critical = [e.seq for e in published if e.critical]
    durable = {seq for topic, _, seq in rows}
    assert critical and set(critical) <= durable
    assert sum(1 for e in published if e.topic == "order.submitting") == sum(
        1 for topic, _, _ in rows if topic == "order.submitting"
    )
    # And the journal replays to the state the runner left.
    assert replay(acct.db).values["market"] == state["market"]


def test_folded_quotes_are_journaled_once_a_second_while_running(open_account):
    clock = [0.0]
    acct = open_account()
    feed = QueueFeed(SYMBOLS, beat_s=0.01)
    sim = list(itertools.islice(SimFeed(symbols=SYMBOLS, seed=4).ticks(), 400))
    for t in sim[:200]:
        feed.put(t)
    runner: Runner = acct.runner(feed, conflate=True, clock=lambda: clock[0])
    reports: list[QuotesConflated] = []
    acct.store.bus.subscribe("market.conflated", reports.append, queued=False)

    def second_burst(tick, qty, equity, seen=runner.strategies[0].on_tick):
        if tick is sim[199]:  # the first burst is through: a second passes, another burst comes
            clock[0] += 1.5
            for t in sim[200:]:
                feed.put(t)
            feed.close()
        return seen(tick, qty, equity)

    runner.strategies[0].on_tick = second_burst  # type: ignore[method-assign]
    runner.run()
    assert len(reports) == 2  # one while running (a second had passed), one at the stop
    assert reports[0].interval_s >= 1.0
    assert sum(sum(r.counts.values()) for r in reports) == sum(runner.conflated.values()) > 300
