"""What the views derive from the state, computed once and shared by every session.

Every session shows the same positions, open orders, fills and figures; only its widgets and
its socket are its own. Built per session, the tables were most of the server's loop at 50
sessions (a ``DataFrame`` per session per update). :class:`Derived` (one per hub) holds each
derived value with the state it was built from, and hands it to every session's view until the
state has moved on:

- at once after a **critical** event (a fill, an order, a risk state: the hub notes each one
  before any session hears of it), so every session shows what a critical event changed in
  the update that event triggers;
- otherwise (quotes moving marks) when it is older than ``max_age_s`` (the hub's: one
  interval of the sessions' rate limit): the sessions refreshing within that interval share
  one build, and go from it to the next by the same table plan, instead of each making its own
  a millisecond apart.

A value is read-only for those who get it. :meth:`get` also says whether the state moved on
since the value was built (``behind``): a view showing it comes back for the rest at its next
turn, so a quote that arrived meanwhile is never left unshown when the market goes quiet.
"""

from __future__ import annotations

import collections
import fnmatch
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, NamedTuple

from ..events import Event


class Built(NamedTuple):
    value: Any
    version: Hashable  # what it was built from, read before building: the value is at least this new
    critical: int  # the last critical event noted before building
    at: float  # monotonic time built


class Derived:
    """Derived values by name, shared by the sessions of one hub. :meth:`note` on the writer's
    thread (the hub's), :meth:`get` on the server's loop."""

    KEPT = 4096  # critical events remembered (a value older than all of them is built again)

    def __init__(self, seq: Callable[[], int], max_age_s: float = 0.5) -> None:
        self.seq = seq  # the store's current seq: the version of what names no narrower one
        self.max_age_s = max_age_s
        self.critical = 0  # seq of the last critical event noted
        self.builds: collections.Counter[str] = collections.Counter()  # builds by name (figures, tests)
        self.reads: collections.Counter[str] = collections.Counter()  # reads by name
        self._memo: dict[str, Built] = {}
        self._recent: collections.deque[tuple[int, str]] = collections.deque(maxlen=self.KEPT)  # (seq, topic)
        self._matches: dict[tuple[str, tuple[str, ...]], bool] = {}
        self._lock = threading.Lock()  # one build at a time per hub (a notebook's kernel and a server loop)

    def note(self, ev: Event) -> None:
        """Every event, before it reaches any session: a critical one makes the values it
        bears on old."""
        if ev.critical and ev.seq is not None:
            self._recent.append((ev.seq, ev.topic))
            self.critical = ev.seq

    def get(
        self,
        name: str,
        build: Callable[[], Any],
        version: Callable[[], Hashable] | None = None,
        topics: tuple[str, ...] = (),
    ) -> tuple[Any, bool]:
        """(``build()``, ``behind``). ``version()`` names the state it is built from (the seqs of
        the state's parts it reads; default: the store's seq); ``topics``: the critical events
        that bear on it (fnmatch patterns; default: every one). The value is built again when
        its version moved since the last build and either such a critical event came since or
        the last build is ``max_age_s`` old; ``behind``: the value is older than the state."""
        version = version or self.seq
        with self._lock:
            self.reads[name] += 1
            now = time.monotonic()
            hit = self._memo.get(name)
            current, critical = version(), self.critical  # read first: what is built is at least this new
            if hit is None or (
                hit.version != current
                and (now - hit.at >= self.max_age_s or self._critical_since(hit.critical, topics))
            ):
                hit = self._memo[name] = Built(build(), current, critical, now)
                self.builds[name] += 1
            return hit.value, hit.version != version()

    def _critical_since(self, seq: int, topics: tuple[str, ...]) -> bool:
        """Whether a critical event of ``topics`` (any, if empty) came after ``seq``."""
        if self.critical <= seq:
            return False
        if not topics:
            return True
        recent = self._recent
        if not recent or recent[0][0] > seq + 1 and len(recent) == recent.maxlen:
            return True  # older than what is remembered
        i = 1
        while i <= len(recent):  # newest first, by index: the writer's thread appends meanwhile (a
            ev_seq, topic = recent[-i]  # shift makes an event seen twice, never skipped)
            if ev_seq <= seq:
                return False
            hit = self._matches.get((topic, topics))
            if hit is None:
                hit = self._matches[(topic, topics)] = any(fnmatch.fnmatchcase(topic, p) for p in topics)
            if hit:
                return True
            i += 1
        return False
