"""A page with one dashboard table (the lean one), taken through ``sync_table`` steps, one per
click on "next": served by test_tabulator_js.py, which writes the steps (JSON rows of key, v,
note) to the file ``SEAMLESS_TEST_STEPS`` names; with the page's Tabulator patch
(``SEAMLESS_TEST_GUARD=1``) or without."""

import json
import os

import pandas as pd
import panel as pn

from seamless import compat
from seamless.views.base import sync_table, table
from seamless.views.guard import table_guard

with open(os.environ["SEAMLESS_TEST_STEPS"]) as f:
    STEPS = [pd.DataFrame(rows, columns=["key", "v", "note"]) for rows in json.load(f)]

pn.extension("tabulator")
compat.install("tabulator_table")
if os.environ.get("SEAMLESS_TEST_GUARD") == "1":
    compat.install("tabulator_js")

widget = table(["key", "v:f", "note"], css_classes=["compat-table"])
done: list[str] = []


def next_step(_event=None) -> None:
    if len(done) < len(STEPS):
        done.append(sync_table(widget, STEPS[len(done)], "key"))


button = pn.widgets.Button(name="next")
button.on_click(next_step)
pn.Column(*table_guard(), button, widget).servable()
