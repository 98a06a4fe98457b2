"""The server-wide side of the push: one bus subscription fans events out to sessions.

Never one watcher per session (each param watcher costs ~9 us per change, per session):
the hub is one synchronous subscriber that hands each event to every open
:class:`SessionFeed`, which only marks what changed. Its cost per event is measured
(``fanout``) because it runs on the writer's thread.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from ..bus.stats import LatencyReservoir
from ..events import Event
from ..store import StateSource
from .candles import Candles
from .derived import Derived
from .history import EquityHistory
from .ring import EventRing
from .series import SystemSeries
from .session import SessionFeed

log = logging.getLogger("seamless.push")


class Hub:
    def __init__(self, store: StateSource, max_rate: float = 2.0, ring_size: int = 2_000) -> None:
        """``max_rate``: the sessions' view updates a second (``SessionFeed``'s): between critical
        events, what the views derive is built once per such interval, for every session.
        ``ring_size``: the events kept for the sessions' Events views between two of their
        updates (more, and a view fills the gap from the store)."""
        self.store = store
        self._feeds: tuple[SessionFeed, ...] = ()  # replaced, never mutated: iterate without a lock
        self._lock = threading.Lock()
        self.fanout = LatencyReservoir()  # writer time per event, seconds
        self.push = LatencyReservoir()  # commit -> applied in a session, for critical alerts
        self.flush = LatencyReservoir()  # server time to apply one burst to one session
        self.publish = LatencyReservoir()  # commit stamp -> reaching the hub, critical events
        self.events = 0
        self.fanout_total_s = 0.0
        self.sessions_max = 0
        self.failed_sessions = 0
        self.equity = EquityHistory(store.state.account)  # the curve every session mirrors
        self.series = SystemSeries()  # the System view's last 15 minutes, sampled on the heartbeat
        self.candles = Candles(store.bus)  # the price bars, fills and signals every Market tab mirrors
        self.derived = Derived(lambda: store.seq, 1.0 / max_rate)  # the views' tables and figures, for every session
        self.ring = EventRing(ring_size)  # the last events, read by every session's Events view
        self._sub = store.bus.subscribe("*", self._on_event, queued=False, name="push-hub")

    @property
    def sessions(self) -> int:
        """Sessions whose page is live (one fed while its page loads is not open yet)."""
        return sum(1 for f in self._feeds if f.live)

    def attach(self, feed: SessionFeed) -> None:
        feed.follow(self.ring)
        with self._lock:
            self._feeds = (*self._feeds, feed)
        self.sessions_max = max(self.sessions_max, self.sessions)

    def detach(self, feed: SessionFeed) -> None:
        feed.close()
        with self._lock:
            self._feeds = tuple(f for f in self._feeds if f is not feed)

    def _on_event(self, ev: Event) -> None:
        t0 = time.perf_counter()
        if TYPE_CHECKING:  # published events are stamped
            assert ev.ts is not None
        if ev.critical:
            self.publish.add(time.time() - ev.ts)
        self.equity.note(ev.ts)
        self.derived.note(ev)  # before any session hears of it: their next update shows it
        self.ring.append(ev)
        feeds = self._feeds
        if ev.critical and len(feeds) > 1:
            # The loop serves the sessions' alerts in the order offered: each critical event
            # starts from another session, so none is always served last.
            k = self.events % len(feeds)
            feeds = feeds[k:] + feeds[:k]
        for feed in feeds:
            try:
                feed.offer(ev)
            except Exception:  # a broken session must not stop the others (or the writer)
                log.exception("session push failed; the session is dropped from the push")
                self.failed_sessions += 1
                self.detach(feed)
        dt = time.perf_counter() - t0
        self.fanout.add(dt)
        self.fanout_total_s += dt
        self.events += 1

    def tick(self) -> None:
        self.sessions_max = max(self.sessions_max, self.sessions)
        try:
            self.series.sample(time.time(), self.store.stats(), self.stats())
        except Exception:  # a figure missing must not stop the heartbeat of every session
            log.exception("system figures not sampled")
        for feed in self._feeds:
            try:
                feed.tick()
            except Exception:
                log.exception("session tick failed; the session is dropped from the push")
                self.failed_sessions += 1
                self.detach(feed)

    def stats(self) -> dict[str, Any]:
        self.sessions_max = max(self.sessions_max, self.sessions)
        fan = self.fanout.percentiles_ms()
        return {
            "sessions": self.sessions,
            "sessions_max": self.sessions_max,
            "events": self.events,
            "failed_sessions": self.failed_sessions,
            "fanout_ms_per_event": {
                "mean": self.fanout_total_s * 1e3 / self.events if self.events else None,
                "p50": fan["p50_ms"],
                "p99": fan["p99_ms"],
            },
            "push_ms": self.push.percentiles_ms(),
            "flush_ms": self.flush.percentiles_ms(),
            "publish_ms": self.publish.percentiles_ms(),
        }

    def close(self) -> None:
        self._sub.cancel()
        self.candles.close()
        for feed in self._feeds:
            feed.close()
        self._feeds = ()
