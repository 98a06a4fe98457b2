"""seamless.compat.bokeh_send: over a real websocket, a Bokeh server connection's messages reach
the client frame for frame as Bokeh's own ``send`` writes them, two sent at once never
interleave, and the connection's write lock is free again as soon as ``send`` has handed the
frames over (Bokeh's own holds it over the writes' turns of the loop, and Panel then queues
the session's changes)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from bokeh.document import Document
from bokeh.document.events import ModelChangedEvent
from bokeh.models import ColumnDataSource
from bokeh.protocol import Protocol
from bokeh.server.auth_provider import NullAuth
from bokeh.server.views.ws import WSHandler
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port
from tornado.web import Application
from tornado.websocket import websocket_connect


class Handler(WSHandler):
    """Bokeh's server connection without the session it would open: only its writes are used."""

    opened: asyncio.Future

    def open(self) -> None:
        type(self).opened.set_result(self)

    def check_origin(self, origin: str) -> bool:
        return True


def messages(n: int) -> list:
    """``n`` PATCH-DOC messages, each with a binary buffer (a column of floats)."""
    import numpy as np

    doc = Document()
    source = ColumnDataSource(data={"x": np.arange(3.0)})
    doc.add_root(source)
    out = []
    for i in range(n):
        data = {"x": np.arange(3.0) + i}
        out.append(Protocol().create("PATCH-DOC", [ModelChangedEvent(doc, source, "data", data)], use_buffers=True))
    return out


def frames_of(msg) -> list:
    import json

    out = [msg.header_json, msg.metadata_json, msg.content_json]
    for buffer in msg.buffers:
        out += [json.dumps(buffer.ref), buffer.to_bytes()]
    return out


async def exchange(msgs: list) -> tuple[list, list[bool]]:
    """Send ``msgs`` at once on a server connection; (the frames the client got, whether the
    write lock was free after one turn of the loop, per message sent alone first)."""
    sock, port = bind_unused_port()
    app = Application([("/ws", Handler, {"application_context": None, "bokeh_websocket_path": "/ws"})])
    app.auth_provider = NullAuth()  # what Bokeh's server sets on its application
    server = HTTPServer(app)
    server.add_sockets([sock])
    Handler.opened = asyncio.get_running_loop().create_future()
    client = await websocket_connect(f"ws://127.0.0.1:{port}/ws")
    try:
        handler = await Handler.opened
        free = []
        first = asyncio.ensure_future(handler.send_message(msgs[0]))
        await asyncio.sleep(0)  # one turn: send has started
        probe = handler.write_lock.acquire()
        free.append(probe.done())
        await probe  # (when held: once send lets it go)
        handler.write_lock.release()
        await first
        await asyncio.gather(*(handler.send_message(m) for m in msgs[1:]))
        expected = sum(len(frames_of(m)) for m in msgs)
        got = [await asyncio.wait_for(client.read_message(), 10) for _ in range(expected)]
        return got, free
    finally:
        client.close()
        server.stop()


def run(msgs: list) -> tuple[list, list[bool]]:
    """``exchange`` on a loop of its own, in a thread of its own: the suite's browser tests keep
    a loop running on the main thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, exchange(msgs)).result(timeout=60)


def test_frames_arrive_whole_in_order_and_the_lock_is_free_once_handed_over(patched, unpatched):
    msgs = messages(4)
    want = [frame for m in msgs for frame in frames_of(m)]

    unpatched("bokeh_send")
    own, own_free = run(msgs)
    assert own == want, "Bokeh's own send: the frames, in order, unmixed"
    assert own_free == [False], "Bokeh's own send holds the lock over its writes"

    patched("bokeh_send")
    got, free = run(msgs)
    assert got == want, "the same frames, in the same order; messages sent at once never interleave"
    assert free == [True], "the lock is free as soon as the frames are handed over"
