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
