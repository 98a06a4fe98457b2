"""The push: SessionFeed (coalesce, throttle, critical bypass, alerts, isolation of failing
views, events for wants_events views) and Hub (fan-out to sessions, dropping broken ones,
detach, close, stats, tick).

The Bokeh document is a fake that records the callbacks it is given; the test runs them
itself, so nothing waits on a loop. SessionFeed's monotonic clock is replaced by a settable
one (only inside seamless.push.session), so the throttle is decided by the test, not by
how fast the machine is."""

from __future__ import annotations

import contextlib
import threading
import time as _time
import types

import pytest

import seamless.push.session as session_mod
from seamless.events.catalog import OrderRefused, QuoteReceived, TradingStateChanged
from seamless.push.hub import Hub
from seamless.push.session import SessionFeed


class FakeDoc:
    """Records add_next_tick_callback / add_timeout_callback calls without running them."""

    def __init__(self) -> None:
        self.ticks: list = []
        self.urgency: list[tuple] = []  # (callback, urgent) as scheduled, never cleared
        self.timeouts: list[tuple] = []

    def add_next_tick_callback(self, fn, urgent=False):
        self.ticks.append(fn)
        self.urgency.append((fn, urgent))

    def add_timeout_callback(self, fn, ms):
        self.timeouts.append((fn, ms))

    def batch(self):
        return contextlib.nullcontext()

    def run_ticks(self) -> int:
        """Run (and forget) the pending next-tick callbacks; how many ran."""
        pending, self.ticks = self.ticks, []
        for fn in pending:
            fn()
        return len(pending)

    def run_timeouts(self) -> int:
        pending, self.timeouts = self.timeouts, []
        for fn, _ms in pending:
            fn()
        return len(pending)


class BrokenDoc(FakeDoc):
    """A session whose document is gone: scheduling raises."""

    def add_next_tick_callback(self, fn, urgent=False):
        raise RuntimeError("session destroyed")


class FakeView:
    """Records refresh and show_age calls; ``read`` (if given) reads the state at refresh."""

    def __init__(self, name, topics, *, wants_events=False, read=None, fail=False) -> None:
        self.name = name
        self.topics = tuple(topics)
        self.wants_events = wants_events
        self.read = read
        self.fail = fail
        self.refreshes: list[list] = []  # the events passed to each refresh
        self.seen: list = []  # what ``read`` returned at each refresh
        self.ages: list[float] = []

    def refresh(self, events):
        self.refreshes.append(list(events))
        if self.fail:
            raise RuntimeError(f"{self.name} is broken")
        if self.read is not None:
            self.seen.append(self.read())

    def show_age(self, now):
        self.ages.append(now)

    def reset(self):
        self.refreshes.clear()
        self.seen.clear()
        self.ages.clear()

    def __repr__(self):
        return f"FakeView({self.name})"


class Clock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    fake_time = types.SimpleNamespace(monotonic=c, time=_time.time, perf_counter=_time.perf_counter)
    monkeypatch.setattr(session_mod, "time", fake_time)
    return c


def last_aapl(store):
    return lambda: store.state.market.quotes["AAPL"].last


def quote(i: int, symbol: str = "AAPL") -> QuoteReceived:
    return QuoteReceived(symbol=symbol, last=100.0 + i, exchange_ts=1_700_000_000.0 + i)


def halted(reason: str = "x") -> TradingStateChanged:
    return TradingStateChanged(state="HALTED", reason=reason, by="t")


def filled_feed(doc, views, clock, **kwargs) -> SessionFeed:
    """A feed past its first fill (which refreshes every view), with records cleared."""
    feed = SessionFeed(doc, views, **kwargs)
    feed.flush_now()
    for v in views:
        assert len(v.refreshes) == 1, f"{v} was not filled by the first flush"
        v.reset()
    assert doc.ticks == [] and doc.timeouts == []
    return feed


def offer_all(feed, events):
    for ev in events:
        feed.offer(ev)


# -- SessionFeed -------------------------------------------------------------------------------


