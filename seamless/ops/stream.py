"""The journal as Server-Sent Events, for clients that are not a Panel page: ``GET /events``.

``GET /events?topics=order.*,fill.*&after=SEQ`` answers ``text/event-stream``: one event per
journal row past ``after`` (default: from now on) whose topic matches one of ``topics``
(fnmatch patterns; default every topic)::

    id: 1042
    event: order.filled
    data: {"seq":1042,"topic":"order.filled","type":"OrderFilled","version":1,"ts":...,"payload":{...}}

A client that reconnects sends the last ``id`` it received as ``Last-Event-ID`` (browsers'
``EventSource`` does it by itself) and gets every later row once: nothing missed, nothing twice.
The rows already published are read from the source (:meth:`StateSource.events_since`, off the
loop), then the client joins the live stream and reads once more: the source's journal reads
and its bus fit without a gap (see :mod:`seamless.store.source`), and a row read twice is
skipped by its seq.

The committing thread only appends each event to one list per source (:class:`Broadcast`);
the server's loop hands it to every client. Each client holds at most ``sse_buffer`` events not
yet written to its socket: past that it is dropped with an ``event: dropped`` naming why, and
may reconnect with ``Last-Event-ID`` to catch up from the journal. A slow client never slows
the writer nor the other clients. A comment line every ``sse_heartbeat_s`` keeps proxies from
closing an idle stream and tells the client the server is there.

Who may read it: like the money-moving controls, a client on this machine, or a user logged in
to the dashboard (Panel's ``--basic-auth`` or OAuth login cookie); or a script on another host
that sends ``Authorization: Bearer <token>``, the token being ``SEAMLESS_STREAM_TOKEN`` (from the
environment only; compared in constant time, never logged). Anyone else gets 403; a wrong
token 401.

What it counts, for ``/metrics`` (:data:`STREAMS`): the clients following, those dropped and
refused by reason, the events sent (added once per write to a socket, not per event).
"""

from __future__ import annotations

import asyncio
import fnmatch
import hmac
import json
import logging
import re
import threading
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tornado.ioloop import IOLoop
from tornado.iostream import StreamClosedError
from tornado.locks import Event as LoopEvent
from tornado.util import TimeoutError as LoopTimeout
from tornado.web import RequestHandler

from ..events import Event
from ..store import StateSource
from .access import Access

log = logging.getLogger("seamless.ops.stream")

#: Rows read from the source per step of a catch-up.
CATCH_UP = 1_000
#: Seconds a dropped client's socket has to take the frame saying why before it is closed.
DROP_GRACE_S = 1.0
_PATTERN = re.compile(r"^[A-Za-z0-9_.*?\[\]!-]+$")


def frame(ev: Event) -> str:
    """One event as its ``text/event-stream`` frame."""
    doc = (
        f'{{"seq":{ev.seq},"topic":{json.dumps(ev.topic)},"type":"{type(ev).__name__}","version":{ev.version},'
        f'"ts":{json.dumps(ev.ts)},"exchange_ts":{json.dumps(ev.exchange_ts)},"payload":{ev.payload_json()}}}'
    )
    return f"id: {ev.seq}\nevent: {ev.topic}\ndata: {doc}\n\n"


class Client:
    """One stream's reader: its topics, the last seq it was sent, the frames waiting for it."""

    def __init__(self, topics: tuple[str, ...] | None, after: int, limit: int, on_drop: Callable[[str], None]) -> None:
        self.topics, self.last, self.limit, self.on_drop = topics, after, limit, on_drop
        self.queue: deque[tuple[int, str]] = deque()
        self.wake = LoopEvent()
        self.dropped: str | None = None
        self._wanted: dict[str, bool] = {}

    def wants(self, topic: str) -> bool:
        if self.topics is None:
            return True
        hit = self._wanted.get(topic)
        if hit is None:  # a handful of topics: each matched once per client
            hit = self._wanted[topic] = any(fnmatch.fnmatchcase(topic, p) for p in self.topics)
        return hit

    def offer(self, frames: Sequence[tuple[int, str, str]]) -> None:
        """Queue the frames this client wants (on the loop); drop it past its limit."""
        if self.dropped is not None:
            return
        for seq, topic, text in frames:
            if seq > self.last and self.wants(topic):
                self.queue.append((seq, text))
        if len(self.queue) > self.limit:
            self.dropped = (
                f"too slow: {len(self.queue)} events waited to be sent (SEAMLESS_SSE_BUFFER={self.limit}); "
                f"reconnect with Last-Event-ID (the last id received) to catch up from the journal"
            )
            self.queue.clear()
            self.on_drop(self.dropped)
        self.wake.set()

    def take(self) -> tuple[str, int]:
        """Every queued frame past the last one sent, as one write; and how many events."""
        parts = []
        while self.queue:
            seq, text = self.queue.popleft()
            if seq > self.last:
                parts.append(text)
                self.last = seq
        return "".join(parts), len(parts)


