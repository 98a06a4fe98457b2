"""A Bokeh message hands all its frames to the socket in one step: the write lock is held for
no turn of the loop.

**What it patches.** ``bokeh.protocol.message.Message.send``, for the whole process. On a
server's connection (``bokeh.server.views.ws.WSHandler``) the message's frames (header,
metadata, content, then each buffer's header and payload) are handed to Tornado's websocket
one after the other, under the connection's ``write_lock``, with no ``await`` between them;
their writes are awaited once the lock is released. Any other connection (a Bokeh client's)
keeps Bokeh's own ``send``.

**Why.** Bokeh's own ``send`` awaits each frame's write while it holds the lock, so the lock
stays held over several turns of the server's loop, longer the busier the loop. Panel, finding
a session's lock held when a change is released (the push's update, inside ``hold``), does
not write it: it queues the message and looks again every 10 ms, and every later change of
that session queues behind it. Each page's answer to the push's flow control is a PATCH-DOC
that Bokeh answers with an OK under that lock. Measured on a 50-session capacity run: the lock
was held a median 68 ms (p99 0.9 s) per OK; 2-3% of the push's messages were queued so, and
reached their page a median 0.24 s late, up to 1.5 s. Frames handed over in one step cannot
interleave with another message's (nothing else runs on the loop meanwhile), which is what
the lock is for; Panel's own writes (``dispatch_tornado``) hand frames over the same way.

**Versions.** Bokeh 3.9 (``TESTED``; of Tornado only the public ``write_message`` is used).
At install it checks the version, ``send``'s signature, that a message's frames are the
properties ``header_json``, ``metadata_json``, ``content_json`` and ``buffers``, and that
``WSHandler`` is Tornado's ``WebSocketHandler`` with a ``write_lock``.

**Fallback.** Bokeh's own ``send``: the same frames in the same order, the lock held across
their writes.
"""

from __future__ import annotations

import json
from asyncio import Future
from collections.abc import Iterable
from typing import Any

from bokeh.protocol.message import Message
from bokeh.server.views.ws import WSHandler
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from .check import Patch, first, signature_is

TESTED = {"bokeh": ">=3.9,<3.10"}  # Tornado: its public WebSocketHandler.write_message

_original = Message.__dict__.get("send")


async def _send(self: Message[Any], conn: Any) -> int:
    if not isinstance(conn, WSHandler):
        return await _original(self, conn)  # type: ignore[misc]  # a client's connection: Bokeh's own
    frames: list[tuple[str | bytes, bool]] = [
        (self.header_json, False),
        (self.metadata_json, False),
        (self.content_json, False),
    ]
    for buffer in self.buffers:
        frames += [(json.dumps(buffer.ref), False), (buffer.to_bytes(), True)]
    futures = []
    try:
        # Free at once unless Bokeh's own write path is mid-message (then after it).
        with await conn.write_lock.acquire():
            futures = hand_over(conn, frames)
        for future in futures:
            await future
    finally:
        quiet(futures)
    return sum(len(frame) for frame, _binary in frames)


def hand_over(conn: WebSocketHandler, frames: Iterable[tuple[str | bytes, bool]]) -> list[Future]:
    """Hand a message's frames (``(frame, binary)``) to ``conn`` one after the other, in one
    step (nothing else runs on the loop meanwhile, so no other message's frames come between);
    the futures of their writes. Raises ``WebSocketClosedError`` if the socket is closed."""
    futures = []
    try:
        for frame, binary in frames:
            futures.append(WebSocketHandler.write_message(conn, frame, binary=binary))
    except WebSocketClosedError:
        quiet(futures)
        raise
    return futures


def quiet(futures: Iterable[Future]) -> None:
    """The socket closed mid-way: what failed is known, not logged again."""
    for future in futures:
        future.add_done_callback(lambda f: f.cancelled() or f.exception())


def _check() -> str | None:
    return first(
        signature_is("Message.send", _original, "self", "conn"),
        None if issubclass(WSHandler, WebSocketHandler) else "WSHandler is not a tornado WebSocketHandler",
        None if "write_lock" in WSHandler.__init__.__code__.co_names else "WSHandler has no write_lock",
        *(
            None if isinstance(getattr(Message, name, None), property) else f"Message.{name} is not a property"
            for name in ("header_json", "metadata_json", "content_json", "buffers")
        ),
    )


def _apply() -> None:
    Message.send = _send  # type: ignore[method-assign]  # the patch


def _revert() -> None:
    Message.send = _original  # type: ignore[method-assign,assignment]


PATCH = Patch("bokeh_send", TESTED, _check, _apply, _revert)
install, uninstall = PATCH.install, PATCH.uninstall
