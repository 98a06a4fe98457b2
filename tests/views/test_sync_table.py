"""seamless.views.base.sync_table and append_rows on a real Tabulator (no server): what is
sent (replace, patch, stream), exactly which cells a patch carries, that the widget's value
ends equal to the new frame, and that the browser's model holds exactly that value. Each test
runs on the lean table (seamless.compat.tabulator_table installed) and on the plain one (its
fallback)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from bokeh.document import Document

from seamless import compat
from seamless.views.base import append_rows, sync_table, table

COLUMNS = ["symbol", "last:f", "note"]


@pytest.fixture(autouse=True, params=["lean", "plain"])
def table_kind(request):
    patch = compat.patch("tabulator_table")
    was = patch.installed
    if request.param == "lean":
        assert patch.install()
    else:
        patch.uninstall()
    yield request.param
    patch.uninstall()
    if was:
        patch.install()


def frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["symbol", "last", "note"])


class Spy:
    """Wraps widget.patch_to and widget.append, recording each call and passing it on."""

    def __init__(self, widget) -> None:
        self.patches: list[dict] = []
        self.streams: list[tuple] = []
        patch_to, append = widget.patch_to, widget.append

        def spy_patch(new, patch):
            self.patches.append(patch)
            return patch_to(new, patch)

        def spy_stream(rows, value=None):
            self.streams.append(rows.copy())
            return append(rows, value)

        widget.patch_to, widget.append = spy_patch, spy_stream


def rendered(widget):
    """The widget's model in a document, as a browser session would hold it."""
    return widget.get_root(Document())


def assert_model(model, widget) -> None:
    """What the browser holds is the widget's value: the same columns, rows and cells."""
    data = model.source.data
    assert list(data) == ["index", *widget.value.columns]
    assert list(data["index"]) == list(widget.value.index)
    for col in widget.value.columns:
        expected = widget.value[col].tolist()
        got = list(data[col])
        assert len(got) == len(expected), col
        for a, b in zip(got, expected):
            assert a == b or (pd.isna(a) and pd.isna(b)), (col, got, expected)


def assert_value(widget, expected: pd.DataFrame, labels=None) -> None:
    """The widget shows ``expected``, each row under its label (by default 0, 1, ...)."""
    pd.testing.assert_frame_equal(
        widget.value.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
    )
    labels = list(range(len(expected))) if labels is None else labels
    assert list(widget.value.index) == labels, "index labels drifted"


@pytest.fixture
def filled():
    w = table(COLUMNS)
    first = frame([["AAPL", 100.0, "a"], ["MSFT", np.nan, None], ["IBM", 50.0, "c"]])
    assert sync_table(w, first, "symbol") == "replace"
    assert_value(w, first)
    return w, first, Spy(w)


def test_table_columns_are_numbers_or_text_formatted_by_tabulator_itself():
    w = table(["symbol", "qty:f", "price:f4"])
    assert list(w.value.dtypes.astype(str)) == ["object", "float64", "float64"]
    assert w.formatters == {
        "symbol": {"type": "plaintext"},
        "qty": {"type": "money", "precision": False},
        "price": {"type": "money", "precision": 4},
    }
    assert w.text_align == {"qty": "right", "price": "right"}


def test_empty_table_and_empty_frame_is_none():
    w = table(COLUMNS)
    assert w.value.empty and list(w.value.columns) == ["symbol", "last", "note"]
    assert sync_table(w, frame([]), "symbol") == "none"
    assert w.value.empty


def test_first_fill_replaces():
    w = table(COLUMNS)
    spy = Spy(w)
    new = frame([["AAPL", 1.0, "x"]])
    assert sync_table(w, new, "symbol") == "replace"
    assert spy.patches == [] and spy.streams == []
    assert_value(w, new)


def test_one_changed_cell_is_patched_alone(filled):
    w, first, spy = filled
    new = first.copy()
    new.loc[2, "last"] = 51.5
    assert sync_table(w, new, "symbol") == "patch"
    assert spy.patches == [{"last": [(2, 51.5)]}]
    assert spy.streams == []
    assert_value(w, new)


def test_patch_values_are_plain_python(filled):
    w, first, spy = filled
    new = first.copy()
    new.loc[0, "last"] = 101.25
    new.loc[0, "note"] = "b"
    assert sync_table(w, new, "symbol") == "patch"
    [patch] = spy.patches
    assert patch == {"last": [(0, 101.25)], "note": [(0, "b")]}
    assert type(patch["last"][0][1]) is float and type(patch["last"][0][0]) is int
    assert_value(w, new)


