"""The Seamless dashboard: `panel serve app.py` (or `make run`).

The runner, store, paper broker and simulated feed run once per server process (see
seamless/service); each browser session gets its own views, pushed by the service's hub.
Settings: SEAMLESS_* environment variables or `--args --db PATH --speed 0.1 ...`.
"""

import sys

import panel as pn

from seamless import compat
from seamless.errors import SeamlessError
from seamless.service import embedded
from seamless.views import Dashboard

pn.extension("tabulator")
compat.install()  # the private-name shortcuts, each checked against its tested versions; once a process

try:
    service = embedded(sys.argv[1:])
except SeamlessError as e:
    pn.pane.Alert(f"Seamless cannot start: {e}", alert_type="danger").servable()
else:
    Dashboard(service).servable()
