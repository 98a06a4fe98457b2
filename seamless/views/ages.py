"""Ages counted by the page: 'RUNNING 45 s ago', 'updated 3 min ago', 'STALE · updated 9 s ago'.

An age in seconds changes every second. Rendered by the server, it was a change a second in
every session (the header's runner and broker ages through their first two minutes, a view's
badge once its data stopped), each a message written by the server's one loop. Here the server
renders only when something happened, as an element's ``data-since`` (epoch seconds), and the
page counts from it on the server's clock.
"""

from __future__ import annotations

import html
import time

import panel as pn
import param

from ..compat import panel_models
from .palette import RED

# The same words as seamless.fmt.age.
_RENDER = """
state.skew = data.clock ? data.clock - Date.now() / 1000 : 0;
state.age = (s) => s < 1 ? 'just now' : s < 120 ? `${Math.round(s)} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago`
  : s < 172800 ? `${(s / 3600).toFixed(1)} h ago` : `${Math.round(s / 86400)} d ago`;
state.tick = () => {
  const now = Date.now() / 1000 + state.skew;
  for (const el of live.querySelectorAll('[data-since]')) {
    const age = Math.max(0, now - Number(el.dataset.since));
    let text = (el.dataset.prefix || '') + state.age(age);
    if (el.dataset.staleAfter !== undefined) {
      const stale = age > Number(el.dataset.staleAfter);
      el.classList.toggle('seamless-stale', stale);
      el.classList.toggle('seamless-fresh', !stale);
      if (stale) text = 'STALE · ' + text;
    }
    if (el.textContent !== text) el.textContent = text;
  }
};
// The HTML comes escaped, as Panel sends a template (its sanitizer would strip every attribute).
state.show = () => {
  const t = document.createElement('textarea');
  t.innerHTML = data.object;
  live.innerHTML = t.value;
  // Counted only once there is an age to count (the KPI tiles never show one).
  if (state.timer === undefined && live.querySelector('[data-since]')) state.timer = setInterval(state.tick, 1000);
  state.tick();
};
state.show();
"""

_CSS = f"""
.seamless-fresh {{ color: #666; }}
.seamless-stale {{ color: #fff; background: {RED}; padding: 2px 6px; border-radius: 4px; }}
"""


class LiveHTML(pn.reactive.ReactiveHTML):
    """HTML whose ``data-since`` elements show their age, counted by the page every second."""

    object = param.String(
        default="",
        doc="The HTML shown, escaped (see text). An element with data-since=<epoch seconds> shows the age "
        "since then, after its data-prefix; with data-stale-after=<seconds>, past that age it is stale "
        "(class seamless-stale, 'STALE · ' before its text), else fresh (class seamless-fresh)",
    )
    clock = param.Number(default=0.0, doc="The server's clock when the HTML was last set: the page counts on it")

    _template = '<div id="live" class="seamless-live"></div>'
    _scripts = {
        "render": _RENDER,
        "object": "state.show()",
        "clock": "state.skew = data.clock - Date.now() / 1000",
        "remove": "clearInterval(state.timer)",
    }

    def __init__(self, text: str = "", **params) -> None:
        params["stylesheets"] = [_CSS, *params.get("stylesheets", [])]
        super().__init__(object=html.escape(text), clock=time.time(), **params)
        self.text = text  # the HTML shown, as given

    def set_text(self, text: str) -> None:
        """Show the HTML ``text``, if it is new (an unchanged page costs no message)."""
        if text != self.text:
            self.text = text
            # Inside the push's hold, straight to the page's model: Panel's path was most of a
            # header's cost in each session (seamless.compat.panel_models), the header's equity
            # moving with every mark.
            panel_models.held_set(self, "object", html.escape(text))
            panel_models.held_set(self, "clock", time.time())


def since(ts: float, prefix: str = "", *, css: str = "", stale_after: float | None = None, text: str = "") -> str:
    """An element the page keeps showing ``prefix`` + the age of ``ts`` in (``text`` until it does)."""
    attrs = f' class="{css}"' if css else ""
    attrs += f' data-since="{ts:.3f}" data-prefix="{html.escape(prefix)}"'
    if stale_after is not None:
        attrs += f' data-stale-after="{stale_after:g}"'
    return f"<span{attrs}>{html.escape(text)}</span>"
