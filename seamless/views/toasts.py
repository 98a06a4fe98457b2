"""Toasts for alerts and command results, in every open tab.

A flush's toasts travel together as one string property (JSON); the browser shows the ones it
has not shown yet. Why not Panel's NotificationArea: each of its notifications is a new Bokeh
model, and adding a model makes Bokeh re-walk every model of the session's document — 90% of
the server loop with 10 tabs and four fills a second. Why not its Notyf either: Notyf animates
each toast in and out, and with a fill a second that kept the browser compositing all the
time (measured: a third of one tab's browser CPU). These are plain boxes in the page's light
DOM (``.seamless-toast``), stacked at the foot of the sidebar, in its flow (wide screens: the
sidebar's contents scroll above them), or at the top of the content (narrow ones, or the
sidebar closed): never over a table, a chart or a setting. Closed by a click, after their duration,
or — a standing alert, keyed — by the event that resolves it. A new message's toasts all show;
older ones that close by themselves go to leave ``MAX_SHOWN`` (errors stay until closed).
"""

from __future__ import annotations

import itertools
import json

import panel as pn
import param

from ..compat import panel_models
from .palette import AMBER, BLUE, GREEN, RED

# The last toast shown lives on the page, not the component: should the component render again
# in the same page, nothing queued meanwhile is skipped; a new page starts after what it was
# sent with (those toasts were for before it opened).
_RENDER = """
let box = document.querySelector('.seamless-toasts');
if (box === null) {
  box = document.createElement('div');
  box.className = 'seamless-toasts';
  box.setAttribute('aria-live', 'polite');
  document.body.appendChild(box);
  // Wide: in the sidebar's flow, under its contents, which scroll above the toasts: a toast
  // takes room from the sidebar and covers nothing. Narrow (the sidebar stacks above the
  // content), or the sidebar closed: in the page's flow at the top of the content, pushing the
  // tables down. Never over the main area's tables and charts.
  const place = () => {
    const narrow = window.matchMedia('(max-width: 700px)').matches;
    const main = document.getElementById('main');
    const sidebar = document.getElementById('sidebar');
    const side = !narrow && sidebar !== null && !sidebar.classList.contains('hidden');
    if (side) {
      if (box.parentNode !== sidebar || box.nextSibling !== null) sidebar.appendChild(box);
    } else {
      const target = main || document.body;
      if (box.parentNode !== target) target.insertBefore(box, target.firstChild);
    }
    box.classList.toggle('seamless-toasts--side', side);
    box.classList.toggle('seamless-toasts--inline', !side && main !== null);
  };
  place();
  window.matchMedia('(max-width: 700px)').addEventListener('change', place);
  const sidebar = document.getElementById('sidebar');
  if (sidebar !== null) new MutationObserver(place).observe(sidebar, {attributes: true, attributeFilter: ['class']});
}
state.box = box;
if (window.__seamlessToastLast === undefined) {
  const sent = JSON.parse(data.recent);
  window.__seamlessToastLast = sent.length ? sent[sent.length - 1][0] : 0;
}
self.recent();
"""

MAX_SHOWN = 5  # toasts that close by themselves, newest kept

# One numbering for every session's toasts (a page shows those numbered after the last it
# showed), so a burst's toasts, described once for every session (views.alerts.described), are
# numbered and encoded once: the last list shown and its JSON.
_IDS = itertools.count(1)
_LAST: list[tuple[list[tuple], str]] = []

_SHOW = """
const MAX_SHOWN = %d;
const colors = {info: '%s', warning: '%s', success: '%s', error: '%s'};
const fresh = new Set();
for (const [id, kind, text, duration, key] of JSON.parse(data.recent)) {
  if (id <= window.__seamlessToastLast) continue;
  window.__seamlessToastLast = id;
  // A keyed toast replaces the one of its key; kind 'clear' only removes it (the event that
  // resolves a standing alert: trading ACTIVE again clears 'Trading HALTED').
  if (key) for (const old of state.box.querySelectorAll('.seamless-toast')) if (old.dataset.key === key) old.remove();
  if (kind === 'clear') continue;
  const toast = document.createElement('div');
  toast.className = 'seamless-toast seamless-toast--' + kind;
  toast.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  toast.style.background = colors[kind] || '#555';
  if (key) toast.dataset.key = key;
  const message = document.createElement('span');
  message.className = 'seamless-toast__message';
  message.textContent = text;  // text, never HTML
  toast.appendChild(message);
  toast.title = 'click to close';
  toast.onclick = () => toast.remove();
  state.box.appendChild(toast);  // newest at the bottom, nearest the corner
  if (duration > 0) {
    toast.dataset.transient = '';
    fresh.add(toast);
    setTimeout(() => toast.remove(), duration);
  }
}
// A burst would stack dozens: older toasts go to leave the newest few (standing alerts stay
// until closed or resolved). This message's own all show, however many: each is seen once.
const older = [...state.box.querySelectorAll('.seamless-toast[data-transient]')].filter((t) => !fresh.has(t));
for (let i = 0; i < Math.min(older.length, older.length + fresh.size - MAX_SHOWN); i++) older[i].remove();
"""

