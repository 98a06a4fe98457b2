"""The sender: events from the store's bus to a person's phone or chat, off the writer's path.

One queued bus subscription per topic wanted (``subscribe(..., queued=True)``: the committing
thread only queues the event) turns each event into a :class:`~.messages.Message` and hands
it to the notifier's outbox; one worker thread sends from there, through apprise, to every
target:

- **retry**: an attempt that fails is tried again after ``backoff_s``, then twice that, ...
  (at most ``max_backoff_s``), ``retries`` times; each retry is counted (``retried``). One
  that still fails is counted (``failed``, one per message it held), is the ``last_error``
  and is logged once at WARNING, its target shown without its secrets;
- **rate limit**: a token bucket of ``rate`` messages per ``per_s`` seconds. Past it nothing
  is dropped: when the outbox holds more messages than there are tokens, the last token sends
  them all as one summary (``coalesced`` counts the messages it held);
- **not ready**: the worker asks ``ready()`` every ``poll_s``; not ready for longer than
  ``not_ready_s`` sends one message, ready again after that another;
- **close**: what the subscriptions still hold is taken, what the outbox still holds goes as
  one last message (past the rate limit), within ``timeout_s``; whatever is left then is
  counted as failed and logged.

Every figure is in :meth:`Notifier.stats` (the dashboard's System view shows them).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

import apprise

from ..bus import Subscription
from ..events import Event
from ..store import Store
from .bucket import TokenBucket
from .messages import KINDS, TOPICS, Message, message, not_ready_for, ready_again, summary
from .readiness import Readiness, from_state
from .targets import Target, apprise_log, parse_all, redact

log = logging.getLogger("seamless.notify")


class Notifier:
    """Sends the store's events of ``kinds`` to every apprise URL in ``urls``.

    ``ready``: the readiness to watch (default: from the store's state,
    :func:`~.readiness.not_ready`). Call :meth:`start` (it subscribes and starts the worker)
    and :meth:`close`.
    """

    def __init__(
        self,
        store: Store,
        urls: Sequence[str],
        *,
        kinds: Iterable[str] = KINDS,
        rate: float = 10.0,
        per_s: float = 60.0,
        not_ready_s: float = 60.0,
        ready: Readiness | None = None,
        retries: int = 3,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        poll_s: float | None = None,
    ) -> None:
        targets, bad = parse_all(urls)
        if bad:
            raise ValueError(f"apprise cannot use {', '.join(bad)}")
        if not targets:
            raise ValueError("no notification URL")
        kinds = tuple(kinds)
        unknown = [k for k in kinds if k not in KINDS]
        if unknown:
            raise ValueError(f"unknown notification kind(s) {', '.join(unknown)}; known: {', '.join(KINDS)}")
        self.store = store
        self.targets: list[Target] = targets
        self.kinds = frozenset(kinds)
        self.not_ready_s = not_ready_s
        self.ready = ready or from_state(store.state)
        self.retries, self.backoff_s, self.max_backoff_s = retries, backoff_s, max_backoff_s
        self.poll_s = poll_s if poll_s is not None else min(1.0, not_ready_s / 4)
        self._secrets = frozenset().union(*(t.secrets for t in targets))
        self._bucket = TokenBucket(rate, per_s)
        self._cond = threading.Condition()
        self._outbox: list[Message] = []  # in seq order; guarded by _cond
        self._subs: list[Subscription] = []
        self._thread: threading.Thread | None = None
        self._closing = False
        self._stop = threading.Event()
        self._abandoned = False  # close gave up waiting: the worker counts nothing more
        self._in_flight = 0
        self._deadline = float("inf")
        # readiness, the worker's own
        self._not_ready_since: float | None = None
        self._told_not_ready = False
        self._ready_failed = False
        self._next_ready_check = 0.0
        # the figures (guarded by _cond)
        self.queued = self.sent = self.failed = self.retried = self.coalesced = self.deliveries = 0
        self.last_error = ""
        self.last_error_at: float | None = None

    # -- life ------------------------------------------------------------------------------

    def start(self) -> Notifier:
        """Subscribe to the topics of the kinds wanted and start the worker."""
        if self._thread is not None:
            return self
        for kind in sorted(self.kinds & TOPICS.keys()):
            self._subs.append(
                self.store.bus.subscribe(TOPICS[kind], self._on_event, queued=True, name=f"notify-{kind}")
            )
        self._thread = threading.Thread(target=self._run, name="seamless-notify", daemon=True)
        self._thread.start()
        return self

    def close(self, timeout_s: float = 5.0) -> None:
        """Take what the subscriptions hold, send what is left, stop; within ``timeout_s``."""
        if self._closing:
            return
        deadline = time.monotonic() + timeout_s
        for sub in self._subs:
            sub.wait_idle(max(0.0, deadline - time.monotonic()))
            sub.cancel()
        with self._cond:
            self._closing = True
            self._deadline = deadline
            self._cond.notify_all()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
        with self._cond:
            if self._thread is not None and self._thread.is_alive():
                self._abandoned = True  # stuck in a send: its messages count as failed now
            lost = len(self._outbox) + (self._in_flight if self._abandoned else 0)
            self._outbox.clear()
            if self._abandoned:
                self._in_flight = 0
            self.failed += lost
        if lost:
            log.warning("%d notification(s) not sent when the notifier closed, counted as failed", lost)

    # -- in --------------------------------------------------------------------------------

    def _on_event(self, ev: Event) -> None:
        """A bus subscriber (on its own thread): the event's message, if its kind is wanted."""
        msg = message(ev)
        if msg is not None and msg.kind in self.kinds:
            self.submit(msg)

    def submit(self, msg: Message) -> None:
        """Queue ``msg`` to be sent (in seq order among those waiting)."""
        with self._cond:
            if self._closing:
                self.failed += 1
                return
            i = len(self._outbox)
            if msg.seq is not None:
                while i and (prev := self._outbox[i - 1].seq) is not None and prev > msg.seq:
                    i -= 1
            self._outbox.insert(i, msg)
            self.queued += 1
            self._cond.notify()

    # -- the worker --------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                with self._cond:
                    if not self._outbox and not self._closing:
                        self._cond.wait(self.poll_s)
                    closing = self._closing
                if closing:
                    with self._cond:
                        batch, self._outbox = self._outbox, []
                    if batch:
                        self._deliver(batch)
                    return
                self._check_ready()
                ready = self._next_batch()
                if ready:
                    self._deliver(ready)
            except Exception:
                log.exception("the notifier's worker failed; it carries on")

    def _next_batch(self) -> list[Message] | None:
        """The next message to send alone, or everything waiting as one (past the rate
        limit), or None (nothing waiting, or no token yet: waits a little for one)."""
        with self._cond:
            if not self._outbox:
                return None
            wait = self._bucket.wait_s()
            if wait > 0:
                self._cond.wait(min(wait, self.poll_s))  # a message or close wakes it early
                return None
            self._bucket.take()
            if self._bucket.tokens >= 1.0 or len(self._outbox) == 1:
                return [self._outbox.pop(0)]
            batch, self._outbox = self._outbox, []  # the last token: the rest as one summary
            self.coalesced += len(batch)
            return batch

    def _deliver(self, batch: list[Message]) -> None:
        msg = batch[0] if len(batch) == 1 else summary(batch)
        with self._cond:
            self._in_flight = len(batch)
        ok = True
        for target in self.targets:
            ok = self._send(target, msg) and ok
        with self._cond:
            self._in_flight = 0
            if self._abandoned:
                return
            if ok:
                self.sent += len(batch)
                self.deliveries += 1
            else:
                self.failed += len(batch)

    def _send(self, target: Target, msg: Message) -> bool:
        """One message to one target, with retries; False once they are spent."""
        error = ""
        attempts = 0
        for attempt in range(self.retries + 1):
            if attempt:
                delay = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
                with self._cond:
                    if self._closing:  # closing: no wait past the deadline
                        delay = min(delay, self._deadline - time.monotonic())
                    if delay < 0 or self._abandoned:
                        break
                    self.retried += 1
                self._stop.wait(delay)  # close cuts the wait short
            attempts += 1
            with apprise_log() as said:
                try:
                    if target.apprise.notify(body=msg.body, title=msg.title, notify_type=apprise.NotifyType(msg.level)):
                        return True
                    error = said[-1] if said else "apprise could not deliver it"
                except Exception as e:  # a plugin's own error: a failed attempt like any other
                    error = f"{type(e).__name__}: {e}"
            error = redact(error, self._secrets)
            with self._cond:
                self.last_error = f"{target.shown}: {error}"
                self.last_error_at = time.time()
        log.warning(
            "notification %r to %s was not sent after %d attempt(s), counted as failed: %s",
            msg.title,
            target.shown,
            attempts,
            error,
        )
        return False

    def _check_ready(self) -> None:
        """Not ready for longer than ``not_ready_s``: one message; ready again: another."""
        now = time.monotonic()
        if "not_ready" not in self.kinds or now < self._next_ready_check:
            return
        self._next_ready_check = now + self.poll_s
        try:
            reason = self.ready()
        except Exception:
            if not self._ready_failed:  # once, until it answers again
                log.exception("the readiness check failed; the notifier asks again each %.1f s", self.poll_s)
            self._ready_failed = True
            return
        self._ready_failed = False
        if reason is None:
            if self._told_not_ready and self._not_ready_since is not None:
                self.submit(ready_again(now - self._not_ready_since))
            self._not_ready_since, self._told_not_ready = None, False
            return
        if self._not_ready_since is None:
            self._not_ready_since = now
        elif not self._told_not_ready and now - self._not_ready_since >= self.not_ready_s:
            self.submit(not_ready_for(reason, now - self._not_ready_since))
            self._told_not_ready = True

    # -- out -------------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """The figures: messages ``queued``, ``sent``, ``failed`` (after their retries),
        ``coalesced`` (sent inside a summary), ``pending``; ``retried`` (attempts), ``deliveries``
        (messages that reached every target, a summary one), ``last_error`` (masked) and when
        (epoch s), the ``targets`` as shown."""
        with self._cond:
            return {
                "targets": [t.shown for t in self.targets],
                "kinds": sorted(self.kinds, key=KINDS.index),
                "queued": self.queued,
                "sent": self.sent,
                "failed": self.failed,
                "retried": self.retried,
                "coalesced": self.coalesced,
                "pending": len(self._outbox) + self._in_flight,
                "deliveries": self.deliveries,
                "last_error": self.last_error,
                "last_error_at": self.last_error_at,
            }

    def wait_idle(self, timeout_s: float = 5.0) -> bool:
        """Block until the subscriptions and the outbox are empty and nothing is in flight
        (tests); False if that did not happen within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        for sub in self._subs:
            if not sub.wait_idle(max(0.0, deadline - time.monotonic())):
                return False
        with self._cond:
            while self._outbox or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True
