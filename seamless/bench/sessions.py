"""Dashboard sessions that do not render: raw websocket clients speaking just enough of Bokeh's
protocol to stand for a page (``python -m seamless.bench.sessions``; the capacity benchmark
runs them in a process of their own).

Each client does what BokehJS does for a page: ``GET`` the app (the server makes the session
and puts its token in the page), opens ``/app/ws`` with the subprotocols ``["bokeh", token]``,
reads the server's ``ACK``, asks for the document (``PULL-DOC-REQ``), says the document is ready
(the ``document_ready`` event, on which Panel runs the app's ``onload``: the push goes live),
and then reads every message, answering the flow control like the page: when an update sets
``sent`` on the page's :class:`~seamless.push.ack.PageAck`, it sets ``seen`` to it.

A Bokeh message is several websocket frames: header, metadata, content (JSON), then a header
and a binary payload per buffer (``num_buffers`` in the header). For every message the client
notes when its last frame arrived and each ``#<seq>`` it names (a toast names its event's seq):
the first arrival of each seq is that session's latency sample.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

_TOKEN = re.compile(r'"token":\s*"([^"]+)"')
# A toast's "Fill #123: ..." (a word, a space, '#'); not a colour such as "color: #666".
_SEQ = re.compile(r"(?<=[A-Za-z.] )#(\d+)(?![0-9A-Fa-f])")
# A burst's one toast, "12 fills #301–#342: ..." (the dash JSON-escaped, once per encoding).
_RANGE = re.compile(r"(?<=[A-Za-z.] )#(\d+)(?:\u2013|\\+u2013)#(\d+)")


@dataclass
class Session:
    """One raw session's record."""

    seqs: dict[int, float] = field(default_factory=dict)  # seq -> first arrival, epoch ms
    messages: int = 0
    bytes: int = 0
    acks: int = 0
    error: str | None = None


def _frames(msgtype: str, content: dict[str, Any]) -> list[str]:
    header = {"msgid": uuid.uuid4().hex[:12], "msgtype": msgtype}
    return [json.dumps(header), "{}", json.dumps(content)]


async def send_message(ws: WebSocketClientConnection, msgtype: str, content: dict[str, Any]) -> None:
    for frame in _frames(msgtype, content):
        await ws.write_message(frame)


async def read_message(ws: WebSocketClientConnection) -> tuple[dict[str, Any], str, int] | None:
    """One Bokeh message: (header, content text, bytes), or None once the socket closed."""
    parts: list[str | bytes] = []
    for _ in range(3):
        frame = await ws.read_message()
        if frame is None:
            return None
        parts.append(frame)
    header = json.loads(parts[0])
    size = sum(len(p) for p in parts)
    for _ in range(2 * int(header.get("num_buffers", 0))):
        frame = await ws.read_message()
        if frame is None:
            return None
        size += len(frame)
    content = parts[2] if isinstance(parts[2], str) else parts[2].decode()
    return header, content, size


async def connect(base: str, app: str) -> WebSocketClientConnection:
    """A new session of ``app`` (its path, "" for the root) on the server at ``base``: its
    websocket, open (the server's ``ACK`` not read yet)."""
    host = base.split("://", 1)[1]
    path = f"/{app}" if app else ""
    page = await AsyncHTTPClient().fetch(f"{base}{path or '/'}", request_timeout=120)
    match = _TOKEN.search(page.body.decode())
    if match is None:
        raise RuntimeError("no session token in the page")
    request = HTTPRequest(f"ws://{host}{path}/ws", headers={"Origin": base}, request_timeout=120)
    return await websocket_connect(request, subprotocols=["bokeh", match.group(1)], max_message_size=1 << 30)


async def run_session(base: str, app: str, record: Session, ready: asyncio.Event, stop: asyncio.Event) -> None:
    try:
        ws = await connect(base, app)
    except Exception as e:  # noqa: BLE001 - counted, reported, the others go on
        record.error = f"{type(e).__name__}: {e}"
        ready.set()
        return
    try:
        await read_message(ws)  # ACK
        await send_message(ws, "PULL-DOC-REQ", {})
        while not stop.is_set():
            got = await read_message(ws)
            if got is None:
                break
            header, content, size = got
            now = time.time() * 1e3
            record.messages += 1
            record.bytes += size
            kind = header.get("msgtype")
            if kind == "PULL-DOC-REPLY":
                event = {"type": "event", "name": "document_ready", "values": {"type": "map"}}
                await send_message(
                    ws, "PATCH-DOC", {"events": [{"kind": "MessageSent", "msg_type": "bokeh_event", "msg_data": event}]}
                )
                continue
            if "#" in content:
                for m in _SEQ.finditer(content):
                    record.seqs.setdefault(int(m.group(1)), now)
                for m in _RANGE.finditer(content):  # a burst of fills, one toast: all of them
                    for seq in range(int(m.group(1)), int(m.group(2)) + 1):
                        record.seqs.setdefault(seq, now)
            # Only the PageAck has ``sent`` (its defaults are not in the document
            # Bokeh sends, so it is known by this change).
            if kind == "PATCH-DOC" and '"attr":"sent"' in content:
                for ev in json.loads(content).get("events", ()):
                    if ev.get("kind") == "ModelChanged" and ev.get("attr") == "sent":
                        change = {"kind": "ModelChanged", "model": ev["model"], "attr": "seen", "new": ev["new"]}
                        await send_message(ws, "PATCH-DOC", {"events": [change]})
                        record.acks += 1
                        ready.set()  # answered the first push: live, as PUSHED_JS says of a page
    except Exception as e:  # noqa: BLE001
        record.error = f"{type(e).__name__}: {e}"
    finally:
        ready.set()
        ws.close()


async def main_async(base: str, app: str, n: int) -> dict[str, Any]:
    records = [Session() for _ in range(n)]
    readies = [asyncio.Event() for _ in range(n)]
    stop = asyncio.Event()
    tasks = []
    for i in range(n):  # ten at a time, as pages opening
        tasks.append(asyncio.create_task(run_session(base, app, records[i], readies[i], stop)))
        if i % 10 == 9:
            await asyncio.gather(*(r.wait() for r in readies[i - 9 : i + 1]))
    await asyncio.gather(*(r.wait() for r in readies))
    print(json.dumps({"ready": n - sum(r.error is not None for r in records), "t": time.time()}), flush=True)
    loop = asyncio.get_running_loop()
    while (await loop.run_in_executor(None, sys.stdin.readline)).strip() == "mark":
        for r in records:  # the measured window starts: count its messages only
            r.messages = r.bytes = 0
    stop.set()  # "stop", or stdin closed
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "sessions": [
            {"seqs": r.seqs, "messages": r.messages, "bytes": r.bytes, "acks": r.acks, "error": r.error}
            for r in records
        ]
    }


def main(argv: list[str]) -> None:
    """``python -m seamless.bench.sessions BASE_URL APP N``: N sessions; a line ``{"ready": n}``
    once all are live; on stdin, ``mark`` starts counting messages afresh and ``stop`` ends:
    their records as one JSON line."""
    base, app, n = argv
    print(json.dumps(asyncio.run(main_async(base, app, int(n)))), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
