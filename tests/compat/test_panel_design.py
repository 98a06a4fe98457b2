"""seamless.compat.panel_design: a change skips Panel's design step, a stylesheets change keeps
it, and the page gets the same property changes either way."""

from __future__ import annotations

import json
import re

import pandas as pd
import panel as pn
from bokeh.core.serialization import Serializer
from bokeh.document import Document
from panel.theme import Fast
from panel.theme.base import Design


def _plain(value):
    """A property's new value as the page would get it, ids (random each run) left out."""
    text = json.dumps(Serializer(deferred=False).encode(value), default=str)
    return re.sub(r'"(p?\d{4,}|[0-9a-f]{32})"', '"<id>"', text)


def changes() -> list:
    """Each Bokeh property change a few components' parameter changes make, in order."""
    doc = Document()
    text = pn.widgets.TextInput(value="a", design=Fast)
    html = pn.pane.HTML("<b>x</b>", design=Fast)
    table = pn.widgets.Tabulator(pd.DataFrame({"x": [1.0]}), design=Fast)
    row = pn.Row(text, html, table)
    doc.add_root(row.get_root(doc))
    sent = []
    doc.on_change(
        lambda e: sent.append(
            (
                type(e).__name__,
                getattr(e, "attr", None),
                type(getattr(e, "model", None)).__name__,
                _plain(e.model.data if getattr(e, "attr", None) == "data" else getattr(e, "new", None)),
            )
        )
    )
    text.value = "b"
    text.placeholder = "type"
    html.object = "<i>y</i>"
    html.styles = {"color": "red"}
    table.disabled = True
    text.stylesheets = [":host { color: red; }"]
    html.css_classes = ["seamless-x"]
    table.value = pd.DataFrame({"x": [2.0, 3.0]})
    return sent


def test_the_page_gets_the_same_property_changes(patched, unpatched):
    unpatched("panel_design")
    own = changes()
    patched("panel_design")
    assert changes() == own
    assert any(attr == "stylesheets" for _, attr, _, _ in own)


def test_a_change_goes_to_the_model_without_the_design_and_stylesheets_keep_it(monkeypatch, patched):
    patched("panel_design")
    calls = []
    original = Design.params
    monkeypatch.setattr(Design, "params", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    w = pn.widgets.TextInput(value="a", design=Fast)
    model = w.get_root(Document())
    design_sheets = len(model.stylesheets)
    assert design_sheets > 0  # Fast's own

    calls.clear()
    w.value = "b"
    assert model.value == "b" and calls == []

    w.stylesheets = [":host { color: red; }"]
    assert calls, "a stylesheets change still goes through the design"
    assert len(model.stylesheets) == design_sheets + 1 and model.stylesheets[-1] == ":host { color: red; }"