def test_first_flush_fills_every_view(store, clock):
    doc = FakeDoc()
    quotes = FakeView("quotes", ["market.*"])
    risk = FakeView("risk", ["risk.*"])
    feed = SessionFeed(doc, [quotes, risk])
    feed.offer(store.commit(quote(1)))
    assert len(doc.ticks) == 1
    doc.run_ticks()
    assert len(quotes.refreshes) == 1 and len(risk.refreshes) == 1  # first fill: every view
    assert doc.ticks == [] and doc.timeouts == []  # one flush did it all: nothing else queued


def test_many_quotes_coalesce_into_one_tick_and_one_refresh_with_the_latest_value(store, clock):
    doc = FakeDoc()
    quotes = FakeView("quotes", ["market.*"], read=last_aapl(store))
    risk = FakeView("risk", ["risk.*"])
    store.commit(quote(0))
    feed = filled_feed(doc, [quotes, risk], clock)
    hub = Hub(store)
    hub.attach(feed)
    try:
        clock.t += 1.0  # well past the throttle interval
        committed = [store.commit(quote(i)) for i in range(1, 101)]
        assert len(doc.ticks) == 1, "100 quotes must schedule exactly one next-tick callback"
        assert doc.timeouts == []
        assert quotes.refreshes == [] and risk.refreshes == []  # nothing applied off the loop
        assert doc.run_ticks() == 1
        assert len(quotes.refreshes) == 1
        assert quotes.seen == [committed[-1].last] == [200.0]  # latest value wins
        assert risk.refreshes == []  # its topics do not match market.quote
        # ages move with the heartbeat (tick), not with each content flush: they stay cheap
        assert quotes.ages == [] and risk.ages == []
        assert doc.ticks == [] and doc.timeouts == []  # nothing left over
    finally:
        hub.close()


def test_non_critical_event_within_the_interval_waits_for_a_timer(store, clock):
    doc = FakeDoc()
    quotes = FakeView("quotes", ["market.*"], read=last_aapl(store))
    max_rate = 10.0
    store.commit(quote(0))
    feed = filled_feed(doc, [quotes], clock, max_rate=max_rate)
    flushed_at = clock.t
    clock.t += 0.03  # within 1/max_rate = 0.1 s of the last refresh
    feed.offer(store.commit(quote(1)))
    assert len(doc.ticks) == 1
    doc.run_ticks()
    assert quotes.refreshes == [], "a throttled view must not be refreshed at once"
    assert len(doc.timeouts) == 1
    _fn, ms = doc.timeouts[0]
    assert 1 <= ms <= 1000 / max_rate
    assert ms >= 60, f"the timer should wait about the rest of the interval (70 ms), got {ms} ms"
    # more quotes while the timer is pending: no new callback, they ride on the timer
    clock.t += 0.01
    feed.offer(store.commit(quote(2)))
    assert doc.ticks == [] and len(doc.timeouts) == 1
    clock.t = flushed_at + 1.0 / max_rate  # the interval is up
    assert doc.run_timeouts() == 1
    assert len(quotes.refreshes) == 1 and quotes.seen == [102.0]
    assert doc.ticks == [] and doc.timeouts == []


def test_timer_fired_after_its_delay_flushes(store, clock):
    """The timer asks for the wait rounded up to whole ms; a loop that fires it after exactly
    that delay finds the view due (the docstring: held-back views 'go out when their interval is
    up'), not re-arm another timer."""
    doc = FakeDoc()
    quotes = FakeView("quotes", ["market.*"])
    feed = filled_feed(doc, [quotes], clock, max_rate=10.0)
    clock.t += 0.0505
    feed.offer(store.commit(quote(1)))
    doc.run_ticks()
    assert quotes.refreshes == []
    [(_fn, ms)] = doc.timeouts
    clock.t += ms / 1000.0  # the loop fires the timer exactly when asked
    doc.run_timeouts()
    assert len(quotes.refreshes) == 1, (
        f"timer of {ms} ms fired on time but the view was still throttled; re-armed {doc.timeouts!r}"
    )


