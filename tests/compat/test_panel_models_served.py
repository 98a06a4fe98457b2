"""seamless.compat.panel_models.send_at_once, on a real Panel server and a real websocket: a
toast reaches the page as the same PATCH-DOC Panel's own path sends, once, and the document
keeps the value; without seamless.compat.bokeh_send (Bokeh's own send holds a socket
mid-message across turns of the loop) it takes Panel's path."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import panel as pn
import pytest
from panel.io.state import set_curdoc

from seamless.bench.sessions import connect, read_message, send_message
from seamless.views.toasts import Toasts


class Served:
    """A Panel server of one app (a Toasts and a Markdown pane per session) on a loop of its
    own thread."""

    def __init__(self) -> None:
        self.sessions: list[tuple[Any, Toasts, pn.pane.Markdown]] = []
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(30)

    def _app(self) -> pn.viewable.Viewable:
        toasts, note = Toasts(), pn.pane.Markdown("a")
        self.sessions.append((pn.state.curdoc, toasts, note))
        return pn.Column(toasts, note)

    def _run(self) -> None:
        from panel.io.server import get_server
        from tornado.ioloop import IOLoop

        self.loop = IOLoop()
        self.server = get_server(self._app, port=0, loop=self.loop, start=False, show=False)
        self.server.start()
        self.port = self.server.port
        self._ready.set()
        self.loop.start()

    def on_loop(self, fn, *args) -> Any:
        """``fn(*args)`` in the newest session's document, on the server's loop; its result."""
        done: Future = Future()

        def call() -> None:
            doc = self.sessions[-1][0]
            try:
                with set_curdoc(doc):
                    done.set_result(fn(*args))
            except BaseException as e:
                done.set_exception(e)

        self.loop.add_callback(call)
        return done.result(timeout=30)

    def stop(self) -> None:
        self.loop.add_callback(self.server.stop)
        self.loop.add_callback(self.loop.stop)
        self._thread.join(30)


@pytest.fixture
def served() -> Iterator[Served]:
    s = Served()
    yield s
    s.stop()


async def _until(ws, attr: str) -> tuple[list[dict], list[dict]]:
    """The events of the next PATCH-DOC that changes ``attr``, and those of the PATCH-DOCs
    before it."""
    before: list[dict] = []
    while True:
        got = await asyncio.wait_for(read_message(ws), 30)
        assert got is not None, "the server closed the socket"
        header, content, _ = got
        if header["msgtype"] != "PATCH-DOC":
            continue
        events = json.loads(content)["events"]
        if any(e.get("attr") == attr for e in events):
            return events, before
        before += events


async def _session(served: Served, on_loop: bool = True) -> tuple[list[dict], list[dict], str, dict]:
    """Open a session, show a burst of two toasts in it, then change its Markdown pane: (the
    toasts' message's events, the events sent after it up to the pane's change, the value shown, the server's view:
    the toasts' data model's id and value, the component's value)."""
    ws = await connect(f"http://127.0.0.1:{served.port}", "")
    try:
        await read_message(ws)  # ACK
        await send_message(ws, "PULL-DOC-REQ", {})
        toasts_msg: list[Any] = [None]

        def show() -> dict:
            _doc, toasts, _note = served.sessions[-1]
            toasts.show_many([tuple(t) for t in TOASTS])
            ((model, _),) = toasts._models.values()
            return {"id": model.data.id, "model": model.data.recent, "component": toasts.recent}

        loop = asyncio.get_running_loop()
        # off the loop: on the executor's thread, as a command's worker would
        server_side = await loop.run_in_executor(None, *((served.on_loop, show) if on_loop else (show,)))
        toasts_msg[0], _ = await _until(ws, "recent")

        def change_note() -> None:
            served.sessions[-1][2].object = "b"

        await loop.run_in_executor(None, served.on_loop, change_note)
        note, between = await _until(ws, "text")  # the pane's model shows its object as text
        return toasts_msg[0], [*between, *note], server_side["model"], server_side
    finally:
        ws.close()


def open_and_toast(served: Served, on_loop: bool = True) -> tuple[list[dict], list[dict], str, dict]:
    with ThreadPoolExecutor(1) as pool:  # a loop of its own: the suite's browser tests keep one running
        return pool.submit(asyncio.run, _session(served, on_loop)).result(timeout=120)


TOASTS = [["success", "Fill #7: BUY 1 AAPL @ 1.00", 5000], ["error", "Halt failed", 0]]


def shown(events: list[dict], model_id: str) -> list:
    """The toasts of one message's events (each [kind, text, duration]), checked to be the
    one change of the toasts' data model."""
    (ev,) = events
    assert ev["kind"] == "ModelChanged" and ev["attr"] == "recent" and ev["model"] == {"id": model_id}, ev
    return [item[1:] for item in json.loads(ev["new"])]


def counted_hand_overs(monkeypatch) -> list:
    """The messages send_at_once composed (their ids are its own), counted as they are handed over."""
    from seamless.compat import bokeh_send

    sent: list = []
    original = bokeh_send.hand_over

    def counted(conn, frames):
        frames = list(frames)
        if json.loads(frames[0][0])["msgid"].startswith("seamless-"):
            sent.append(frames)
        return original(conn, frames)

    monkeypatch.setattr(bokeh_send, "hand_over", counted)
    return sent


def test_a_toast_sent_at_once_is_panels_own_message_sent_once(served, patched, unpatched, monkeypatch):
    sent = counted_hand_overs(monkeypatch)
    patched("bokeh_send")
    unpatched("panel_models")
    own, own_after, _own_value, own_server = open_and_toast(served)
    assert sent == [], "Panel's own path"

    patched("panel_models")
    got, after, value, server = open_and_toast(served)
    assert len(sent) == 1, "one message, composed here"

    assert shown(own, own_server["id"]) == shown(got, server["id"]) == TOASTS
    assert json.loads(got[0]["new"]) == json.loads(value), "the page gets what the document holds"
    assert server["model"] == server["component"] == value, "the document and the component keep the value"
    # Sent once: what the session gets up to the next change holds no toast again.
    assert [e.get("attr") for e in after] == [e.get("attr") for e in own_after]
    assert "text" in {e.get("attr") for e in after} and "recent" not in {e.get("attr") for e in after}


def test_without_bokeh_send_a_toast_takes_panels_path(served, patched, unpatched, monkeypatch):
    sent = counted_hand_overs(monkeypatch)
    patched("panel_models")
    unpatched("bokeh_send")
    got, _after, _value, server = open_and_toast(served)
    assert sent == [], "not at once: Bokeh's own send may be mid-message on the socket"
    assert shown(got, server["id"]) == TOASTS


def test_a_toast_shown_off_the_servers_loop_takes_panels_path(served, patched, monkeypatch):
    """Only the server's loop may write to a socket: from a worker thread, Panel takes it there."""
    sent = counted_hand_overs(monkeypatch)
    patched("bokeh_send")
    patched("panel_models")
    got, _after, _value, server = open_and_toast(served, on_loop=False)
    assert sent == []
    assert shown(got, server["id"]) == TOASTS
