"""seamless.compat.bokeh_refs: a PATCH-DOC encodes the same with the lazy references, without a
reference made for every model of the document."""

from __future__ import annotations

import json

from bokeh.core.serialization import Serializer
from bokeh.document import Document
from bokeh.document.events import ModelChangedEvent
from bokeh.model import Model
from bokeh.models import Column, Div
from bokeh.protocol import Protocol


def message() -> str:
    """A session's document, all sent: a column gets one of its models and a new one."""
    doc = Document()
    divs = [Div(text=str(i)) for i in range(200)]
    column = Column(children=divs[:2])
    doc.add_root(column)
    for d in divs[2:]:
        doc.add_root(d)
    doc.models.flush_synced()
    fresh = Div(text="new")
    column.children = [divs[1], fresh]
    content = Protocol().create("PATCH-DOC", [ModelChangedEvent(doc, column, "children", column.children)]).content
    text = json.dumps(content)
    for model, name in ((column, "column"), (divs[1], "kept"), (fresh, "fresh")):
        text = text.replace(f'"{model.id}"', f'"{name}"')
    return text


def test_a_message_is_the_same_and_makes_references_only_for_the_models_it_names(monkeypatch, patched, unpatched):
    refs = []
    original_ref = Model.ref
    monkeypatch.setattr(Model, "ref", property(lambda self: refs.append(self) or original_ref.fget(self)))

    unpatched("bokeh_refs")
    eager = message()
    assert Serializer.__init__.__module__ == "bokeh.core.serialization"
    assert len(refs) > 200, "Bokeh's own Serializer makes a ref for every model"

    patched("bokeh_refs")
    refs.clear()
    lazy = message()
    assert lazy == eager
    new = json.loads(lazy)["events"][0]["new"]
    assert new[0] == {"id": "kept"}  # a model the page has: by reference
    assert new[1]["id"] == "fresh" and new[1]["type"] == "object"  # a new one: whole
    assert len(refs) <= 3, f"{len(refs)} refs made for a message naming three models"