def test_value_becoming_nan_is_patched_as_none(filled):
    w, first, spy = filled
    new = first.copy()
    new.loc[0, "last"] = np.nan
    assert sync_table(w, new, "symbol") == "patch"
    assert spy.patches[0] == {"last": [(0, None)]}
    assert np.isnan(w.value.loc[0, "last"])
    assert_value(w, new)


def test_nan_staying_nan_is_none(filled):
    w, first, spy = filled
    same = first.copy()  # MSFT's last is NaN, its note None: unchanged
    assert sync_table(w, same, "symbol") == "none"
    # NaN where the table holds None (object column) is no change either
    same_nan_note = first.copy()
    same_nan_note["note"] = same_nan_note["note"].astype(object)
    same_nan_note.loc[1, "note"] = np.nan
    assert sync_table(w, same_nan_note, "symbol") == "none"
    assert spy.patches == [] and spy.streams == []
    assert_value(w, first)


def test_appended_rows_are_streamed(filled):
    w, first, spy = filled
    new = pd.concat([first, frame([["GOOG", 10.0, "g"], ["TSLA", 20.0, "t"]])], ignore_index=True)
    assert sync_table(w, new, "symbol") == "stream"
    assert spy.patches == []
    [streamed] = spy.streams
    assert list(streamed["symbol"]) == ["GOOG", "TSLA"]
    assert_value(w, new)


def test_changed_and_appended_rows_patch_then_stream(filled):
    w, first, spy = filled
    new = pd.concat([first, frame([["GOOG", 10.0, "g"]])], ignore_index=True)
    new.loc[1, "last"] = 7.0  # MSFT: NaN -> 7
    assert sync_table(w, new, "symbol") == "patch+stream"
    assert spy.patches == [{"last": [(1, 7.0)]}]
    assert [list(s["symbol"]) for s in spy.streams] == [["GOOG"]]
    assert_value(w, new)


def test_frame_index_does_not_matter(filled):
    w, first, spy = filled
    new = first.copy()
    new.index = [10, 20, 30]
    new.loc[20, "note"] = "m"
    assert sync_table(w, new, "symbol") == "patch"
    assert spy.patches[0] == {"note": [(1, "m")]}
    assert_value(w, new)


@pytest.mark.parametrize(
    "change,labels",
    [
        ("removed_last", [0, 1]),
        ("removed_middle", [0, 2]),
        ("removed_first", [1, 2]),
        ("emptied", []),
        ("removed_and_added", [0, 2, 3, 4]),
    ],
)
def test_removed_rows_keep_the_others_labels_and_new_rows_take_new_ones(filled, change, labels):
    """The page tells rows apart by label: it deletes the rows gone and keeps the others
    (see seamless/compat/tabulator_js.py) only if every row that stays keeps its label."""
    w, first, spy = filled
    if change == "removed_last":
        new = first.iloc[:2]
    elif change == "removed_middle":
        new = first.iloc[[0, 2]]
    elif change == "removed_first":
        new = first.iloc[1:]
    elif change == "emptied":
        new = first.iloc[:0]
    else:
        new = pd.concat(
            [first.iloc[[0, 2]].assign(last=[101.0, 51.0]), frame([["GOOG", 7.0, "g"], ["TSLA", 8.0, "t"]])]
        )
    assert sync_table(w, new, "symbol") == "remove"
    assert spy.patches == [] and spy.streams == []
    assert_value(w, new, labels)


@pytest.mark.parametrize("change", ["reordered", "key_renamed", "old_after_new", "new_column"])
def test_reordered_rows_replace(filled, change):
    w, first, spy = filled
    if change == "reordered":
        new = first.iloc[[1, 0, 2]]
    elif change == "key_renamed":
        new = first.copy()
        new.loc[0, "symbol"] = "AAPL.X"
    elif change == "old_after_new":
        new = pd.concat([frame([["GOOG", 7.0, "g"]]), first.iloc[[1]]])
    else:
        new = first.assign(extra=1.0)
    assert sync_table(w, new, "symbol") == "replace"
    assert spy.patches == [] and spy.streams == []
    if change == "new_column":
        assert list(w.value.columns) == ["symbol", "last", "note", "extra"]
    assert_value(w, new)


def test_a_number_column_stays_numbers_when_empty_or_all_none():
    """An empty frame's columns are objects; were the table's number column to become one,
    Panel would send the page a new configuration (no number sorter), and the page would
    build the whole table again: every time the open orders came and went."""
    w = table(COLUMNS)
    model = rendered(w)
    sync_table(w, frame([["A", 1.0, "x"]]), "symbol")
    configuration = model.configuration
    for new in (frame([]), frame([["B", None, None]]), frame([["B", 2.0, "y"]]), frame([])):
        sync_table(w, new, "symbol")
        assert w.value["last"].dtype == float
        assert model.configuration == configuration


