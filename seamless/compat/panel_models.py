"""A ReactiveHTML parameter set straight on the page's Bokeh models inside the push's hold.

**What it patches.** Nothing of Panel's: :func:`held_set` reads a component's private
``Reactive._models`` (its Bokeh model in each session's document), writes the value on each
model's data model (``model.data``, where Panel's ReactiveHTML mirrors its parameters under
their own names) and tells a held document by Bokeh's ``Document.callbacks.hold_value``.

**Why.** Toasts (``views.toasts``) go to every session in turn, inside each session's hold
(``push.SessionFeed``): Panel's path for a change (watchers, design, sanitizer, lookups) was
most of an alert's cost in each session. Set on the data model, the change is sent when the
hold is released, as Panel's would be.

**Versions.** Panel 1.9 and Bokeh 3.9 (``TESTED``). At install it checks the versions, that a
component keeps its models in a dict, that its Bokeh model has ``data`` and that
Bokeh's document callbacks tell ``hold_value``.

**Fallback.** Outside them (and before :func:`install`, or when a document is not held) the
parameter is set through Panel's public path; the page gets the same change.
"""

from __future__ import annotations

from typing import Any

import panel as pn
import param

from .check import Patch, first

TESTED = {"panel": ">=1.9,<1.10", "bokeh": ">=3.9,<3.10"}


def _held(model: Any) -> bool:
    doc = model.document
    return doc is not None and doc.callbacks.hold_value is not None


def held_set(component: pn.reactive.ReactiveHTML, name: str, value: Any) -> None:
    """``setattr(component, name, value)``: if installed and every model of the component is
    in a held document, straight to those models (the hold's release sends it, Panel's
    watchers skipped); else through Panel."""
    if PATCH.installed:
        models = [model.data for model, _ in component._models.values()]
        if models and all(_held(m) for m in models):
            with param.parameterized.discard_events(component):
                setattr(component, name, value)
            for data in models:
                setattr(data, name, value)
            return
    setattr(component, name, value)


def _check() -> str | None:
    from bokeh.document.callbacks import DocumentCallbackManager
    from panel.models.reactive_html import ReactiveHTML as Model

    return first(
        None if isinstance(getattr(pn.Spacer(), "_models", None), dict) else "a component has no _models dict",
        None if "data" in Model.properties() else "Panel's ReactiveHTML model has no data",
        None
        if isinstance(getattr(DocumentCallbackManager, "hold_value", None), property)
        else "Bokeh's document callbacks have no hold_value",
    )


PATCH = Patch("panel_models", TESTED, _check, lambda: None, lambda: None)
install, uninstall = PATCH.install, PATCH.uninstall