# The toasts' box: its place (see _RENDER) and the toasts' look. The sidebar's contents keep
# their scrollbar's room: a toast that makes them scroll does not narrow (and lay out again)
# every widget in the sidebar. Page-wide (the box is in the page's light DOM), set once per
# page with the template's other CSS.
CSS = """
.seamless-toasts { position: fixed; left: 8px; bottom: 8px; width: calc(var(--sidebar-width, 330px) - 16px);
  z-index: 10000; display: flex; flex-direction: column; gap: 6px; max-height: 40vh; overflow-y: auto;
  pointer-events: none; }
.seamless-toasts--side { position: static; width: auto; flex: 0 0 auto; margin: 0; }
.seamless-toasts--side:not(:empty) { padding-top: 6px; }
.seamless-toasts--inline { position: static; width: auto; max-height: none; margin: 0 8px 6px 8px; }
@media (min-width: 701px) {
  #sidebar { display: flex; flex-direction: column; overflow-y: hidden; height: 100%; box-sizing: border-box; }
  #sidebar > ul { flex: 1 1 auto; min-height: 0; overflow-y: auto; flex-wrap: nowrap; margin-bottom: 0;
    scrollbar-gutter: stable; }
}
.seamless-toast { pointer-events: auto; cursor: pointer; color: #fff; padding: 8px 12px; border-radius: 4px;
  box-shadow: 0 2px 6px rgba(0,0,0,.3); font: 13px sans-serif; overflow-wrap: anywhere; }
"""


class Toasts(pn.reactive.ReactiveHTML):
    """``info``/``success``/``warning``/``error(text, duration=ms)``; 0 stays until closed."""

    # Toasts set one after another within one message (Panel's hold()) would arrive as the
    # last value only: a burst of alerts is set at once (show_many), each toast once, uncapped.
    recent = param.String("[]", doc="The latest toasts as JSON [id, kind, text, duration]")

    _template = '<div id="seamless_toasts" style="display:none"></div>'
    _scripts = {"render": _RENDER, "recent": _SHOW % (MAX_SHOWN, BLUE, AMBER, GREEN, RED)}

    def __init__(self, **params) -> None:
        super().__init__(height=0, width=0, margin=0, **params)

    def show_many(self, toasts: list[tuple]) -> None:
        """Show each (kind, text, duration in ms[, key]) of ``toasts``, in one change. A toast
        with a key replaces the one showing with that key; kind ``clear`` removes it. The same
        list (read-only) shown in several sessions is one set of toasts, numbered once."""
        last = _LAST[0] if _LAST else None
        if last is not None and last[0] is toasts:
            value = last[1]
        else:
            items = [[next(_IDS), kind, text, duration, *key[:1]] for kind, text, duration, *key in toasts]
            if not items:
                return
            value = json.dumps(items)
            _LAST[:] = [(toasts, value)]
        # Straight to each page, in a message of its own: Panel's path (watchers, design,
        # sanitizer, lookups) and Bokeh's message making were most of an alert's cost in each
        # session, and alerts go to every session in turn (seamless.compat.panel_models).
        panel_models.send_at_once(self, "recent", value)

    # Shows a toast: it shadows Panel's show() (serve in a new tab), deliberately.
    def show(self, kind: str, text: str, duration: int = 5000) -> None:  # type: ignore[override]
        self.show_many([(kind, text, duration)])

    def info(self, text: str, duration: int = 5000) -> None:
        self.show("info", text, duration)

    def success(self, text: str, duration: int = 5000) -> None:
        self.show("success", text, duration)

    def warning(self, text: str, duration: int = 5000) -> None:
        self.show("warning", text, duration)

    def error(self, text: str, duration: int = 0) -> None:
        self.show("error", text, duration)
