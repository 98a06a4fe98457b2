"""Server-side shortcuts past Panel costs paid on every change (panel 1.9).

**Design modifiers.** Each change of a component's parameter — a table's value, a pane's text,
a toast — made Panel compute the component's design parameters again (``Design.params``: its
stylesheets, each path resolved on disk), only to use them when the change is to
``stylesheets``. With ten tabs open that was a tenth of the server loop's time and a quarter
of each alert's. :func:`install` keeps Panel's path for a stylesheets change and goes straight
to the property conversion for every other.
"""
from __future__ import annotations

from typing import Any

from panel.reactive import Reactive

_original = Reactive._update_properties


def _update_properties(self: Reactive, *events: Any, doc: Any) -> dict[str, Any]:
    if any(e.name == "stylesheets" for e in events):
        return _original(self, *events, doc=doc)
    return self._process_param_change({e.name: e.new for e in events})


def install() -> None:
    """Idempotent: each session's Dashboard calls it; the first call patches the class."""
    Reactive._update_properties = _update_properties
