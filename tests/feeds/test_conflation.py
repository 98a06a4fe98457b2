"""Conflation: what may be folded into a newer quote, and the queue a live feed fills."""

from __future__ import annotations

import math

from seamless.feeds import QueueFeed, Tick, conflate


def tick(symbol: str, last: float, ts: float, fault: str | None = None) -> Tick:
    return Tick(symbol, last, None, None, ts, fault)


def test_each_symbol_keeps_its_newest_quote_in_arrival_order_and_the_rest_is_counted():
    ticks = [tick("A", 1, 1), tick("B", 2, 2), tick("A", 3, 3), tick("C", 4, 4), tick("A", 5, 5), tick("B", 6, 6)]
    kept, folded = conflate(ticks)
    assert kept == [tick("C", 4, 4), tick("A", 5, 5), tick("B", 6, 6)]
    assert folded == {"A": 2, "B": 1}
    assert len(kept) + sum(folded.values()) == len(ticks)


def test_bad_ticks_are_never_folded_nor_fold_a_good_one():
    ticks = [
        tick("A", 1, 1),
        tick("A", math.nan, 2),  # the engine counts it as nan: it must reach the engine
        tick("A", -1, 3),
        tick("A", 2, 4, fault="impossible_bar"),
        tick("A", 3, math.inf),
    ]
    kept, folded = conflate(ticks)
    assert kept == ticks  # the good quote has no good quote after it: kept, its price applied
    assert not folded


def test_an_out_of_order_quote_does_not_fold_the_newer_one_before_it():
    ticks = [tick("A", 1, 1), tick("A", 2, 5), tick("A", 3, 4)]  # the last goes back in time
    kept, folded = conflate(ticks)
    assert kept == [tick("A", 2, 5), tick("A", 3, 4)]  # the engine refuses the last as out of order
    assert folded == {"A": 1}


def test_a_queue_feed_hands_what_waits_to_ready_and_ends_once_closed():
    feed = QueueFeed(["A", "B"], beat_s=0.01)
    for i in range(5):
        feed.put(tick("A", 1 + i, i))
    it = feed.ticks()
    assert next(it) == tick("A", 1, 0)
    assert feed.ready() == [tick("A", 1 + i, i) for i in range(1, 5)]
    assert feed.ready() == []
    assert next(it) is None  # nothing came for a beat
    feed.put(tick("B", 9, 9))
    feed.close()
    assert feed.ready() == [tick("B", 9, 9)]
    assert list(it) == []  # drained and closed: the iterator ends