def test_a_routine_critical_event_waits_for_the_rate_limit(store, clock):
    """A refusal is critical in the journal but routine on screen: dozens a second (a strategy
    over its order budget) must not turn the rate limit off; a real critical event still does."""
    doc = FakeDoc()
    orders = FakeView("orders", ["order.*", "risk.*"])
    feed = filled_feed(doc, [orders], clock, routine_topics=("order.refused",), max_rate=4.0)
    clock.t += 0.01
    for i in range(20):
        refused = store.commit(OrderRefused(client_order_id=f"c{i}", symbol="AAPL", qty=1.0, reason="budget"))
        assert refused.critical
        feed.offer(refused)
    doc.run_ticks()
    assert orders.refreshes == [], "refusals bypassed the rate limit"
    assert [240 <= ms <= 241 for _fn, ms in doc.timeouts] == [True], "one timer for the rest of the interval"
    clock.t += 0.25
    doc.run_timeouts()
    assert len(orders.refreshes) == 1, "the refusals were shown once the interval was up"
    clock.t += 0.06  # past the burst interval (0.05)
    feed.offer(store.commit(halted()))  # critical and not routine: at once, rate limit or not
    doc.run_ticks()
    assert len(orders.refreshes) == 2


def test_critical_event_bypasses_the_throttle_and_alerts_once(store, clock):
    doc = FakeDoc()
    quotes = FakeView("quotes", ["market.*"])
    risk = FakeView("risk", ["risk.*"], read=lambda: store.state.risk.trading_state)
    alerts = []
    feed = filled_feed(
        doc, [quotes, risk], clock, notify=alerts.extend, alert_topics=("risk.trading_state",), max_rate=10.0
    )
    # a throttled quote leaves a timer pending
    clock.t += 0.01
    feed.offer(store.commit(quote(1)))
    doc.run_ticks()
    assert quotes.refreshes == [] and len(doc.timeouts) == 1
    # a critical event past the burst interval since the risk view's last refresh, within the
    # rate limit's interval
    clock.t += 0.05
    ev = store.commit(halted("first"))
    feed.offer(ev)
    assert [u for _fn, u in doc.urgency[-2:]] == [True, False], (
        "a critical event schedules its alert (urgent) and its views at once, even with a timer pending"
    )
    doc.ticks.pop(1)()  # should the views run first, they do not send the alert
    assert alerts == [] and risk.seen == ["HALTED"]
    doc.run_ticks()
    assert alerts == [ev], "the alert goes in its own callback"
    assert len(risk.refreshes) == 1
    assert quotes.refreshes == []  # still throttled: the critical event did not touch it
    # the throttled quote goes out by its timer once its interval is up, once (the timer set
    # before the critical event's flush is void)
    clock.t += 0.05
    assert len(doc.timeouts) == 2
    doc.run_timeouts()
    assert len(quotes.refreshes) == 1 and len(risk.refreshes) == 1
    # a second critical event: one more alert, exactly once
    clock.t += 0.06
    ev2 = store.commit(halted("second"))
    feed.offer(ev2)
    assert len(doc.ticks) == 2
    doc.run_ticks()
    assert alerts == [ev, ev2]
    assert len(risk.refreshes) == 2
    assert len(quotes.refreshes) == 1 and doc.timeouts == []


def test_a_burst_of_critical_events_refreshes_a_view_once_per_burst_interval_and_alerts_each_at_once(store, clock):
    """Sixty fills in a second: every alert goes at once, but a view already refreshed within
    the burst interval waits for the rest of it and then shows all that came meanwhile."""
    doc = FakeDoc()
    risk = FakeView("risk", ["risk.*"], read=lambda: store.state.risk.state_reason, wants_events=True)
    alerts: list = []
    feed = filled_feed(
        doc, [risk], clock, notify=alerts.extend, alert_topics=("risk.trading_state",), burst_interval_s=0.05
    )
    clock.t += 1.0
    first = store.commit(halted("0"))
    feed.offer(first)
    doc.run_ticks()
    assert alerts == [first] and risk.seen == ["0"], "an isolated critical event: at once"
    burst = []
    for i in range(1, 6):  # 5 ms apart
        clock.t += 0.005
        ev = store.commit(halted(str(i)))
        burst.append(ev)
        feed.offer(ev)
        doc.run_ticks()
        assert alerts[-1] is ev, "each alert at once"
    assert risk.seen == ["0"], "the view waits for its burst interval"
    assert [45 <= ms <= 46 for _fn, ms in doc.timeouts] == [True], "one timer, for the rest of the interval"
    clock.t += 0.03
    doc.run_timeouts()
    assert risk.seen == ["0", "5"] and risk.refreshes[-1] == burst, "then everything since, in one refresh"
    assert alerts == [first, *burst]


