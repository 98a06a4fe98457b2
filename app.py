"""The Seamless dashboard: `panel serve app.py` (or `make run`).

A placeholder until the dashboard issue: it shows the state of the store named by
SEAMLESS_DB (default ./seamless.db), read-only, as the `seamless state` command does.
"""
import os

import panel as pn

from seamless.errors import SeamlessError
from seamless.replay import replay

DB = os.environ.get("SEAMLESS_DB", "seamless.db")

pn.extension()

try:
    body = pn.pane.JSON(replay(DB).document(), depth=2, sizing_mode="stretch_width")
except SeamlessError as e:
    body = pn.pane.Alert(f"No store to show yet: {e}. Run a session to create {DB}.", alert_type="info")

pn.template.FastListTemplate(title="Seamless", main=[body]).servable()
