"""Where a session's updates run: its document, on the loop that serves it.

A :class:`~seamless.push.session.SessionFeed` schedules through one of these, from any
thread (the writer's, a command's worker), and applies its changes inside ``batch()``.

Not Bokeh's ``doc.add_next_tick_callback``: it announces the callback as a document event,
and while the loop holds the document (Panel's ``hold()``, around every batch of updates)
that event joins the held events, which Panel copies and clears without a lock. A callback
added from the writer's thread at that moment was lost, and the session never updated again
(seen after a burst of fills: the tab showed no more toasts). Tornado's
``IOLoop.add_callback`` is safe from any thread and knows nothing of holds.

Every session on a server shares its one loop, so their callbacks go through one
:class:`LoopQueue`: urgent ones (alerts) all run before the next ordinary one (a view
update, ~5-10 ms), and ordinary ones run one per loop turn, so a browser's messages and an
alert that arrives meanwhile never wait behind ten sessions' updates.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import weakref
from collections.abc import Callable
from contextlib import AbstractContextManager as ContextManager
from functools import partial
from typing import Any, Protocol

log = logging.getLogger("seamless.push")


class SessionDoc(Protocol):
    """What a session feed needs of the place its views live."""

    def add_next_tick_callback(self, fn: Callable[[], Any], urgent: bool = False) -> None: ...  # any thread

    def add_timeout_callback(self, fn: Callable[[], Any], ms: int) -> None: ...  # any thread

    def batch(self) -> ContextManager: ...  # around one round of changes, on the loop


class LoopQueue:
    """One loop's session callbacks: every urgent one, then one ordinary one, per loop turn."""

    _by_loop: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
    _guard = threading.Lock()

    def __init__(self, loop) -> None:
        self.loop = loop
        self._urgent: collections.deque[Callable[[], Any]] = collections.deque()
        self._ordinary: collections.deque[Callable[[], Any]] = collections.deque()
        self._lock = threading.Lock()
        self._scheduled = False

    @classmethod
    def of(cls, loop) -> LoopQueue:
        with cls._guard:
            queue = cls._by_loop.get(loop)
            if queue is None:
                queue = cls._by_loop[loop] = cls(loop)
            return queue

    def put(self, fn: Callable[[], Any], urgent: bool = False) -> None:
        """Any thread."""
        with self._lock:
            (self._urgent if urgent else self._ordinary).append(fn)
            if self._scheduled:
                return
            self._scheduled = True
        self.loop.add_callback(self._turn)

    def _turn(self) -> None:
        while True:
            with self._lock:
                fn = self._urgent.popleft() if self._urgent else None
            if fn is None:
                break
            self._run(fn)
        with self._lock:
            fn = self._ordinary.popleft() if self._ordinary else None
        if fn is not None:
            self._run(fn)
        with self._lock:
            self._scheduled = bool(self._urgent or self._ordinary)
            again = self._scheduled
        if again:  # behind whatever else the loop has queued meanwhile (a browser's message)
            self.loop.add_callback(self._turn)

    @staticmethod
    def _run(fn: Callable[[], Any]) -> None:
        try:
            fn()
        except Exception:  # one session's failure must not stop the others' pushes
            log.exception("a session callback failed")


class ServerDoc:
    """A Bokeh server session's document, on the server's loop (build it on that loop)."""

    def __init__(self, document, loop=None) -> None:
        from tornado.ioloop import IOLoop

        self.document = document
        self.loop = loop or IOLoop.current()
        self.queue = LoopQueue.of(self.loop)
        self.closed = False

    def close(self) -> None:
        """The session is gone: what is still queued for it is dropped."""
        self.closed = True

    def add_next_tick_callback(self, fn: Callable[[], Any], urgent: bool = False) -> None:
        self.queue.put(partial(self._run, fn), urgent)

    def add_timeout_callback(self, fn: Callable[[], Any], ms: int) -> None:
        # call_later is loop-only; when the time is up, the callback queues like any other
        self.loop.add_callback(self.loop.call_later, ms / 1000, self.add_next_tick_callback, fn)

    def batch(self) -> ContextManager:
        """One websocket message for everything changed inside."""
        from panel.io.document import hold
        from panel.io.state import set_curdoc

        stack = contextlib.ExitStack()
        stack.enter_context(set_curdoc(self.document))
        stack.enter_context(hold(self.document))
        return stack

    def _run(self, fn: Callable[[], Any]) -> None:
        from panel.io.state import set_curdoc

        if self.closed:
            return
        with set_curdoc(self.document):
            fn()


class KernelDoc:
    """A Jupyter kernel's loop: its comms send each change as it is made."""

    def __init__(self) -> None:
        from tornado.ioloop import IOLoop

        self.loop = IOLoop.current()

    def add_next_tick_callback(self, fn: Callable[[], Any], urgent: bool = False) -> None:
        self.loop.add_callback(fn)

    def add_timeout_callback(self, fn: Callable[[], Any], ms: int) -> None:
        self.loop.add_callback(self.loop.call_later, ms / 1000, fn)

    def batch(self) -> ContextManager:
        return contextlib.nullcontext()
