"""Toasts for alerts and command results, in every open tab.

Not Panel's NotificationArea: each of its notifications is a new Bokeh model, and adding a
model makes Bokeh re-walk every model of the session's document (this dashboard has
hundreds) — measured at 90% of the server loop with 10 tabs and four fills a second. Here a
session's recent toasts travel as one string property; the browser shows the new ones with
the same Notyf library (loaded by ``pn.extension(notifications=True)``), so they look and
behave (``.notyf__toast``) as Panel's do.
"""
from __future__ import annotations

import html
import json

import panel as pn
import param

_RENDER = """
state.toaster = new Notyf({dismissible: true, position: {x: 'right', y: 'bottom'}, types: [
  {type: 'info', background: '#2471a3', icon: false},
  {type: 'warning', background: '#b9770e', icon: false},
  {type: 'success', background: '#1e8449'},
  {type: 'error', background: '#c0392b'},
]});
const shown = JSON.parse(data.recent);
state.last = shown.length ? shown[shown.length - 1][0] : 0;  // shown before this page: not again
"""

_SHOW = """
for (const [id, kind, text, duration] of JSON.parse(data.recent)) {
  if (id <= state.last) continue;
  state.last = id;
  state.toaster.open({type: kind, message: text, duration: duration, dismissible: true});
}
"""


class Toasts(pn.reactive.ReactiveHTML):
    """``info``/``success``/``warning``/``error(text, duration=ms)``; 0 stays until closed."""

    # Several toasts set in one message (a burst of fills) arrive as the last value only: the
    # list must hold the whole burst, or toasts for critical events would be lost.
    recent = param.String("[]", doc="The last toasts as JSON [id, kind, text, duration]")

    _template = '<div id="seamless_toasts" style="display:none"></div>'
    _scripts = {"render": _RENDER, "recent": _SHOW}

    def __init__(self, keep: int = 100, **params) -> None:
        super().__init__(height=0, width=0, margin=0, **params)
        self._keep = keep
        self._items: list[list] = []
        self._next = 0

    def show(self, kind: str, text: str, duration: int = 5000) -> None:
        self._next += 1
        self._items = [*self._items, [self._next, kind, html.escape(text), duration]][-self._keep:]
        self.recent = json.dumps(self._items)

    def info(self, text: str, duration: int = 5000) -> None:
        self.show("info", text, duration)

    def success(self, text: str, duration: int = 5000) -> None:
        self.show("success", text, duration)

    def warning(self, text: str, duration: int = 5000) -> None:
        self.show("warning", text, duration)

    def error(self, text: str, duration: int = 0) -> None:
        self.show("error", text, duration)
