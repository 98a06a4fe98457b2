"""Python's full garbage collections, kept out of the push.

A server with ten tabs open holds ~300,000 objects that live as long as their session (Panel
and Bokeh models: ~26,000 a tab). A full collection walks all of them: 100 to 300 ms measured,
during which no thread runs — the runner, the writer and every tab's push wait, and a burst of
fills shows that late in every tab. So what a session built is frozen (``gc.freeze``: left
out of every later collection) once its page is live, and collections walk only what was made
since; when a session closes, everything is thawed and collected at once, its garbage with it
(one pause when a tab closes, never in the middle of a burst), then frozen again. Cyclic
garbage among frozen objects waits for that next close: bounded by what was frozen.

While a session is live, what lived a second is frozen too (:func:`settled`, on the server's
heartbeat): else the objects made since the last freeze pile up and each full collection walks
them all. Measured at 50 sessions: once the sessions were open, five full collections in 65 s, each
18-41 ms on the loop's or the runner's thread, found nothing to collect (0 objects in each);
while sessions opened, one every 2-3 s, 43-263 ms each.
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()


def session_live() -> None:
    """A session's page is live: what it built stays until it closes."""
    with _lock:
        gc.freeze()


def session_closed() -> None:
    """A session closed: collect its garbage now, and freeze what the others hold."""
    with _lock:
        gc.unfreeze()
        gc.collect()
        gc.freeze()


def settled() -> None:
    """Once a second while a session is live: what lived that long stays out of collections
    too (the next session's close collects what of it became garbage)."""
    with _lock:
        gc.freeze()
