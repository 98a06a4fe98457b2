"""seamless.views.speedups: a change skips Panel's design step, a stylesheets change keeps it."""
import panel as pn
from bokeh.document import Document
from panel.theme import Fast
from panel.theme.base import Design

from seamless.views import speedups


def test_a_change_goes_to_the_model_without_the_design_and_stylesheets_keep_it(monkeypatch):
    speedups.install()
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


def test_a_message_makes_references_only_for_the_models_it_names(monkeypatch):
    """A PATCH-DOC encodes the same with the lazy references, without a ref per document model."""
    import json

    from bokeh.core.serialization import Serializer
    from bokeh.document.events import ModelChangedEvent
    from bokeh.model import Model
    from bokeh.models import Column, Div
    from bokeh.protocol import Protocol

    speedups.install()

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

    refs = []
    original_ref = Model.ref
    monkeypatch.setattr(Model, "ref", property(lambda self: refs.append(self) or original_ref.fget(self)))
    lazy = message()
    made = len(refs)
    init, get_ref, has_ref = speedups._serializer
    with monkeypatch.context() as m:
        m.setattr(Serializer, "__init__", init)
        m.setattr(Serializer, "get_ref", get_ref)
        m.setattr(Serializer, "has_ref", has_ref)
        refs.clear()
        eager = message()
        assert len(refs) > 200, "Bokeh's own Serializer makes a ref for every model"
    assert lazy == eager
    new = json.loads(lazy)["events"][0]["new"]
    assert new[0] == {"id": "kept"}  # a model the page has: by reference
    assert new[1]["id"] == "fresh" and new[1]["type"] == "object"  # a new one: whole
    assert made <= 3, f"{made} refs made for a message naming three models"