def flow_controlled(doc, views, clock, alerts, **kwargs):
    """A filled feed whose critical updates are numbered (``marks``) and answered by the test."""
    marks: list[int] = []
    feed = filled_feed(
        doc, views, clock, notify=alerts.extend, alert_topics=("risk.trading_state",), mark=marks.append, **kwargs
    )
    assert marks == [1], "the first fill (every view) is numbered"
    feed.acked(1)
    assert doc.ticks == []
    marks.clear()
    clock.t += 1.0
    return feed, marks


def test_flow_control_holds_view_updates_until_the_page_answers_and_alerts_never_wait(store, clock):
    doc = FakeDoc()
    risk = FakeView("risk", ["risk.*"], read=lambda: store.state.risk.state_reason)
    alerts: list = []
    feed, marks = flow_controlled(doc, [risk], clock, alerts)
    first = store.commit(halted("first"))
    feed.offer(first)
    doc.run_ticks()
    assert risk.seen == ["first"] and marks == [2] and alerts == [first]
    # a burst while the page has not answered: alerts at once, the view waits (nothing scheduled)
    burst = [store.commit(halted(f"burst {i}")) for i in range(5)]
    for ev in burst:
        feed.offer(ev)
    assert len(doc.ticks) == 1 and doc.urgency[-1][1], "only the alerts' callback"
    doc.run_ticks()
    assert alerts == [first, *burst] and risk.seen == ["first"]
    feed.acked(1)  # an old answer changes nothing
    assert doc.ticks == []
    clock.t += 0.06  # (past the burst interval)
    feed.acked(2)  # the page has applied update 2: everything since, in one update, the latest
    assert doc.run_ticks() == 1
    assert risk.seen == ["first", "burst 4"] and marks == [2, 3]
    feed.acked(3)
    assert doc.ticks == [], "nothing changed since: nothing to send"


def test_flow_control_waits_for_a_missing_answer_no_longer_than_its_timeout(store, clock):
    doc = FakeDoc()
    risk = FakeView("risk", ["risk.*"], read=lambda: store.state.risk.state_reason)
    feed, marks = flow_controlled(doc, [risk], clock, [], ack_timeout_s=2.0)
    feed.offer(store.commit(halted("first")))
    doc.run_ticks()
    feed.offer(store.commit(halted("unanswered")))
    doc.run_ticks()
    clock.t += 1.9
    feed.tick()  # the heartbeat, within the timeout: still waiting
    doc.run_ticks()
    assert risk.seen == ["first"]
    clock.t += 0.2
    feed.tick()  # past it: sent without the answer
    doc.run_ticks()
    assert risk.seen == ["first", "unanswered"] and marks == [2, 3]


def test_flow_control_leaves_routine_updates_to_the_rate_limit(store, clock):
    doc = FakeDoc()
    quotes = FakeView("quotes", ["market.*"], read=last_aapl(store))
    store.commit(quote(0))
    feed, marks = flow_controlled(doc, [quotes], clock, [], max_rate=10.0)
    for i in range(1, 4):
        clock.t += 1.0
        feed.offer(store.commit(quote(i)))
        doc.run_ticks()
    assert quotes.seen == [101.0, 102.0, 103.0] and marks == [], "no answer asked for, none waited for"


def test_a_feed_not_yet_live_notes_what_comes_and_sends_it_when_the_page_is_live(store, clock):
    """The dashboard feeds a session from its start but pushes from when its page is live: a
    fill while the server is slow to run the page's onload (25 tabs opening) still toasts."""
    doc = FakeDoc()
    risk = FakeView("risk", ["risk.*"], read=lambda: store.state.risk.trading_state)
    alerts, pushed = [], []
    feed = SessionFeed(
        doc, [risk], notify=alerts.extend, alert_topics=("risk.trading_state",), live=False, on_push=pushed.append
    )
    ev = store.commit(halted("before the page was live"))
    feed.offer(ev)
    feed.tick()
    feed.show(risk)
    assert doc.ticks == [] and doc.timeouts == [], "something went to a page not yet live"
    feed.go_live()
    assert [u for _fn, u in doc.urgency] == [True, False], "the alert first, then every view"
    doc.run_ticks()
    assert alerts == [ev], "the alert noted before the page was live is not shown once it is"
    assert risk.seen == ["HALTED"] and len(risk.ages) == 1
    assert pushed == [], "the page's loading time counted as push latency"
    feed.go_live()
    assert doc.ticks == [], "live twice"
    feed.offer(store.commit(halted("live")))
    doc.run_ticks()
    assert len(alerts) == 2 and len(pushed) == 1


