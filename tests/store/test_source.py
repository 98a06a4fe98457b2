"""StateSource, the one read path: a Store and a Follower both are one and give the same
journal tail; a Store's tail has its events not yet journaled, and the tail and the bus meet
with no gap and no overlap; the Events view starts from a source's tail (a Follower's too) and
shows every event once; no view opens the database itself."""

from __future__ import annotations

import ast
import contextlib
import threading
import time
from pathlib import Path

import seamless.views
from seamless.events.catalog import QuoteReceived, TradingStateChanged
from seamless.persist import journal
from seamless.push.hub import Hub
from seamless.push.session import SessionFeed
from seamless.store import Follower, StateSource, Store
from seamless.views.events import EventsView


def quote(i: int, symbol: str = "AAPL") -> QuoteReceived:
    return QuoteReceived(symbol=symbol, last=100.0 + i % 50)


def halted(i: int) -> TradingStateChanged:
    return TradingStateChanged(state="HALTED", reason=f"r{i}", by="t")


def mixed(start: int, n: int) -> list:
    """Quotes (not critical) on two symbols, every fifth event a critical one."""
    return [halted(i) if i % 5 == 0 else quote(i, "AAPL" if i % 2 else "MSFT") for i in range(start, start + n)]


def key(ev) -> tuple:
    return ev.seq, ev.topic, type(ev).__name__, ev.ts, ev.payload_json()


def keys(events) -> list[tuple]:
    return [key(e) for e in events]


def seqs(events) -> list[int]:
    return [e.seq for e in events]


class Doc:
    """A session document that runs nothing itself: the test flushes the feed (flush_now)."""

    def add_next_tick_callback(self, fn, urgent=False):
        pass

    def add_timeout_callback(self, fn, ms):
        pass

    def batch(self):
        return contextlib.nullcontext()


def test_a_store_and_a_follower_are_state_sources(store):
    follower = Follower(store.path)
    try:
        assert isinstance(store, StateSource)
        assert isinstance(follower, StateSource)
        assert not isinstance(object(), StateSource)
    finally:
        follower.close()


def test_a_store_and_its_follower_give_the_same_tail(store):
    for ev in mixed(0, 60):
        store.commit(ev)
    store.flush()
    follower = Follower(store.path)
    try:
        assert follower.seq == store.seq == 60
        for n in (0, 1, 7, 60, 100):
            assert keys(store.tail(n)) == keys(follower.tail(n))
        assert seqs(store.tail(7)) == list(range(54, 61))
        for topics in (["risk.*"], ["market.quote"], ["nothing.*"], [], ["market.[!x]uote", "risk.trading_stat?"]):
            assert keys(store.tail(10, topics)) == keys(follower.tail(10, topics))
        assert seqs(store.tail(3, ["risk.*"])) == [46, 51, 56]  # every fifth, from seq 1
        assert {e.topic for e in store.tail(20, ["market.*"])} == {"market.quote"}
        for since, limit in ((0, None), (0, 10), (55, None), (58, 10), (60, 5), (70, None), (-3, 4), (5, 0)):
            assert keys(store.events_since(since, limit)) == keys(follower.events_since(since, limit))
        assert seqs(store.events_since(10, 5)) == list(range(11, 16))
        assert seqs(store.events_since(0)) == list(range(1, 61))
    finally:
        follower.close()


def test_a_stores_tail_has_the_events_not_yet_journaled(tmp_path, monkeypatch):
    path = tmp_path / "s.db"
    with Store(path, flush_interval_s=3600) as store:  # the background writer waits: quotes stay in memory
        for ev in [*(quote(i) for i in range(10)), halted(10), *(quote(i) for i in range(11, 20))]:
            store.commit(ev)
        assert store.durable_seq == 11 and store.seq == 20
        follower = Follower(path)
        try:
            assert seqs(store.tail(15)) == list(range(6, 21))
            assert seqs(store.tail(2, ["risk.*"])) == [11]
            assert seqs(store.events_since(8)) == list(range(9, 21))
            assert seqs(store.events_since(8, 5)) == list(range(9, 14))
            assert seqs(store.events_since(15, 3)) == [16, 17, 18]
            assert seqs(follower.tail(15)) == list(range(1, 12))  # the file has only what is durable
            before = keys(store.tail(20))

            # While a write is under way its events are neither pending nor journaled yet.
            entered, go = threading.Event(), threading.Event()
            write = journal.write

            def slow_write(*args, **kwargs):
                entered.set()
                go.wait(5)
                return write(*args, **kwargs)

            monkeypatch.setattr(journal, "write", slow_write)
            flusher = threading.Thread(target=store.flush)
            flusher.start()
            assert entered.wait(5)
            assert keys(store.tail(20)) == before
            assert seqs(store.events_since(0)) == list(range(1, 21))
            go.set()
            flusher.join(5)
            monkeypatch.setattr(journal, "write", write)

            assert store.durable_seq == 20
            assert keys(store.tail(20)) == before
            assert follower.poll() == 9
            assert keys(follower.tail(20)) == before
        finally:
            follower.close()


