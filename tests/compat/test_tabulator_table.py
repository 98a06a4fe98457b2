"""seamless.compat.tabulator_table: the lean table sends the page the same ``patch`` and
``stream`` messages Panel's public ``patch()``/``stream()`` would; the plain table (the fallback)
brings the page's data to the same rows, and so does a model made later either way."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import panel as pn
import pytest
from bokeh.document import Document

from seamless.compat.tabulator_table import LeanTable, Table, table_class
from seamless.views.base import append_rows, sync_table, table

COLUMNS = ["symbol", "last:f", "note"]


def frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["symbol", "last", "note"])


STEPS = [
    frame([["A", 1.0, "x"]]),
    frame([["A", 2.0, "x"]]),  # patch
    frame([["A", 2.0, "x"], ["B", np.nan, None]]),  # stream
    frame([["A", 2.0, "y"], ["B", 3.0, None], ["C", 4.0, "z"]]),  # patch + stream
    frame([["A", 2.0, "y"], ["B", 3.0, None], ["C", 4.0, "z"]]),  # nothing
    frame([["B", 3.0, None], ["C", 4.0, "z"]]),  # remove
    frame([["B", 3.0, None], ["C", np.nan, "z"]]),  # patch to NaN
    frame([["C", 4.5, "z"], ["D", 5.0, None]]),  # remove
    frame([["D", 5.0, None], ["C", 4.5, "z"]]),  # replace
    frame([]),
]


def _cell(v):
    if isinstance(v, np.generic):
        v = v.item()
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def _columns(data) -> dict:
    return {k: [_cell(v) for v in np.asarray(col, dtype=object).tolist()] for k, col in data.items()}


def recorder(model) -> list:
    """The data messages the page gets for ``model``'s source, as plain values."""
    sent = []

    def note(e):
        name = type(e).__name__
        if name == "ColumnsPatchedEvent":
            sent.append(("patch", {k: [(i, _cell(v)) for i, v in p] for k, p in e.patches.items()}))
        elif name == "ColumnsStreamedEvent":
            sent.append(("stream", _columns(e.data), e.rollover))
        elif name == "ColumnDataChangedEvent" or getattr(e, "attr", None) == "data":
            sent.append(("data", _columns(model.source.data)))

    model.document.on_change(note)
    return sent


def rendered(widget):
    doc = Document()
    model = widget.get_root(doc)
    doc.add_root(model)
    return model


def test_table_class_is_the_lean_one_only_once_installed(patched, unpatched):
    unpatched("tabulator_table")
    assert table_class() is Table and type(table(COLUMNS)) is Table
    patched("tabulator_table")
    assert table_class() is LeanTable and type(table(COLUMNS)) is LeanTable


def test_the_lean_tables_messages_are_panels_own_patch_and_stream(patched):
    """Each patch_to/append of the lean table against Panel's public patch()/stream() on a
    plain Tabulator holding the same value: the same messages."""
    patched("tabulator_table")
    lean = table(COLUMNS)
    own = pn.widgets.Tabulator(lean.value.copy(), show_index=False)
    lean_model, own_model = rendered(lean), rendered(own)
    lean_sent, own_sent = recorder(lean_model), recorder(own_model)
    calls = []
    patch_to, append = lean.patch_to, lean.append
    lean.patch_to = lambda new, patch: calls.append(("patch", patch)) or patch_to(new, patch)
    lean.append = lambda rows, value=None: calls.append(("stream", rows.copy())) or append(rows, value)

    hows = []
    for new in STEPS:
        del calls[:], lean_sent[:], own_sent[:]
        how = sync_table(lean, new, "symbol")
        hows.append(how)
        if how in ("replace", "remove"):
            own.value = lean.value.copy()
            # the columns unchanged, only the data goes (Panel's own path sends the same data)
            assert [m[0] for m in lean_sent] == ["data"], how
            assert _columns(lean_model.source.data) == _columns(own_model.source.data), how
            continue
        for kind, arg in calls:
            if kind == "patch":
                own.patch(arg, as_index=False)
            else:
                own.stream(arg, reset_index=False, follow=False)
        assert lean_sent == own_sent, how
        assert [m[0] for m in lean_sent] == how.split("+") if how != "none" else lean_sent == []
    assert hows == [
        "replace",
        "patch",
        "stream",
        "patch+stream",
        "none",
        "remove",
        "patch",
        "remove",
        "replace",
        "remove",
    ]
    assert _columns(lean_model.source.data) == _columns(own_model.source.data)