class Broadcast:
    """One synchronous bus subscriber for every client of a source on a loop.

    On the committing thread: one append, and one loop callback per batch (not per event, not
    per client). On the loop: each event framed once, offered to every client."""

    def __init__(self, source: StateSource, loop: IOLoop) -> None:
        self.source, self.loop = source, loop
        self.clients: list[Client] = []
        self._pending: list[Event] = []
        self._scheduled = False
        self._lock = threading.Lock()
        self._sub = source.bus.subscribe("*", self._on_event, queued=False, name="sse")

    def _on_event(self, ev: Event) -> None:
        with self._lock:
            self._pending.append(ev)
            if self._scheduled:
                return
            self._scheduled = True
        self.loop.add_callback(self._dispatch)

    def _dispatch(self) -> None:
        with self._lock:
            batch, self._pending, self._scheduled = self._pending, [], False
        if not self.clients:
            return
        frames = [(ev.seq or 0, ev.topic, frame(ev)) for ev in batch]
        for client in tuple(self.clients):
            client.offer(frames)

    def close(self) -> None:
        self._sub.cancel()


#: Why a client was dropped, and why a request was refused: the labels of ``/metrics``.
DROP_REASONS = ("too_slow",)
REFUSE_REASONS = ("unavailable", "bad_request", "unauthenticated", "bad_token")


@dataclass
class Streams:
    """The broadcasts of one process, one per (source, loop), each while it has a client; and
    what ``/metrics`` counts of them (on the loop: no lock needed)."""

    broadcasts: dict[tuple[int, int], Broadcast]
    dropped: Counter[str] = field(default_factory=Counter)  # by reason (DROP_REASONS)
    refused: Counter[str] = field(default_factory=Counter)  # by reason (REFUSE_REASONS)
    sent: int = 0  # events written to clients' sockets

    def join(self, source: StateSource, client: Client) -> Broadcast:
        loop = IOLoop.current()
        key = (id(source), id(loop))
        bc = self.broadcasts.get(key)
        if bc is None or bc.source is not source:
            bc = self.broadcasts[key] = Broadcast(source, loop)
        bc.clients.append(client)
        return bc

    def leave(self, bc: Broadcast, client: Client) -> None:
        if client in bc.clients:
            bc.clients.remove(client)
        if not bc.clients:  # nobody listens: the committing thread pays nothing
            bc.close()
            key = (id(bc.source), id(bc.loop))
            if self.broadcasts.get(key) is bc:
                del self.broadcasts[key]

    def clients(self, source: StateSource | None = None) -> int:
        """Clients following ``source`` (any source: all of them)."""
        # A copy first: /metrics asks from another thread than the loop that adds and removes.
        return sum(len(bc.clients) for bc in tuple(self.broadcasts.values()) if source is None or bc.source is source)


#: This process's streams (read by tests and the benchmark).
STREAMS = Streams({})


@dataclass(frozen=True)
class Feed:
    """What a stream serves: a state source and its settings; or why there is none."""

    source: StateSource | None
    buffer: int = 10_000
    heartbeat_s: float = 15.0
    error: str | None = None
    token: str = field(default="", repr=False)  # SEAMLESS_STREAM_TOKEN: a secret, never in a repr


def admits(token: str, authorization: str | None) -> bool | None:
    """Whether an ``Authorization`` header carries ``token`` as a bearer token: None when it
    carries none, False when another (compared in constant time)."""
    scheme, _, given = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return None
    return bool(token) and hmac.compare_digest(given.strip().encode(), token.encode())