def test_a_sequence_of_syncs_keeps_the_value_and_the_browser_equal_to_the_frame(table_kind):
    w = table(COLUMNS)
    model = rendered(w)
    if table_kind == "lean":
        assert model.follow is False  # new rows are not scrolled to (the plain table never streams)
    steps = [
        (frame([["A", 1.0, "x"]]), "replace"),
        (frame([["A", 2.0, "x"]]), "patch"),
        (frame([["A", 2.0, "x"], ["B", np.nan, None]]), "stream"),
        (frame([["A", 2.0, "y"], ["B", 3.0, None], ["C", 4.0, "z"]]), "patch+stream"),
        (frame([["A", 2.0, "y"], ["B", 3.0, None], ["C", 4.0, "z"]]), "none"),
        (frame([["B", 3.0, None], ["C", 4.0, "z"]]), "remove"),
        (frame([["B", 3.0, None], ["C", 4.5, "z"]]), "patch"),
        (frame([["C", 4.5, "z"], ["D", 5.0, None]]), "remove"),
        (frame([["D", 5.0, None], ["C", 4.5, "z"]]), "replace"),
        (frame([]), "remove"),
    ]
    for i, (new, expected) in enumerate(steps):
        assert sync_table(w, new, "symbol") == expected, f"step {i}"
        pd.testing.assert_frame_equal(w.value.reset_index(drop=True), new.reset_index(drop=True), check_dtype=False)
        assert_model(model, w)
        assert_model(rendered(w), w)  # a model made now (its tab opened again) starts from here


# -- append_rows -----------------------------------------------------------------------------


def tail_rows(start: int, n: int) -> pd.DataFrame:
    return pd.DataFrame({"seq": [float(start + i) for i in range(n)], "msg": [f"m{start + i}" for i in range(n)]})


def test_append_rows_first_batch_sets_the_table():
    w = table(["seq:f", "msg"])
    append_rows(w, tail_rows(0, 3), 10)
    assert list(w.value["seq"]) == [0.0, 1.0, 2.0]
    assert list(w.value.index) == [0, 1, 2]


def test_append_rows_first_batch_longer_than_keep_keeps_the_last():
    w = table(["seq:f", "msg"])
    append_rows(w, tail_rows(0, 8), 5)
    assert list(w.value["seq"]) == [3.0, 4.0, 5.0, 6.0, 7.0]
    assert list(w.value["msg"]) == ["m3", "m4", "m5", "m6", "m7"]


def test_append_rows_adds_within_the_slack_then_cuts_back_at_once_never_repeating_labels():
    w = table(["seq:f", "msg"])
    model = rendered(w)
    spy = Spy(w)
    keep, slack = 7, 2
    seen_labels: list[int] = []
    sent = 0
    sizes, appended = [], []
    for batch in (3, 3, 4, 1, 9, 2):
        streams = len(spy.streams)
        append_rows(w, tail_rows(sent, batch), keep, slack)
        sent += batch
        v = w.value
        sizes.append(len(v))
        appended.append(len(spy.streams) > streams)
        assert list(v["seq"]) == [float(s) for s in range(sent - len(v), sent)]  # the newest, in order
        assert v.index.is_unique and v.index.is_monotonic_increasing
        assert list(v.index) == [int(s) for s in v["seq"]]  # a row keeps the label it came with
        new_labels = [label for label in v.index if label not in seen_labels]
        assert all(label > max(seen_labels, default=-1) for label in new_labels)  # never reused
        assert_model(model, w)
        seen_labels.extend(new_labels)
    # 3; 6 (added); 10 > 9: cut to 7; 8 (added); 17: cut to 7; 9 (added)
    assert sizes == [3, 6, 7, 8, 7, 9]
    assert appended == [False, True, False, True, False, True]
    # every row shown had its own label (the 9-row batch pushed 2 rows out before they were shown)
    assert sent == 22 and len(seen_labels) == 20 == len(set(seen_labels))


def test_append_rows_default_slack_is_a_fifth_of_keep():
    w = table(["seq:f", "msg"])
    append_rows(w, tail_rows(0, 50), 50)
    append_rows(w, tail_rows(50, 10), 50)
    assert len(w.value) == 60
    append_rows(w, tail_rows(60, 1), 50)
    assert list(w.value["seq"]) == [float(s) for s in range(11, 61)]


def test_append_rows_batch_bigger_than_keep_after_the_first():
    w = table(["seq:f", "msg"])
    append_rows(w, tail_rows(0, 2), 4)
    append_rows(w, tail_rows(2, 10), 4)
    assert list(w.value["seq"]) == [8.0, 9.0, 10.0, 11.0]
    assert w.value.index.is_unique
