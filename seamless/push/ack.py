"""The browser's side of the push's flow control (see :mod:`seamless.push.session`)."""

from __future__ import annotations

import panel as pn
import param


class BrowserAck(pn.reactive.ReactiveHTML):
    """Invisible. The server sets ``sent`` last in each update; the page, having applied the
    update's changes in order, copies it to ``seen``, which comes back to the server."""

    sent = param.Integer(0, doc="Number of the last update sent to this page")
    seen = param.Integer(0, doc="Number of the last update the page has applied")

    _template = '<div id="seamless_ack" style="display:none"></div>'
    _scripts = {"sent": "data.seen = data.sent"}

    def __init__(self, **params) -> None:
        super().__init__(height=0, width=0, margin=0, **params)
