"""The browser's side of the push's flow control (see :mod:`seamless.push.session`).

A plain Bokeh model, one per page, carried in the page by an empty Bokeh pane (``panel``, to
lay out anywhere; the model rides in its tags): the server sets ``sent``
last in each numbered update; a callback in the page, run once the update's changes before it
are applied, copies it to ``seen``, which Bokeh brings back to :attr:`BrowserAck.on_seen`.

Why not a Panel component: every change a page sends to a Panel component goes through
Panel's event processing (its busy counter set and cleared, the parameter set with its
watchers), about 12% of the server's loop at 50 sessions, for a number. A Bokeh property
callback is Bokeh applying the page's patch and one call.
"""

from __future__ import annotations

from collections.abc import Callable

import panel as pn
from bokeh.core.properties import Int
from bokeh.model import DataModel
from bokeh.models import CustomJS
from bokeh.models.widgets.markups import Div


class PageAck(DataModel):
    """The numbers of the last update sent to the page and of the last one it applied."""

    sent = Int(0, help="Number of the last update sent to this page")
    seen = Int(0, help="Number of the last update the page has applied")


class BrowserAck:
    """One page's ack: ``mark(n)`` inside an update; ``on_seen(n)`` once the page applied it."""

    def __init__(self, on_seen: Callable[[int], None]) -> None:
        self.on_seen = on_seen
        self.model = PageAck()
        self.model.js_on_change("sent", CustomJS(code="cb_obj.seen = cb_obj.sent"))
        self.model.on_change("seen", self._seen)
        self.panel = pn.pane.Bokeh(Div(tags=[self.model], width=0, height=0, margin=0), width=0, height=0, margin=0)

    def mark(self, n: int) -> None:
        self.model.sent = n  # type: ignore[assignment]  # (Bokeh's property descriptor)

    def _seen(self, _attr: str, _old: int, new: int) -> None:
        self.on_seen(new)