def test_the_tail_and_the_bus_meet_with_no_gap_and_no_overlap(tmp_path):
    with Store(tmp_path / "s.db", flush_interval_s=0.002) as store:
        stop = threading.Event()

        def commit_on() -> None:
            i = 0
            while not stop.is_set():
                store.commit(halted(i) if i % 7 == 0 else quote(i))
                i += 1

        writer = threading.Thread(target=commit_on)
        writer.start()
        try:
            for attempt in range(40):
                got: list = []
                sub = store.bus.subscribe("*", got.append, queued=False, name="test")
                start = store.tail(30) if attempt % 2 else store.events_since(max(0, store.seq - 30))
                time.sleep(0.003)
                sub.cancel()
                last = start[-1].seq if start else 0
                seen = seqs(start) + [e.seq for e in list(got) if e.seq > last]
                assert seen, "nothing committed"
                assert seen == list(range(seen[0], seen[0] + len(seen))), f"a gap or a repeat at attempt {attempt}"
        finally:
            stop.set()
            writer.join(5)


def test_the_events_view_starts_from_a_followers_tail(store, db_path):
    for ev in mixed(0, 40):
        store.commit(ev)
    store.flush()
    follower = Follower(db_path)
    hub = Hub(follower)
    try:
        view = EventsView(follower, show=25)
        view.prefill()
        assert keys(view.ring) == keys(follower.tail(25)) and seqs(view.ring) == list(range(16, 41))
        assert list(view.tail.value["seq"]) == [e.seq for e in view.ring if e.topic != "market.quote"]

        feed = SessionFeed(Doc(), [view], max_rate=1e6)
        hub.attach(feed)
        for ev in mixed(40, 30):
            store.commit(ev)
        store.flush()
        assert follower.poll() == 30
        feed.flush_now()
        assert seqs(view.ring) == list(range(16, 71))
        assert list(view.tail.value["seq"]) == [e.seq for e in view.ring if e.topic != "market.quote"]
    finally:
        hub.close()
        follower.close()


def test_the_events_view_shows_every_event_once(tmp_path):
    """Not journaled yet, committed before its session joins the push, or more than the push
    keeps for it: each event shows, once."""
    with Store(tmp_path / "s.db", flush_interval_s=3600) as store:
        for i in range(10):
            store.commit(quote(i))
        hub = Hub(store, ring_size=5)  # the push keeps 5 events
        try:
            view = EventsView(store, keep=100, show=50)
            view.hide_quotes.value = False
            view.prefill()
            assert seqs(view.ring) == list(range(1, 11)), "quotes not yet journaled"
            for i in range(10, 15):  # before the session joins the push: it never gets them
                store.commit(quote(i))
            feed = SessionFeed(Doc(), [view], max_rate=1e6)
            hub.attach(feed)
            feed.flush_now()  # the first push, with no events: the view asks for what it missed
            assert seqs(view.ring) == list(range(1, 16))
            for i in range(15, 20):
                store.commit(quote(i))
            feed.flush_now()
            assert seqs(view.ring) == list(range(1, 21))
            for i in range(20, 32):  # more than the push keeps (5): a gap the view fills
                store.commit(halted(i) if i == 25 else quote(i))
            feed.flush_now()
            assert seqs(view.ring) == list(range(1, 33))
            assert list(view.tail.value["seq"]) == list(range(1, 33))
            view.hide_quotes.value = False  # a rebuild from the ring shows the same
            view.pattern.value = "*"
            assert list(view.tail.value["seq"]) == list(range(1, 33))
        finally:
            hub.close()


def _imports(path: Path, package: list[str]) -> list[str]:
    """Every module ``path`` imports, relative imports resolved against ``package``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found += [module, *(f"{module}.{a.name}" for a in node.names)]
    return found


def _forbidden(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in ("sqlite3", "seamless.persist"))


def test_no_view_opens_the_database_itself(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from ..persist import journal\nfrom .. import persist\nimport sqlite3\nfrom ..store import Store\n"
    )
    assert [n for n in _imports(probe, ["seamless", "views"]) if _forbidden(n)] == [
        "seamless.persist",
        "seamless.persist.journal",
        "seamless.persist",
        "sqlite3",
    ]

    root = Path(seamless.views.__file__).parent
    offenders = {}
    for path in sorted(root.rglob("*.py")):
        package = ["seamless", *path.relative_to(root.parent).parent.parts]
        bad = [n for n in _imports(path, package) if _forbidden(n)]
        if bad:
            offenders[str(path.relative_to(root.parent))] = bad
    assert offenders == {}, "views read through the StateSource, never the database"
