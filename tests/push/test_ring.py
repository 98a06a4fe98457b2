"""The events ring every session's Events view reads from, and the writer's fast path around it."""

from __future__ import annotations

import contextlib
import queue
import threading

import pytest

from seamless.events.catalog import QuoteReceived
from seamless.push.hub import Hub
from seamless.push.ring import EventRing
from seamless.push.session import SessionFeed

from .test_push import FakeDoc, FakeView, halted, quote


def test_a_ring_returns_what_came_since_a_position_and_where_to_go_on(store):
    ring = EventRing(4)
    events = [store.commit(quote(i)) for i in range(3)]
    for ev in events:
        ring.append(ev)
    assert ring.since(0) == (events, 3)
    assert ring.since(2) == (events[2:], 3)
    assert ring.since(3) == ([], 3)


def test_a_reader_left_behind_gets_the_last_size_events_in_order(store):
    ring = EventRing(4)
    events = [store.commit(quote(i)) for i in range(11)]  # wraps twice, ends mid-buffer
    for ev in events:
        ring.append(ev)
    got, pos = ring.since(2)
    assert got == events[-4:] and pos == 11
    assert [e.seq for e in got] == sorted(e.seq for e in got)


def test_a_ring_holds_at_least_one_event():
    with pytest.raises(ValueError, match="at least one event"):
        EventRing(0)


def test_sessions_share_the_hubs_ring_and_each_reads_from_where_it_joined(store):
    hub = Hub(store, ring_size=100)
    docs = [FakeDoc(), FakeDoc()]
    tails = [FakeView("tail0", ["*"], wants_events=True), FakeView("tail1", ["market.*"], wants_events=True)]
    first = SessionFeed(docs[0], [tails[0]])
    hub.attach(first)
    try:
        early = store.commit(quote(1))
        second = SessionFeed(docs[1], [tails[1]])
        hub.attach(second)
        later = [store.commit(halted("a")), store.commit(quote(2))]
        for d in docs:
            d.run_ticks()
        assert tails[0].refreshes == [[early, *later]]
        # the second joined after the first quote and shows only market events
        assert tails[1].refreshes == [[later[1]]]
    finally:
        hub.close()


class LoopDoc:
    """A session document whose callbacks run on a thread of their own, like the server's loop."""

    def __init__(self) -> None:
        self.calls: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (fn := self.calls.get()) is not None:
            fn()

    def add_next_tick_callback(self, fn, urgent=False):
        self.calls.put(fn)

    def add_timeout_callback(self, fn, ms):
        self.calls.put(fn)  # at once: as many flushes as possible race the writer

    def batch(self):
        return contextlib.nullcontext()

    def drain(self) -> None:
        done = threading.Event()
        self.calls.put(done.set)
        assert done.wait(10), "the loop thread is stuck"

    def stop(self) -> None:
        self.calls.put(None)
        self.thread.join(10)


def test_views_racing_the_writer_end_up_showing_every_event_once_and_the_last_state(store):
    """The writer notes most quotes without the feed's lock; however the loop's flushes fall
    between them, each view ends at the last state and the Events view gets each event once."""
    hub = Hub(store, ring_size=100_000)
    doc = LoopDoc()
    price = FakeView("price", ["market.*"], read=lambda: store.state.market.quotes["AAPL"].last)
    tail = FakeView("tail", ["*"], wants_events=True)
    feed = SessionFeed(doc, [price, tail], max_rate=1e6, burst_interval_s=0.0)
    hub.attach(feed)
    try:
        committed = []
        for batch in range(40):  # each batch ends with a check: the last quote must show
            for i in range(batch * 100, batch * 100 + 100):
                ev = halted(str(i)) if i % 50 == 0 else QuoteReceived(symbol="AAPL", last=100.0 + i)
                committed.append(store.commit(ev))
            doc.drain()
            feed.tick()  # a flush after the last event, whatever was pending
            doc.drain()
            doc.drain()
            assert price.seen[-1] == 100.0 + i, f"batch {batch}: the view missed the last quote"
        got = [ev for r in tail.refreshes for ev in r]
        assert [e.seq for e in got] == [e.seq for e in committed]
        assert len(price.refreshes) > 40  # the flushes did race the writer
    finally:
        doc.stop()
        hub.close()