@pytest.mark.parametrize("kind", ["sync_table", "append_rows"])
def test_the_plain_table_brings_the_page_to_the_same_rows(kind, patched, unpatched):
    """The fallback sends the table whole; the page's data is the same after each step, and a
    model made later starts from the same rows."""
    unpatched("tabulator_table")
    plain = table(COLUMNS if kind == "sync_table" else ["seq:f", "msg"])
    patched("tabulator_table")
    lean = table(COLUMNS if kind == "sync_table" else ["seq:f", "msg"])
    assert (type(plain), type(lean)) == (Table, LeanTable)
    models = {t: rendered(t) for t in (plain, lean)}
    sent = {t: recorder(m) for t, m in models.items()}
    if kind == "sync_table":
        steps = [lambda t, new=new: sync_table(t, new, "symbol") for new in STEPS]
    else:
        batches = [(0, 3), (3, 3), (6, 4), (10, 1), (11, 9), (20, 2)]
        steps = [
            lambda t, s=s, n=n: append_rows(
                t, pd.DataFrame({"seq": [float(s + i) for i in range(n)], "msg": [f"m{s + i}" for i in range(n)]}), 7, 2
            )
            for s, n in batches
        ]
    for i, step in enumerate(steps):
        for t in (plain, lean):
            step(t)
        pd.testing.assert_frame_equal(plain.value, lean.value, check_dtype=False)
        page = {t: _columns(models[t].source.data) for t in (plain, lean)}
        assert page[plain] == page[lean], i
        assert _columns(rendered(plain).source.data) == _columns(rendered(lean).source.data) == page[lean], i
    assert {m[0] for m in sent[plain]} <= {"data"}, "the fallback sends the table whole"
    assert {"patch", "stream"} & {m[0] for m in sent[lean]}


def test_one_conversion_serves_every_table_given_the_same_rows(patched, monkeypatch):
    """Every session's table is given the same rows object in turn: they are converted for
    the page once, and each page gets them."""
    patched("tabulator_table")
    converted = []
    convert = LeanTable._convert
    monkeypatch.setattr(LeanTable, "_convert", lambda self, df: converted.append(df) or convert(self, df))
    tables = [table(["seq:f", "msg"]) for _ in range(3)]
    models = [rendered(t) for t in tables]
    sent = [recorder(m) for m in models]
    first = pd.DataFrame({"seq": [1.0, 2.0], "msg": ["a", "b"]})
    for t in tables:
        append_rows(t, first, 10)
    rows = pd.DataFrame({"seq": [3.0], "msg": ["c"]}, index=[2])
    del converted[:]
    for t in tables:
        t.append(rows)
    assert [df is rows for df in converted] == [True]  # the frames kept: no id reused
    for t, m, s in zip(tables, models, sent):
        assert s[-1] == ("stream", {"index": [2], "seq": [3.0], "msg": ["c"]}, None)
        assert _columns(m.source.data) == _columns(rendered(t).source.data)
        assert _columns(m.source.data)["msg"] == ["a", "b", "c"]


def test_a_sessions_patch_leaves_the_shared_frame_for_the_others(patched):
    """Every session's table holds the same frame; Bokeh applies a patch to a model's columns
    in place. One table patched twice must not change the frame another still shows: that one,
    going straight to the last frame, still sends its page the change."""
    patched("tabulator_table")
    a, b = table(COLUMNS), table(COLUMNS)
    models = {t: rendered(t) for t in (a, b)}
    marks = [frame([["A", last, "x"], ["B", 20.0, "y"]]) for last in (10.0, 11.0, 12.0)]
    for t in (a, b):
        sync_table(t, marks[0], "symbol")
    shown = b.value
    sent = recorder(models[b])
    assert [sync_table(a, m, "symbol") for m in marks[1:]] == ["patch", "patch"]
    assert list(shown["last"]) == [10.0, 20.0]
    assert _columns(models[b].source.data)["last"] == [10.0, 20.0]
    assert sync_table(b, marks[2], "symbol") == "patch"
    assert sent == [("patch", {"last": [(0, 12.0)]})]
    assert _columns(models[b].source.data)["last"] == [12.0, 20.0]
