"""One browser session's side of the push: coalesce, throttle, apply in one message.

The writer thread only marks what changed (:meth:`SessionFeed.offer`, a few microseconds)
and, if nothing is scheduled yet, schedules a callback on the server's loop (through a
:class:`~seamless.push.docs.SessionDoc`: alerts urgent, views ordinary). On the loop the callback
re-reads the state for each dirty view (latest value wins) and applies every change inside
``hold()``, so the browser gets one message. A view is refreshed at most ``max_rate``
times a second, unless a critical event touched it: that goes out at once, or, in a burst,
``burst_interval_s`` after the view's last refresh (a critical event of a ``routine_topics``
topic waits its turn: the strategy over its order budget is refused many times a second, each
refusal durable, none worth bypassing the rate limit for). Why the burst interval: sixty fills
in a second made sixty updates of the same tables per session, each a few milliseconds of the
server's one loop; at 25 sessions that loop fell hundreds of milliseconds behind, alerts
included. Alerts never wait for it: each goes at once, in a message of its own.

Flow control: with ``mark``, an update that a critical event sent past the rate limit
carries its number, and the browser answers with it once it has applied the update
(:meth:`SessionFeed.acked`, see :class:`~seamless.push.ack.BrowserAck`). Until then the next
view update waits and what changes meanwhile coalesces into it (latest wins); alerts never
wait. Why: a burst of fills (sixty in a second) made sixty updates per tab, each a few
milliseconds of the server's and tens of the browser's, and the browsers fell seconds
behind; now a tab gets the next update as soon as it has taken the last one. Routine
updates are not numbered (the rate limit bounds them; each answer costs the server a
message). An answer that never comes is waited for at most ``ack_timeout_s``.
"""

from __future__ import annotations

import fnmatch
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Protocol

from ..events import Event
from .docs import SessionDoc
from .ring import EventRing

log = logging.getLogger("seamless.push")


class View(Protocol):
    """What the push needs from a view (see :mod:`seamless.views.base`)."""

    topics: tuple[str, ...]  # fnmatch patterns of the events that change what it shows
    wants_events: bool  # True: :meth:`refresh` also gets the events since the last one
    shown: bool  # False while its tab is closed: it stays dirty and costs nothing until shown
    deferred: bool  # set by refresh when it held a part back (a slower component): refresh again later

    def refresh(self, events: list[Event]) -> None: ...

    def show_age(self, now: float) -> None: ...