def test_alert_topic_without_a_matching_view_still_notifies(store, clock):
    doc = FakeDoc()
    quotes = FakeView("quotes", ["market.*"])
    alerts = []
    feed = filled_feed(doc, [quotes], clock, notify=alerts.extend, alert_topics=("risk.trading_state",))
    ev = store.commit(halted())
    feed.offer(ev)
    assert len(doc.ticks) == 1
    doc.run_ticks()
    assert alerts == [ev]
    assert quotes.refreshes == []


def test_a_failing_view_does_not_stop_the_others(store, clock):
    doc = FakeDoc()
    before = FakeView("before", ["market.*"])
    broken = FakeView("broken", ["market.*"], fail=True)
    after = FakeView("after", ["market.*"], read=last_aapl(store))
    feed = SessionFeed(doc, [before, broken, after])
    feed.offer(store.commit(quote(5)))
    doc.run_ticks()
    assert len(broken.refreshes) == 1  # it was tried
    assert len(before.refreshes) == 1
    assert len(after.refreshes) == 1 and after.seen == [105.0]
    assert feed.errors == 1
    # it keeps going on the next flush too
    clock.t += 1.0
    feed.offer(store.commit(quote(6)))
    doc.run_ticks()
    assert after.seen == [105.0, 106.0]
    assert feed.errors == 2


def test_wants_events_views_get_the_events_since_their_last_refresh_in_seq_order(store, clock):
    doc = FakeDoc()
    tail = FakeView("tail", ["market.*", "risk.*"], wants_events=True)
    plain = FakeView("plain", ["market.*", "risk.*"])
    hub = Hub(store)
    feed = SessionFeed(doc, [tail, plain])
    hub.attach(feed)
    try:
        first = [store.commit(quote(1)), store.commit(halted("a")), store.commit(quote(2, "MSFT"))]
        doc.run_ticks()
        assert [e.seq for e in tail.refreshes[0]] == [e.seq for e in first]
        assert tail.refreshes[0] == first
        assert plain.refreshes == [[]]  # a plain view gets no events
        clock.t += 1.0
        second = [store.commit(quote(i)) for i in range(3, 8)]
        doc.run_ticks()
        assert len(tail.refreshes) == 2
        got = [e.seq for e in tail.refreshes[1]]
        assert got == [e.seq for e in second], "only the events since the last refresh"
        assert got == sorted(got)
    finally:
        hub.close()


def test_wants_events_keeps_only_the_last_max_events(store, clock):
    doc = FakeDoc()
    tail = FakeView("tail", ["market.*"], wants_events=True)
    feed = SessionFeed(doc, [tail], max_events=3)
    committed = [store.commit(quote(i)) for i in range(10)]
    offer_all(feed, committed)
    doc.run_ticks()
    assert tail.refreshes == [committed[-3:]]


def test_closed_feed_ignores_offers_and_flushes(store, clock):
    doc = FakeDoc()
    quotes = FakeView("quotes", ["market.*"])
    feed = SessionFeed(doc, [quotes])
    feed.offer(store.commit(quote(1)))
    assert len(doc.ticks) == 1
    feed.close()
    doc.run_ticks()  # a callback already scheduled finds the feed closed
    assert quotes.refreshes == [] and quotes.ages == []
    feed.offer(store.commit(quote(2)))
    feed.tick()
    assert doc.ticks == [] and doc.timeouts == []


# -- Hub -----------------------------------------------------------------------------------------


