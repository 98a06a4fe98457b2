"""Where a session's updates run: its document, on the loop that serves it.

A :class:`~seamless.push.session.SessionFeed` schedules through one of these, from any
thread (the writer's, a command's worker), and applies its changes inside ``batch()``.

Not Bokeh's ``doc.add_next_tick_callback``: it announces the callback as a document event,
and while the loop holds the document (Panel's ``hold()``, around every batch of updates)
that event joins the held events, which Panel copies and clears without a lock. A callback
added from the writer's thread at that moment was lost, and the session never updated again
(seen after a burst of fills: the tab showed no more toasts). Tornado's
``IOLoop.add_callback`` is safe from any thread and knows nothing of holds.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager as ContextManager
from typing import Any, Protocol


class SessionDoc(Protocol):
    """What a session feed needs of the place its views live."""

    def add_next_tick_callback(self, fn: Callable[[], Any]) -> None: ...  # any thread

    def add_timeout_callback(self, fn: Callable[[], Any], ms: int) -> None: ...  # any thread

    def batch(self) -> ContextManager: ...  # around one round of changes, on the loop


class ServerDoc:
    """A Bokeh server session's document, on the server's loop (build it on that loop)."""

    def __init__(self, document, loop=None) -> None:
        from tornado.ioloop import IOLoop
        self.document = document
        self.loop = loop or IOLoop.current()
        self.closed = False

    def close(self) -> None:
        """The session is gone: what is still queued for it is dropped."""
        self.closed = True

    def add_next_tick_callback(self, fn: Callable[[], Any]) -> None:
        self.loop.add_callback(self._run, fn)

    def add_timeout_callback(self, fn: Callable[[], Any], ms: int) -> None:
        self.loop.add_callback(self.loop.call_later, ms / 1000, self._run, fn)  # call_later is loop-only

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

    def add_next_tick_callback(self, fn: Callable[[], Any]) -> None:
        self.loop.add_callback(fn)

    def add_timeout_callback(self, fn: Callable[[], Any], ms: int) -> None:
        self.loop.add_callback(self.loop.call_later, ms / 1000, fn)

    def batch(self) -> ContextManager:
        return contextlib.nullcontext()