class SessionFeed:
    """Feeds one session's views. ``offer`` and ``tick`` may be called from any thread."""

    def __init__(
        self,
        doc: SessionDoc,
        views: Iterable[View],
        *,
        notify: Callable[[list[Event]], None] | None = None,
        alert_topics: Iterable[str] = (),
        routine_topics: Iterable[str] = (),
        max_rate: float = 10.0,
        burst_interval_s: float = 0.05,
        max_events: int = 500,
        on_push: Callable[[float], None] | None = None,
        on_flush: Callable[[float], None] | None = None,
        mark: Callable[[int], None] | None = None,
        ack_timeout_s: float = 2.0,
        live: bool = True,
    ) -> None:
        self.doc = doc
        self.views = list(views)
        self.notify = notify
        self.alert_topics = tuple(alert_topics)
        self.routine_topics = frozenset(routine_topics)
        self.min_interval = 1.0 / max_rate
        self.burst_interval = min(burst_interval_s, self.min_interval)
        self.on_push = on_push  # push latency samples (commit -> applied), seconds
        self.on_flush = on_flush  # server time of one flush (one burst, one session), seconds
        self.mark = mark  # sends an update's number to the browser, which answers with acked()
        self.ack_timeout_s = ack_timeout_s
        self._marked = 0
        self._awaiting: tuple[int, float] | None = None  # (update number, monotonic time sent)
        self._routes: dict[str, tuple[tuple[View, ...], bool, bool]] = {}
        self._lock = threading.Lock()
        self._dirty: set[View] = set(self.views)  # the first flush fills every view
        self._urgent: set[View] = set(self.views)
        # The events a view that shows them has not had yet: read from a ring, the hub's when the
        # feed is attached to one (see follow), else the feed's own of ``max_events``, filled by offer.
        self._ring = EventRing(max_events)
        self._own_ring = True
        self._read: dict[View, int] = {v: 0 for v in self.views if v.wants_events}
        self._alerts: list[Event] = []
        self._aging = False
        self._scheduled: str | None = None  # None, "tick" (next tick) or "timer" (throttled)
        self._timer_at = math.inf  # monotonic time the pending timer is due (its name: older ones are void)
        self._last: dict[View, float] = {}
        self.closed = False
        self.errors = 0
        # False until the page is live (go_live): what comes meanwhile is noted, not sent. A
        # change made before the page is connected would reach it with the page itself, and a
        # toast in it counts as already shown; one made after would be shown.
        self._live = live
        self._live_since = 0.0 if live else math.inf  # wall clock: alerts older waited for the page

    # -- any thread ------------------------------------------------------------------------------

    def _route(self, ev: Event) -> tuple[tuple[View, ...], bool, bool]:
        """The views ``ev``'s topic changes, whether it is an alert, whether it is urgent
        (critical and not routine): worked out once per topic."""
        route = self._routes.get(ev.topic)
        if route is None:
            topic = ev.topic
            views = tuple(v for v in self.views if any(fnmatch.fnmatchcase(topic, p) for p in v.topics))
            alert = topic in self.alert_topics and self.notify is not None
            urgent = ev.critical and topic not in self.routine_topics
            route = self._routes[topic] = (views, alert, urgent)
        return route

    def follow(self, ring: EventRing) -> None:
        """Read events from ``ring`` (the hub's, which appends every event once) from now on."""
        with self._lock:
            self._ring, self._own_ring = ring, False
            self._read = dict.fromkeys(self._read, ring.count)

    def offer(self, ev: Event) -> None:
        """Note one committed event (the writer's thread: keep it cheap)."""
        if self._own_ring and self._read:
            self._ring.append(ev)
        views, alert, urgent = self._routes.get(ev.topic) or self._route(ev)
        if not views and not alert:
            return
        # Most events (quotes) change views already waiting for an update that is already
        # coming: then there is nothing to note. Read without the lock, flags first: a flush
        # takes a view out of _dirty before it reads the state (which has this event) and the
        # ring, so a view seen dirty here will show the event. Else the full path below.
        if (
            not alert
            and not urgent
            and (self._scheduled is not None or self._awaiting is not None or not self._live)
            and self._dirty.issuperset(views)
        ):
            return
        with self._lock:
            if self.closed:
                return
            self._dirty.update(views)
            if urgent:
                self._urgent.update(views)
            send_alerts = alert and not self._alerts and self._live
            if alert:
                self._alerts.append(ev)
            # A pending timer is brought forward by a critical event due before it (the tick's
            # flush refreshes what is due and sets the timer again for the rest).
            flush = (
                bool(views)
                and self._live
                and self._awaiting is None
                and (
                    self._scheduled is None
                    or (
                        self._scheduled == "timer"
                        and urgent
                        and min(self._last.get(v, -1e9) for v in views) + self.burst_interval < self._timer_at
                    )
                )
            )
            if flush:
                self._scheduled = "tick"
        self._schedule(send_alerts, flush)

    def _schedule(self, alerts: bool, flush: bool) -> None:
        """Any thread. Alerts jump the loop's queue (urgent): every session's alerts go out
        before any session's (much heavier) view updates."""
        if alerts:
            self.doc.add_next_tick_callback(self._send_alerts, urgent=True)
        if flush:
            self.doc.add_next_tick_callback(self._flush)

    def show(self, view: View) -> None:
        """``view``'s tab opened: bring it up to date now (it was left dirty while hidden)."""
        view.shown = True
        with self._lock:
            if self.closed:
                return
            self._dirty.add(view)
            self._urgent.add(view)
            if self._scheduled == "tick" or not self._live:
                return
            self._scheduled = "tick"
        self.doc.add_next_tick_callback(self._flush)

    def tick(self) -> None:
        """Ages move on without events: refresh every view's age and stale badge."""
        with self._lock:
            if self.closed:
                return
            self._aging = True
            if self._scheduled is not None or not self._live:
                return
            self._scheduled = "tick"
        self.doc.add_next_tick_callback(self._flush)

    @property
    def live(self) -> bool:
        return self._live and not self.closed

    def go_live(self) -> None:
        """The page is live: the alerts noted since the feed began go, and every view fills."""
        with self._lock:
            if self.closed or self._live:
                return
            self._live = True
            self._live_since = time.time()
            self._aging = True
            alerts = bool(self._alerts)
            flush = self._scheduled is None
            if flush:
                self._scheduled = "tick"
        self._schedule(alerts, flush)

    def acked(self, n: int) -> None:
        """The browser has applied update ``n``: what changed since goes out now."""
        with self._lock:
            if self.closed or self._awaiting is None or n < self._awaiting[0]:
                return
            self._awaiting = None
            if self._scheduled == "tick" or not (self._aging or self._shown_dirty()):
                return
            self._scheduled = "tick"
        self.doc.add_next_tick_callback(self._flush)

    def close(self) -> None:
        with self._lock:
            self.closed = True
            self._dirty.clear()
            self._alerts.clear()

    # -- the server's loop ---------------------------------------------------------------------

    def flush_now(self) -> None:
        """Apply what is pending at once, on this thread (a notebook kernel, a test)."""
        self._send_alerts()
        self._flush()

    def _flush(self) -> None:
        now = time.monotonic()
        with self._lock:
            if self.closed:
                return
            if self._awaiting is not None and now - self._awaiting[1] < self.ack_timeout_s:
                self._scheduled = None  # the browser's answer brings the next update
                return
            due = [
                v
                for v in self.views
                if v in self._dirty and getattr(v, "shown", True) and now - self._last.get(v, -1e9) >= self._interval(v)
            ]
            urgent = any(v in self._urgent for v in due)
            for v in due:
                self._dirty.discard(v)
                self._urgent.discard(v)
            aging, self._aging = self._aging, False
            self._scheduled = None
            events = {v: self._unread(v) for v in due if v in self._read}
        wall = time.time()
        with self.doc.batch():
            for v in due:
                self._guard(v.refresh, events.get(v, []))
                self._last[v] = now
                if getattr(v, "deferred", False):  # it held a part back: its next turn shows it
                    v.deferred = False
                    with self._lock:
                        self._dirty.add(v)
            if aging:  # once a second (the heartbeat) and at the first flush
                for v in self.views:
                    if getattr(v, "shown", True):
                        self._guard(v.show_age, wall)
            if self.mark is not None and urgent:  # routine updates are rate-limited already
                self._marked += 1
                self._guard(self.mark, self._marked)  # last: the answer means all of it was applied
                with self._lock:
                    self._awaiting = (self._marked, now)
        if self.on_flush is not None:
            self.on_flush(time.monotonic() - now)
        self._schedule_rest(now)

    def _send_alerts(self) -> None:
        """The alerts noted since the last call, in a message of their own."""
        with self._lock:
            if self.closed or not self._alerts:
                return
            alerts, self._alerts = self._alerts, []
        notify = self.notify
        assert notify is not None  # alerts are noted only when there is someone to notify
        with self.doc.batch():
            self._guard(notify, alerts)  # all at once: a burst is one change, not the last of many
        if self.on_push is not None:
            for ev in alerts:
                if TYPE_CHECKING:  # published events are stamped
                    assert ev.ts is not None
                if ev.ts >= self._live_since:  # not the push's latency: the page's loading time
                    self.on_push(time.time() - ev.ts)

    def _schedule_rest(self, now: float) -> None:
        """Views held back by the rate limit go out when their interval is up."""
        with self._lock:
            waiting = self._shown_dirty()
            if self.closed or self._scheduled is not None or not waiting or self._awaiting is not None:
                return  # (awaiting: the browser's answer schedules the next flush)
            wait = min(self._interval(v) - (now - self._last.get(v, -1e9)) for v in waiting)
            self._scheduled = "timer"
            self._timer_at = at = now + wait
        self.doc.add_timeout_callback(partial(self._timer, at), max(1, math.ceil(wait * 1000)))

    def _unread(self, view: View) -> list[Event]:
        """The events of ``view``'s topics since its last refresh, in seq order; under the lock."""
        events, self._read[view] = self._ring.since(self._read[view])
        if "*" in view.topics:
            return events
        return [ev for ev in events if view in self._route(ev)[0]]

    def _interval(self, view: View) -> float:
        """The least time between two refreshes of ``view`` as things stand; under the lock."""
        return self.burst_interval if view in self._urgent else self.min_interval

    def _shown_dirty(self) -> list[View]:
        """Views with changes to show (a hidden one waits for its tab); under the lock."""
        return [v for v in self._dirty if getattr(v, "shown", True)]

    def _timer(self, at: float) -> None:
        with self._lock:
            if self._scheduled != "timer" or at != self._timer_at:
                return  # a flush went first (an urgent one), or this timer was brought forward
        self._flush()

    def _guard(self, fn: Callable, *args) -> None:
        try:
            fn(*args)
        except Exception:
            self.errors += 1
            log.exception("a view failed to update; the others go on")
