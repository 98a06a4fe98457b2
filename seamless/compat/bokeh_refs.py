"""A message to a page makes Bokeh references only for the models it names.

**What it patches.** ``bokeh.core.serialization.Serializer``'s ``__init__``, ``get_ref`` and
``has_ref``, for the whole process: the serializer keeps the document's models as given and
makes a model's reference (``Model.ref``) when the encoding first asks for it, into the same
private ``_references`` Bokeh's own ``add_ref`` fills.

**Why.** Each message to a page (Bokeh's PATCH-DOC) made a reference for every model of the
session's document (hundreds) before encoding the few the message names; with ten tabs that
was a third of each alert's time on the server (py-spy). What is encoded is the same.

**Versions.** Bokeh 3.9 (``TESTED``). At install it checks the version, the three methods'
signatures, ``add_ref`` and that the serializer's state is the five attributes set here
(its annotations): a new one would be left unset.

**Fallback.** Outside them Bokeh's own Serializer stays (one
:class:`~seamless.compat.check.CompatFallbackWarning`): the same messages, every model's
reference made for each.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from bokeh.core.serialization import Serializer
from bokeh.model import Model

from .check import Patch, first, signature_is

TESTED = {"bokeh": ">=3.9,<3.10"}

_STATE = {"_references", "_deferred", "_check_circular", "_circular", "_buffers"}  # what __init__ sets
_original = {name: Serializer.__dict__.get(name) for name in ("__init__", "get_ref", "has_ref")}


def _serializer_init(
    self: Any, *, references: Collection[Model] = frozenset(), deferred: bool = True, check_circular: bool = False
) -> None:
    self._known = references  # the document's models: each encoded as a reference, made when asked
    self._references = {}
    self._deferred = deferred
    self._check_circular = check_circular
    self._circular = {}
    self._buffers = []


def _get_ref(self: Any, obj: Any) -> Any:
    ref = self._references.get(id(obj))
    if ref is None and isinstance(obj, Model) and obj in self._known:
        ref = self._references[id(obj)] = obj.ref
    return ref


def _has_ref(self: Any, obj: Any) -> bool:
    return _get_ref(self, obj) is not None


def _check() -> str | None:
    state = {k for k in getattr(Serializer, "__annotations__", {}) if not k.startswith("__")} - {"_encoders"}
    return first(
        signature_is("Serializer.__init__", _original["__init__"], "self", "references", "deferred", "check_circular"),
        signature_is("Serializer.get_ref", _original["get_ref"], "self", "obj"),
        signature_is("Serializer.has_ref", _original["has_ref"], "self", "obj"),
        signature_is("Serializer.add_ref", Serializer.__dict__.get("add_ref"), "self", "obj", "ref"),
        None if state == _STATE else f"Serializer's state is {sorted(state)}, not {sorted(_STATE)}",
        None if isinstance(getattr(Model, "ref", None), property) else "Model.ref is not a property",
    )


def _apply() -> None:
    Serializer.__init__ = _serializer_init  # type: ignore[method-assign]  # the patch
    Serializer.get_ref = _get_ref  # type: ignore[method-assign]  # the patch
    Serializer.has_ref = _has_ref  # type: ignore[method-assign]  # the patch


def _revert() -> None:
    for name, fn in _original.items():
        setattr(Serializer, name, fn)


PATCH = Patch("bokeh_refs", TESTED, _check, _apply, _revert)
install, uninstall = PATCH.install, PATCH.uninstall