def test_hub_fans_out_to_every_feed(store, clock):
    hub = Hub(store)
    docs = [FakeDoc(), FakeDoc()]
    views = [FakeView(f"q{i}", ["market.*"], read=last_aapl(store)) for i in range(2)]
    feeds = [SessionFeed(d, [v]) for d, v in zip(docs, views)]
    try:
        for f in feeds:
            hub.attach(f)
        assert hub.sessions == 2
        store.commit(quote(7))
        for d, v in zip(docs, views):
            assert len(d.ticks) == 1
            d.run_ticks()
            assert v.seen == [107.0]
        assert hub.events == 1
    finally:
        hub.close()


def test_hub_offers_each_critical_event_to_the_sessions_from_another_one_first(store, clock):
    """The sessions' alerts go out in the order the hub offers them: none always last."""
    hub = Hub(store)
    order: list[int] = []

    class Recording(FakeDoc):
        def __init__(self, i: int) -> None:
            super().__init__()
            self.i = i

        def add_next_tick_callback(self, fn, urgent=False):
            if urgent:
                order.append(self.i)
            super().add_next_tick_callback(fn, urgent)

    alerts: list = []
    feeds = [
        SessionFeed(Recording(i), [], notify=alerts.extend, alert_topics=("risk.trading_state",)) for i in range(3)
    ]
    try:
        for f in feeds:
            hub.attach(f)
        firsts = []
        for i in range(3):
            order.clear()
            store.commit(halted(str(i)))
            assert sorted(order) == [0, 1, 2], "every session, once"
            firsts.append(order[0])
            for f in feeds:
                f.doc.run_ticks()
        assert sorted(firsts) == [0, 1, 2], f"each event started from another session: {firsts}"
        assert len(alerts) == 9
    finally:
        hub.close()


def test_hub_drops_a_feed_whose_offer_raises_and_keeps_the_others(store, clock):
    hub = Hub(store)
    bad_doc, good_doc = BrokenDoc(), FakeDoc()
    bad_view = FakeView("bad", ["market.*"])
    good_view = FakeView("good", ["market.*"], read=last_aapl(store))
    bad, good = SessionFeed(bad_doc, [bad_view]), SessionFeed(good_doc, [good_view])
    try:
        hub.attach(bad)
        hub.attach(good)
        store.commit(quote(1))
        assert hub.failed_sessions == 1
        assert hub.sessions == 1
        assert bad.closed and not good.closed
        assert len(good_doc.ticks) == 1
        good_doc.run_ticks()
        assert good_view.seen == [101.0]
        clock.t += 1.0
        store.commit(quote(2))  # the dropped feed is not offered again
        assert hub.failed_sessions == 1
        good_doc.run_ticks()
        assert good_view.seen == [101.0, 102.0]
        assert bad_view.refreshes == []
        assert hub.stats()["sessions_max"] == 2
    finally:
        hub.close()


def test_hub_detach_closes_the_feed(store, clock):
    hub = Hub(store)
    doc_a, doc_b = FakeDoc(), FakeDoc()
    a, b = SessionFeed(doc_a, [FakeView("a", ["*"])]), SessionFeed(doc_b, [FakeView("b", ["*"])])
    try:
        hub.attach(a)
        hub.attach(b)
        hub.detach(a)
        assert a.closed and hub.sessions == 1
        ev = store.commit(quote(1))
        assert doc_a.ticks == [] and doc_a.timeouts == []
        assert len(doc_b.ticks) == 1
        a.offer(ev)  # even offered directly, a closed feed schedules nothing
        a.offer(store.commit(halted()))
        assert doc_a.ticks == [] and doc_a.timeouts == []
    finally:
        hub.close()


def test_hub_close_cancels_its_subscription_and_closes_feeds(store, clock):
    def names():
        return [s.name for s in store.bus.subscriptions]

    hub = Hub(store)
    doc = FakeDoc()
    feed = SessionFeed(doc, [FakeView("q", ["market.*"])])
    hub.attach(feed)
    assert "push-hub" in names()
    hub.close()
    assert "push-hub" not in names()
    assert feed.closed and hub.sessions == 0
    store.commit(quote(1))
    store.commit(halted())
    assert doc.ticks == [] and hub.events == 0


