"""Server-side shortcuts past Panel and Bokeh costs paid on every change (panel 1.9, bokeh 3).

**Design modifiers.** Each change of a component's parameter — a table's value, a pane's text,
a toast — made Panel compute the component's design parameters again (``Design.params``: its
stylesheets, each path resolved on disk), only to use them when the change is to
``stylesheets``. With ten tabs open that was a tenth of the server loop's time and a quarter
of each alert's. :func:`install` keeps Panel's path for a stylesheets change and goes straight
to the property conversion for every other.

**References.** Each message to a page (Bokeh's PATCH-DOC) made a reference for every model
of the session's document (hundreds) before encoding the few the message names; with ten
tabs that was a third of each alert's time on the server (py-spy). :func:`install` makes a
model's reference when the encoding first asks for it; what is encoded is the same.
"""
from __future__ import annotations

from typing import Any

from bokeh.core.serialization import Serializer
from bokeh.model import Model
from panel.reactive import Reactive

_original = Reactive._update_properties
_serializer = (Serializer.__init__, Serializer.get_ref, Serializer.has_ref)  # Bokeh's, for the tests


def _update_properties(self: Reactive, *events: Any, doc: Any) -> dict[str, Any]:
    if any(e.name == "stylesheets" for e in events):
        return _original(self, *events, doc=doc)
    return self._process_param_change({e.name: e.new for e in events})


def _serializer_init(self: Serializer, *, references: set = frozenset(), deferred: bool = True,
                     check_circular: bool = False) -> None:
    self._known = references  # the document's models: each encoded as a reference, made when asked
    self._references = {}
    self._deferred = deferred
    self._check_circular = check_circular
    self._circular = {}
    self._buffers = []


def _get_ref(self: Serializer, obj: Any) -> Any:
    ref = self._references.get(id(obj))
    if ref is None and isinstance(obj, Model) and obj in self._known:
        ref = self._references[id(obj)] = obj.ref
    return ref


def _has_ref(self: Serializer, obj: Any) -> bool:
    return _get_ref(self, obj) is not None


def install() -> None:
    """Idempotent: each session's Dashboard calls it; the first call patches the classes."""
    Reactive._update_properties = _update_properties
    Serializer.__init__ = _serializer_init
    Serializer.get_ref = _get_ref
    Serializer.has_ref = _has_ref
