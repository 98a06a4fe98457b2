"""The dashboard's views in a Jupyter notebook, following a store another process writes.

``LiveViews(path)`` shows the same views as ``panel serve app.py`` (without the controls:
commands belong to the process that owns the store). A :class:`~seamless.store.Follower`
reads the journal as it grows; the same hub and session feed push changes to the views
through the kernel's event loop.
"""

from __future__ import annotations

from pathlib import Path

import panel as pn

from .. import compat
from ..push import Hub, KernelDoc, SessionFeed
from ..store import Follower
from .dashboard import build_views


class LiveViews:
    """Live views of the store at ``path``: display ``.panel``; ``start()`` follows the
    journal in the background, ``refresh()`` catches up at once (scripts, tests)."""

    def __init__(
        self, path: str | Path, *, interval_s: float = 0.2, max_rate: float = 5.0, stale_after: float = 5.0
    ) -> None:
        compat.install("tabulator_table")  # the dashboard's lean tables (no process-wide patch)
        self.follower = Follower(path, interval_s=interval_s)
        self.hub = Hub(self.follower, max_rate)
        self.views = build_views(self.follower, self.hub, stale_after=stale_after)
        self.feed = SessionFeed(KernelDoc(), self.views, max_rate=max_rate)
        self.hub.attach(self.feed)
        self.panel = pn.Tabs(*[(v.title, v.panel) for v in self.views], dynamic=False, sizing_mode="stretch_width")

    def refresh(self) -> int:
        """Read what is new and show it now; returns how many events were new."""
        n = self.follower.poll()
        self.feed.flush_now()
        return n

    def start(self) -> LiveViews:
        self.follower.start()
        return self

    def close(self) -> None:
        self.hub.close()
        self.follower.close()

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self.panel._repr_mimebundle_(include, exclude)
