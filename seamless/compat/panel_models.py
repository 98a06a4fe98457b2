"""A ReactiveHTML parameter set straight on the page's Bokeh models: inside the push's hold,
or (toasts) sent at once in a message composed here.

**What it patches.** Nothing of Panel's or Bokeh's is replaced. :func:`held_set` reads a
component's private ``Reactive._models`` (its Bokeh model in each session's document), writes
the value on each model's data model (``model.data``, where Panel's ReactiveHTML mirrors its
parameters under their own names) and tells a held document by Bokeh's
``Document.callbacks.hold_value``. :func:`send_at_once` also reads the session's private
``ServerSession._subscribed_connections`` and each connection's ``_socket``, hands the socket
a PATCH-DOC message of one ``ModelChanged`` (header, metadata, content: the frames Bokeh's own
would have) through :func:`.bokeh_send.hand_over`, and keeps the document's value in step
through the model's private ``_property_values`` (no change event: it is sent already).

**Why.** Toasts (``views.toasts``) go to every session in turn (``push.SessionFeed``), and a
critical event's toasts reach the last session only when every other session's are out: at 50
sessions, the 50 toasts of one fill took the server's loop a median 51 ms and up to 88 ms,
most of the dashboard's commit -> toast p99. In each session, Panel's path for a change
(watchers, design, sanitizer, lookups) was most of a toast's cost; set on the data model and
sent at the hold's release, Bokeh's message making (its serializer, a set of every model of the
document, Panel's write futures) still was. The message composed here is the same text for
every session but the model's id.

**Versions.** Panel 1.9 and Bokeh 3.9 (``TESTED``). At install it checks the versions, that a
component keeps its models in a dict, that its Bokeh model has ``data``, that Bokeh's document
callbacks tell ``hold_value``, that a Bokeh model keeps its values in ``_property_values``, that
a session context has ``session``, a server session ``_subscribed_connections`` and a
connection ``_socket``.

**Fallback.** Outside them (and before :func:`install`, or when a document is not held) the
parameter is set through Panel's public path; the page gets the same change. A toast is sent
at once only while :mod:`.bokeh_send` is installed (Bokeh's own ``send`` holds a socket across
turns of the loop mid-message, and a message of ours must not come between its frames), to a
session served by Tornado's websocket; else it takes :func:`held_set`'s path.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import panel as pn
import param

from . import bokeh_send
from .check import Patch, first

TESTED = {"panel": ">=1.9,<1.10", "bokeh": ">=3.9,<3.10"}


def _held(model: Any) -> bool:
    doc = model.document
    return doc is not None and doc.callbacks.hold_value is not None


def held_set(component: pn.reactive.ReactiveHTML, name: str, value: Any) -> None:
    """``setattr(component, name, value)``: if installed and every model of the component is
    in a held document, straight to those models (the hold's release sends it, Panel's
    watchers skipped); else through Panel."""
    if PATCH.installed:
        models = [model.data for model, _ in component._models.values()]
        if models and all(_held(m) for m in models):
            with param.parameterized.discard_events(component):
                setattr(component, name, value)
            for data in models:
                setattr(data, name, value)
            return
    setattr(component, name, value)


_MSGIDS = itertools.count()  # the messages composed here (a page answers none: unique is all they need be)


def send_at_once(component: pn.reactive.ReactiveHTML, name: str, value: str) -> None:
    """``setattr(component, name, value)`` for a string parameter, sent to every page showing
    the component at once, in a message of its own composed here: one ``ModelChanged`` of the
    page's data model, encoded once for all of them. Where that cannot be (not installed; called off the
    server's loop; a model not in a served session), through :func:`held_set`: sent with its
    hold, or by Panel's path."""
    if PATCH.installed:
        targets = _targets(component)
        if targets is not None:
            encoded = json.dumps(value)
            with param.parameterized.discard_events(component):
                setattr(component, name, value)
            for data, sockets in targets:
                data._property_values[name] = value  # the document holds what its page shows, unsent
                content = (
                    f'{{"events":[{{"kind":"ModelChanged","model":{{"id":"{data.id}"}},'
                    f'"attr":"{name}","new":{encoded}}}]}}'
                )
                for socket in sockets:
                    header = f'{{"msgid":"seamless-{next(_MSGIDS)}","msgtype":"PATCH-DOC"}}'
                    try:
                        bokeh_send.hand_over(socket, ((header, False), ("{}", False), (content, False)))
                    except bokeh_send.WebSocketClosedError:
                        pass  # the page is gone; its session is closing
            return
    held_set(component, name, value)


def _targets(component: Any) -> list[tuple[Any, list[Any]]] | None:
    """Each of the component's data models with the websockets of the session showing it, or
    None if one cannot be written to at once: not on a running loop, not in a served session,
    or Bokeh's own ``send`` in use (it holds a socket across turns of the loop mid-message;
    with :mod:`.bokeh_send` no message is ever mid-way when this runs)."""
    if not bokeh_send.PATCH.installed:
        return None
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return None  # not on the server's loop (a worker thread): only it may write to a socket
    targets = []
    for model, _ in component._models.values():
        session = getattr(getattr(model.document, "session_context", None), "session", None)
        if session is None:
            return None
        sockets = [conn._socket for conn in session._subscribed_connections]
        if not all(isinstance(s, bokeh_send.WebSocketHandler) for s in sockets):
            return None
        targets.append((model.data, sockets))
    return targets or None


def _check() -> str | None:
    from bokeh.document.callbacks import DocumentCallbackManager
    from bokeh.models import ColumnDataSource
    from bokeh.server.connection import ServerConnection
    from bokeh.server.contexts import BokehSessionContext
    from bokeh.server.session import ServerSession
    from panel.models.reactive_html import ReactiveHTML as Model

    return first(
        None
        if isinstance(getattr(ColumnDataSource(), "_property_values", None), dict)
        else "a Bokeh model has no _property_values",
        None
        if isinstance(getattr(BokehSessionContext, "session", None), property)
        else "Bokeh's session context has no session",
        None
        if "_subscribed_connections" in ServerSession.__init__.__code__.co_names
        else "Bokeh's ServerSession has no _subscribed_connections",
        None if "_socket" in ServerConnection.__init__.__code__.co_names else "Bokeh's ServerConnection has no _socket",
        None if isinstance(getattr(pn.Spacer(), "_models", None), dict) else "a component has no _models dict",
        None if "data" in Model.properties() else "Panel's ReactiveHTML model has no data",
        None
        if isinstance(getattr(DocumentCallbackManager, "hold_value", None), property)
        else "Bokeh's document callbacks have no hold_value",
    )


PATCH = Patch("panel_models", TESTED, _check, lambda: None, lambda: None)
install, uninstall = PATCH.install, PATCH.uninstall