def test_hub_stats_measure_the_fanout(store, clock):
    hub = Hub(store)
    try:
        assert hub.stats()["fanout_ms_per_event"]["mean"] is None  # no events yet
        hub.attach(SessionFeed(FakeDoc(), [FakeView("q", ["market.*"])]))
        for i in range(5):
            store.commit(quote(i))
        store.commit(halted())
        st = hub.stats()
        assert st["events"] == 6
        assert st["sessions"] == 1 and st["sessions_max"] == 1 and st["failed_sessions"] == 0
        fan = st["fanout_ms_per_event"]
        assert fan["mean"] is not None and fan["mean"] > 0
        assert fan["p50"] is not None and fan["p99"] >= fan["p50"] >= 0
    finally:
        hub.close()


def test_hub_tick_schedules_one_flush_per_feed_and_refreshes_ages_only(store, clock):
    hub = Hub(store)
    docs = [FakeDoc(), FakeDoc()]
    views = [[FakeView(f"q{i}", ["market.*"]), FakeView(f"r{i}", ["risk.*"])] for i in range(2)]
    feeds = [filled_feed(d, vs, clock) for d, vs in zip(docs, views)]
    try:
        for f in feeds:
            hub.attach(f)
        clock.t += 1.0
        hub.tick()
        hub.tick()  # a second tick before the loop ran: still one flush per feed
        assert [len(d.ticks) for d in docs] == [1, 1]
        for d in docs:
            d.run_ticks()
        for vs in views:
            for v in vs:
                assert v.refreshes == [], f"{v} content refreshed by a tick"
                assert len(v.ages) == 1, f"{v} age not refreshed by a tick"
        assert [d.timeouts for d in docs] == [[], []]
        assert hub.failed_sessions == 0
    finally:
        hub.close()


def test_hub_tick_drops_a_broken_session(store, clock):
    hub = Hub(store)
    good_doc = FakeDoc()
    good = SessionFeed(good_doc, [FakeView("g", ["*"])])
    bad = SessionFeed(BrokenDoc(), [FakeView("b", ["*"])])
    try:
        hub.attach(bad)
        hub.attach(good)
        hub.tick()
        assert hub.failed_sessions == 1 and hub.sessions == 1 and bad.closed
        assert len(good_doc.ticks) == 1
    finally:
        hub.close()


def test_hub_subscribes_synchronously(store, clock):
    """The hub offers on the committer's thread: by the time commit returns, the feed has it."""
    hub = Hub(store)
    doc = FakeDoc()
    hub.attach(SessionFeed(doc, [FakeView("q", ["market.*"])]))
    try:
        [sub] = [s for s in store.bus.subscriptions if s.name == "push-hub"]
        assert sub.queued is False
        store.commit(quote(1))
        assert len(doc.ticks) == 1 and hub.events == 1
    finally:
        hub.close()


def test_every_sessions_alerts_go_out_before_any_sessions_view_updates(store, clock):
    """One loop serves every session (LoopQueue over a FIFO loop, as the server's is): alerts
    (light) go before any view update (heavy), and an alert that arrives while view updates
    are queued overtakes them; ordinary callbacks run one per loop turn."""
    from functools import partial

    from seamless.push.docs import LoopQueue

    class FifoLoop:
        def __init__(self):
            self.queue = []

        def add_callback(self, fn, *args):
            self.queue.append(partial(fn, *args))

        def turn(self):
            self.queue.pop(0)()

        def run(self):
            while self.queue:
                self.turn()

    class QueuedDoc(FakeDoc):
        def __init__(self, queue):
            super().__init__()
            self.queue = queue

        def add_next_tick_callback(self, fn, urgent=False):
            self.queue.put(fn, urgent)

    loop = FifoLoop()
    queue = LoopQueue(loop)
    order: list[str] = []
    feeds = []
    for name in ("a", "b"):
        view = FakeView(name, ["risk.*"])
        view.refresh = (lambda n: lambda events: order.append(f"view {n}"))(name)
        feeds.append(
            SessionFeed(
                QueuedDoc(queue),
                [view],
                alert_topics=("risk.trading_state",),
                notify=(lambda n: lambda ev: order.append(f"alert {n}"))(name),
            )
        )
    ev = store.commit(halted("x"))
    for f in feeds:
        f.offer(ev)
    loop.run()
    assert order == ["alert a", "alert b", "view a", "view b"], order

    order.clear()
    clock.t += 1.0
    feeds[0].offer(store.commit(quote(1)))  # not routed: no view shows market data
    for f in feeds:
        f._dirty.update(f.views)
        f.doc.add_next_tick_callback(f._flush)
    loop.turn()
    assert order == ["view a"], "one ordinary callback per loop turn"
    feeds[1].offer(store.commit(halted("z")))
    loop.run()
    assert order == ["view a", "alert b", "view b"], order


