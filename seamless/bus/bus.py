"""The event bus: topic subscriptions and state-parameter watches, isolated subscribers.

Cost model (docs/adr/0001): each param watcher adds ~9 us to every set, so
the bus owns exactly one param watcher per watched state object and fans out to a
plain list of subscribers behind it; topic events are dispatched from a cached
route table (topic -> subscribers) without going through param at all.

Subscribers are isolated: one that raises is logged with the event that broke it
and counted, and the others still run; a queued subscriber runs on its own thread,
so a slow one delays nobody but itself.
"""

from __future__ import annotations

import fnmatch
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..events import Event
from ..events.base import E
from ..params.base import StateObject, subscriber_calls
from .stats import LatencyReservoir, RateCounter

if TYPE_CHECKING:
    from param.parameterized import Event as ParamEvent
    from param.parameterized import Watcher

log = logging.getLogger("seamless.bus")

Callback = Callable[[Any], None]


@dataclass(frozen=True)
class StateChange:
    """One state parameter changed (what a state watch delivers)."""

    part: str
    name: str
    old: Any
    new: Any
    seq: int


class Subscription:
    """One subscriber: called inline (sync) or from its own thread (queued).

    A queued subscriber past ``max_pending`` drops new non-critical events (counted in
    ``dropped``); critical events are always queued.
    """

    #: the state object a watch subscription watches (set by :meth:`Bus.watch`).
    target: StateObject

    def __init__(
        self,
        bus: Bus,
        callback: Callback,
        *,
        name: str,
        queued: bool,
        max_pending: int,
        match: Callable[[str], bool] | None = None,
    ) -> None:
        self.bus, self.callback, self.name, self.queued = bus, callback, name, queued
        self.match = match
        self.max_pending = max_pending
        self.errors = 0
        self.dropped = 0
        self.active = True
        self._queue: queue.SimpleQueue[Any] | None = None
        if queued:
            self._queue = queue.SimpleQueue()
            self._thread = threading.Thread(target=self._run, name=f"seamless-sub-{name}", daemon=True)
            self._thread.start()

    @property
    def pending(self) -> int:
        return self._queue.qsize() if self._queue is not None else 0

    def deliver(self, item: Any) -> None:
        if self._queue is None:
            self._call(item)
        elif self._queue.qsize() < self.max_pending or getattr(item, "critical", True):
            self._queue.put(item)  # critical events are never dropped
        else:
            self.dropped += 1

    def _call(self, item: Any) -> None:
        try:
            self.callback(item)
        except Exception:
            self.errors += 1
            self.bus._subscriber_failed(self, item)

    def _run(self) -> None:
        q = self._queue
        assert q is not None  # the thread runs only for a queued subscriber
        while True:
            item = q.get()
            if item is _STOP:
                return
            if isinstance(item, _Marker):
                item.done.set()
                continue
            self._call(item)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until the queue is drained (tests and shutdown)."""
        if self._queue is None:
            return True
        done = threading.Event()
        self._queue.put(_Marker(done))
        return done.wait(timeout)

    def cancel(self) -> None:
        if self.active:
            self.active = False
            self.bus._remove(self)
            if self._queue is not None:
                self._queue.put(_STOP)


class _Marker:
    critical = True

    def __init__(self, done: threading.Event) -> None:
        self.done = done


_STOP = object()


class Bus:
    """Topic and state subscriptions for one store. ``publish`` is called by the store only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._topic_subs: list[Subscription] = []
        self._routes: dict[str, tuple[Subscription, ...]] = {}
        self._watches: dict[int, tuple[StateObject, list[Subscription], Watcher]] = {}
        self.rates = RateCounter()
        self.dispatch_latency = LatencyReservoir()
        self.errors = 0
        self._count = 0

    # -- subscribing -----------------------------------------------------------------------

    def subscribe(
        self,
        pattern: str,
        callback: Callable[[E], None],
        *,
        queued: bool = True,
        name: str | None = None,
        max_pending: int = 100_000,
    ) -> Subscription:
        """Call ``callback(event)`` for each event whose topic matches ``pattern``
        (``order.filled``, ``order.*``, ``*``). Queued by default: on its own thread.
        The pattern decides which events come, so ``callback`` may take the event class of
        its topic (``Callable[[OrderFilled], None]`` for ``order.filled``)."""

        def match(topic: str, p: str = pattern) -> bool:
            return fnmatch.fnmatchcase(topic, p)

        sub = Subscription(
            self,
            callback,
            name=name or str(getattr(callback, "__name__", "subscriber")),
            queued=queued,
            max_pending=max_pending,
            match=match,
        )
        with self._lock:
            self._topic_subs = [*self._topic_subs, sub]
            self._routes = {}
        return sub

    def watch(
        self,
        obj: StateObject,
        callback: Callable[[list[StateChange]], None],
        *,
        names: list[str] | None = None,
        queued: bool = False,
        name: str | None = None,
    ) -> Subscription:
        """Call ``callback(changes)`` when parameters of a state object change (all, or ``names``)."""
        wanted = set(names) if names else None
        part = obj.part

        def on_change(events: list[ParamEvent]) -> None:
            changes = [
                StateChange(part, e.name, e.old, e.new, obj.seq) for e in events if wanted is None or e.name in wanted
            ]
            if changes:
                callback(changes)

        sub = Subscription(
            self,
            on_change,
            name=name or str(getattr(callback, "__name__", "watcher")),
            queued=queued,
            max_pending=1_000_000,
        )
        sub.target = obj
        with self._lock:
            entry = self._watches.get(id(obj))
            if entry is None:
                subs: list[Subscription] = []
                watcher = obj.param.watch(lambda *evs, s=subs: self._fan_out(s, list(evs)), list(obj._fields))
                self._watches[id(obj)] = (obj, subs, watcher)
            else:
                subs = entry[1]
            subs.append(sub)
        return sub

    def _fan_out(self, subs: list[Subscription], events: list[ParamEvent]) -> None:
        # Runs inside the store's apply step; subscribers must not write state from here.
        with subscriber_calls():
            for sub in tuple(subs):
                sub.deliver(events)

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._topic_subs:
                self._topic_subs = [s for s in self._topic_subs if s is not sub]
                self._routes = {}
                return
            obj = getattr(sub, "target", None)
            entry = self._watches.get(id(obj)) if obj is not None else None
            if entry is not None and sub in entry[1]:
                entry[1].remove(sub)
                if not entry[1]:  # last subscriber gone: the param watcher goes too
                    entry[0].param.unwatch(entry[2])
                    del self._watches[id(obj)]

    # -- publishing ------------------------------------------------------------------------

    def publish(self, ev: Event) -> None:
        t0 = time.perf_counter()
        topic = ev.topic
        route = self._routes.get(topic)
        if route is None:
            route = self._route(topic)
        for sub in route:
            if sub.queued:
                sub.deliver(ev)
            else:  # inlined Subscription._call: this loop is the bus's hot path
                try:
                    sub.callback(ev)
                except Exception:
                    sub.errors += 1
                    self._subscriber_failed(sub, ev)
        self.dispatch_latency.add(time.perf_counter() - t0)
        self.rates.add(topic, self.rates.clock())

    def _route(self, topic: str) -> tuple[Subscription, ...]:
        with self._lock:
            route = tuple(s for s in self._topic_subs if s.match is not None and s.match(topic))
            self._routes[topic] = route
        return route

    def _subscriber_failed(self, sub: Subscription, item: Any) -> None:
        self.errors += 1
        if sub.errors <= 10 or sub.errors % 1000 == 0:
            what = (
                f"{item.topic} seq={item.seq}"
                if isinstance(item, Event)
                else f"state change {[getattr(e, 'name', e) for e in item]}"
            )
            log.exception(
                "subscriber %r failed on %s (error #%d; other subscribers carry on)", sub.name, what, sub.errors
            )

    # -- introspection ---------------------------------------------------------------------

    @property
    def subscriptions(self) -> list[Subscription]:
        with self._lock:
            return [*self._topic_subs, *(s for _, subs, _ in self._watches.values() for s in subs)]

    def watcher_count(self) -> int:
        """Param watchers the bus holds (one per watched state object)."""
        return len(self._watches)

    def stats(self) -> dict[str, Any]:
        return {
            "events_per_s": self.rates.rates(),
            "dispatch": self.dispatch_latency.percentiles_ms(),
            "subscriber_errors": self.errors,
            "subscribers": len(self.subscriptions),
            "pending": {s.name: s.pending for s in self.subscriptions if s.queued},
        }

    def close(self, drain_timeout_s: float = 2.0) -> None:
        """Let queued subscribers finish what they were given (up to a bound), then stop them."""
        deadline = time.monotonic() + drain_timeout_s
        for sub in self.subscriptions:
            if sub.queued:
                sub.wait_idle(max(0.0, deadline - time.monotonic()))
            sub.cancel()
