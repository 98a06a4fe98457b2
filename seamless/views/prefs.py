"""The page's side of the preferences (seamless.service.prefs): which browser this is, and
the viewer's time zone; and what a dashboard restores and keeps (open tab, filters, bar size,
each table's hidden columns, the zone times show in, theme).

An anonymous viewer is told apart by an id the browser keeps (``localStorage``, copied into a
cookie so the server knows it as the page is built, before anything renders); a logged-in
one by their user name, whatever the browser.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import panel as pn
import param

COOKIE = "seamless_browser"
ZONE_COOKIE = "seamless_zone"  # the viewer's time zone as of the last visit: known as the page is built

_RENDER = """
let id = null;
try { id = window.localStorage.getItem('seamless-browser'); } catch (e) {}
if (!id) {
  id = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + String(Math.random()).slice(2);
  try { window.localStorage.setItem('seamless-browser', id); } catch (e) {}
}
document.cookie = 'seamless_browser=' + id + '; max-age=31536000; path=/; SameSite=Lax';
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || '';
document.cookie = 'seamless_zone=' + zone + '; max-age=31536000; path=/; SameSite=Lax';
data.zone = zone;
data.browser = id;
"""


class Viewer(pn.reactive.ReactiveHTML):
    """Invisible: tells the server this browser's id and time zone once the page renders."""

    browser = param.String("", doc="An id this browser keeps across visits")
    zone = param.String("", doc="The viewer's time zone (IANA name)")

    _template = '<div id="seamless_viewer" style="display:none"></div>'
    _scripts = {"render": _RENDER}

    def __init__(self, **params) -> None:
        super().__init__(height=0, width=0, margin=0, **params)


class Kept:
    """Widget values kept for one viewer: ``bind(name, widget, param)`` restores the saved
    value (if any) and saves each change. ``restore(doc)`` applies a doc loaded later."""

    def __init__(self, save: Callable[[dict[str, Any]], None], doc: dict[str, Any] | None = None) -> None:
        self._save = save
        self.doc: dict[str, Any] = dict(doc or {})
        self._bound: dict[str, tuple[Any, str]] = {}
        self._restoring = False

    def bind(self, name: str, obj: Any, attr: str = "value") -> None:
        self._bound[name] = (obj, attr)
        self._apply(name)
        obj.param.watch(lambda e, n=name: self._changed(n, e.new), attr)

    def _apply(self, name: str) -> None:
        if name not in self.doc:
            return
        obj, attr = self._bound[name]
        value = self.doc[name]
        objects = getattr(obj, "options", None)
        if isinstance(objects, dict):  # label -> value
            objects = list(objects.values())
        if attr == "value" and objects is not None and not isinstance(value, list) and value not in objects:
            return  # a symbol no longer traded, a bar size no longer offered: keep the default
        self._restoring = True
        try:
            setattr(obj, attr, value)
        except (ValueError, TypeError):
            pass  # a value this version no longer takes: keep the default
        finally:
            self._restoring = False

    def restore(self, doc: dict[str, Any]) -> None:
        self.doc = {**doc, **self.doc} if self.doc else dict(doc)
        for name in self._bound:
            self._apply(name)

    def set(self, name: str, value: Any) -> None:
        """Keep ``name`` (one not bound to a widget: the theme)."""
        if self.doc.get(name) != value:
            self.doc[name] = value
            self._save(dict(self.doc))

    def _changed(self, name: str, value: Any) -> None:
        if self._restoring or self.doc.get(name) == value:
            return
        self.doc[name] = value
        self._save(dict(self.doc))