@pytest.fixture
def server_loop():
    """A tornado IOLoop running in its own thread, as the server's is."""
    from tornado.ioloop import IOLoop

    ready, box = threading.Event(), {}

    def run():
        box["loop"] = IOLoop()
        ready.set()
        box["loop"].start()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert ready.wait(10)
    yield box["loop"]
    box["loop"].add_callback(box["loop"].stop)
    t.join(10)


def test_an_offer_while_the_document_is_held_still_flushes(store, server_loop):
    """Regression: scheduled through Bokeh, a callback added from the writer's thread while
    the loop held the document became a held event, which Panel clears without a lock: the
    session stalled for good after a burst of fills. Scheduled on the loop, it runs held or not."""
    from bokeh.document import Document

    from seamless.push import ServerDoc

    document = Document()
    doc = ServerDoc(document, server_loop)
    refreshed = threading.Event()
    view = FakeView("r", ["risk.*"])
    view.refresh = lambda events: refreshed.set()
    feed = SessionFeed(doc, [view])
    document.hold("combine")  # as Panel's hold() does around a batch of updates
    ev = store.commit(halted())
    writer = threading.Thread(target=feed.offer, args=(ev,))
    writer.start()
    writer.join(10)
    assert refreshed.wait(10), "the flush never ran while the document was held"
    assert document.callbacks._held_events == [], "the callback went through the document's events"


def test_a_closed_server_doc_runs_nothing(server_loop):
    from bokeh.document import Document

    from seamless.push import ServerDoc

    doc = ServerDoc(Document(), server_loop)
    ran, first, done = [], threading.Event(), threading.Event()
    doc.add_next_tick_callback(lambda: (ran.append("open"), first.set()))
    assert first.wait(10)
    doc.add_timeout_callback(lambda: ran.append("queued, then closed"), 1)
    doc.close()
    doc.add_next_tick_callback(lambda: ran.append("after close"))
    server_loop.add_callback(server_loop.call_later, 0.05, done.set)  # after both (call_later is loop-only)
    assert done.wait(10)
    assert ran == ["open"]


def test_a_view_that_held_a_part_back_is_refreshed_again_at_its_next_turn(store, clock):
    """A slower component (the equity curve, once a second) defers; when the events stop, the
    held-back part must still be shown: the feed comes back without a new event."""
    doc = FakeDoc()
    quotes = FakeView("quotes", ["market.*"])
    feed = filled_feed(doc, [quotes], clock, max_rate=4.0)
    quotes.refresh = lambda events: (
        quotes.refreshes.append(events),
        setattr(quotes, "deferred", len(quotes.refreshes) == 1),
    )
    clock.t += 1.0
    feed.offer(store.commit(quote(1)))
    doc.run_ticks()
    assert len(quotes.refreshes) == 1 and quotes.deferred is False, "the feed takes the flag"
    assert len(doc.timeouts) == 1, "a deferred view is due again at its next turn"
    clock.t += 0.25
    doc.run_timeouts()
    assert len(quotes.refreshes) == 2
    assert doc.timeouts == [] and doc.ticks == [], "nothing deferred: nothing more to do"


def test_a_failing_session_callback_does_not_stop_the_loop_queue(server_loop):
    from seamless.push.docs import LoopQueue

    queue = LoopQueue(server_loop)
    ran, done, gate, held = [], threading.Event(), threading.Event(), threading.Event()

    def broken():
        raise RuntimeError("one session's bug")

    queue.put(lambda: (held.set(), gate.wait(10)), urgent=True)  # the loop is busy while we queue
    assert held.wait(10)
    queue.put(broken, urgent=True)
    queue.put(lambda: ran.append("ordinary"))
    queue.put(lambda: ran.append("urgent"), urgent=True)
    queue.put(done.set)
    gate.set()
    assert done.wait(10)
    assert ran == ["urgent", "ordinary"]