class EventsHandler(RequestHandler):
    """``GET /events``: the journal's rows as Server-Sent Events (see the module)."""

    def initialize(self, feed: Callable[[], Feed]) -> None:
        self.feed = feed
        self.client: Client | None = None
        self.gone = False

    def on_connection_close(self) -> None:
        self.gone = True  # the client hung up: stop following now, not at the next heartbeat
        if self.client is not None:
            self.client.wake.set()

    def _refuse(self, status: int, why: str, reason: str) -> None:
        STREAMS.refused[reason] += 1
        self.set_status(status)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(why + "\n")

    def access(self) -> Access:
        """The client: its address, and the user Panel's login cookie names (if the server has one)."""
        user = None
        if self.application.settings.get("cookie_secret"):
            raw = self.get_secure_cookie("user")  # Panel's basic auth and OAuth keep the user here
            user = raw.decode(errors="replace") if raw else None
        return Access.of(user, self.request.remote_ip, dict(self.request.headers))

    def _query(self, after_default: int) -> tuple[tuple[str, ...] | None, int]:
        raw_topics = self.get_query_argument("topics", "").strip()
        topics = tuple(p.strip() for p in raw_topics.split(",") if p.strip()) or None
        for p in topics or ():
            if not _PATTERN.match(p):
                raise ValueError(
                    f"topics: {p!r} is not a topic pattern (letters, digits, '.', '_', '-' and the "
                    f"wildcards '*', '?', '[...]'; several separated by commas)"
                )
        last_id = self.request.headers.get("Last-Event-ID")
        raw_after, name = (
            (last_id, "Last-Event-ID") if last_id is not None else (self.get_query_argument("after", None), "after")
        )
        if raw_after is None or raw_after.strip() == "":
            return topics, after_default
        try:
            after = int(raw_after)
        except ValueError:
            after = -1
        if after < 0:
            raise ValueError(f"{name}: {raw_after!r} is not a sequence number (a whole number >= 0)")
        return topics, after

    async def get(self) -> None:
        feed = self.feed()
        source = feed.source
        if source is None:
            self._refuse(503, f"no event stream: {feed.error or 'not started yet'}", "unavailable")
            return
        access = self.access()
        if not (access.local or access.user):
            bearer = admits(feed.token, self.request.headers.get("Authorization"))
            if bearer is False:
                self.set_header("WWW-Authenticate", 'Bearer error="invalid_token"')
                why = (
                    "the bearer token is not this server's SEAMLESS_STREAM_TOKEN"
                    if feed.token
                    else "this server accepts no bearer token (SEAMLESS_STREAM_TOKEN is not set)"
                )
                self._refuse(401, f"/events: {why}", "bad_token")
                return
            if bearer is None:
                self._refuse(
                    403,
                    f"/events: log in first, or send Authorization: Bearer <SEAMLESS_STREAM_TOKEN> (the server "
                    f"is exposed beyond this machine and {access.remote_ip}"
                    f"{' via a proxy' if access.forwarded else ''} is not authenticated)",
                    "unauthenticated",
                )
                return
        try:
            topics, after = self._query(source.seq)
        except ValueError as e:
            self._refuse(400, str(e), "bad_request")
            return
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Accel-Buffering", "no")  # nginx: pass each event on at once
        client = self.client = Client(topics, after, feed.buffer, lambda why: self._drop(why, access.who))
        bc: Broadcast | None = None
        try:
            self.write(f"retry: 1000\n: seamless events after seq {after}\n\n")
            await self.flush()
            await self._catch_up(source, client)  # the bulk, before any live event is held
            bc = STREAMS.join(source, client)
            await self._catch_up(source, client)  # what was published before joining
            await self._follow(client, feed.heartbeat_s)
        except StreamClosedError:
            pass  # the client went away: it resumes with Last-Event-ID
        finally:
            if bc is not None:
                STREAMS.leave(bc, client)

    async def _catch_up(self, source: StateSource, client: Client) -> None:
        while True:
            events = await asyncio.to_thread(source.events_since, client.last, CATCH_UP)
            if not events:
                return
            wanted = [frame(ev) for ev in events if client.wants(ev.topic)]
            client.last = events[-1].seq or client.last
            if wanted:
                self.write("".join(wanted))
                await self.flush()
                STREAMS.sent += len(wanted)
            if len(events) < CATCH_UP:
                return

    def _drop(self, why: str, who: str) -> None:
        """Drop a client that does not keep up: :meth:`_follow` says why if its socket still takes
        it; the connection closes after a grace whatever it waits for. The writer and the other
        clients carry on."""
        STREAMS.dropped["too_slow"] += 1
        log.warning("event stream of %s dropped: %s", who, why)
        IOLoop.current().call_later(DROP_GRACE_S, self.request.connection.stream.close)  # type: ignore[union-attr]

    async def _follow(self, client: Client, heartbeat_s: float) -> None:
        while client.dropped is None and not self.gone:
            text, n = client.take()
            if text:
                self.write(text)
                await self.flush()
                STREAMS.sent += n
                continue
            client.wake.clear()
            try:
                await client.wake.wait(timeout=IOLoop.current().time() + heartbeat_s)
            except LoopTimeout:
                self.write(": heartbeat\n\n")
                await self.flush()
        if client.dropped is not None:
            self.write(f"event: dropped\ndata: {json.dumps({'reason': client.dropped})}\n\n")


def feed_of(subject_source: Callable[[], Any]) -> Callable[[], Feed]:
    """The stream of what the endpoints serve (an :class:`~seamless.ops.Source`): its subject's
    store (a viewer's: its replica of the mirror) and settings, or why there is none."""

    def feed() -> Feed:
        src = subject_source()
        subject = getattr(src, "subject", None)
        if subject is None:
            return Feed(None, error=getattr(src, "error", None))
        config = subject.config
        return Feed(subject.store, config.sse_buffer, config.sse_heartbeat_s, token=config.stream_token)

    return feed
