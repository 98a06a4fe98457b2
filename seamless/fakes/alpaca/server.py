"""The loopback Alpaca's server: Tornado handlers speaking Alpaca's protocols, and the faults.

Endpoints (one port; paths as on Alpaca's hosts):

- trading REST ``/v2/account``, ``/v2/positions``, ``/v2/orders`` (GET, POST),
  ``/v2/orders/{id}`` (GET, DELETE), ``/v2/orders:by_client_order_id``,
  ``/v2/account/activities/FILL`` (paged by ``page_token``); keys in the
  ``APCA-API-KEY-ID`` / ``APCA-API-SECRET-KEY`` headers, errors as ``{"code", "message"}``;
- the trade-updates websocket ``/stream`` (``authenticate``, ``listen``; JSON in binary frames);
- market data: ``/v2/iex`` and ``/v2/sip`` websockets (``connected``, ``auth``, ``subscribe``;
  msgpack when the client says ``Content-Type: application/msgpack``, as alpaca-py does, else
  JSON) and the historical ``/v2/stocks/bars``;
- ``/_fake/...``: arm a fault, place an order from outside, set a price (no keys needed).

Run by ``seamless fake-alpaca --port N`` or, in a test, :meth:`FakeAlpaca.start` (its own
thread and loop).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import math
import random
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import msgpack
import tornado.httpserver
import tornado.ioloop
import tornado.netutil
import tornado.web
import tornado.websocket

from .venue import Update, Venue, VenueError, iso

log = logging.getLogger("seamless.fakes.alpaca")

#: What :meth:`FakeAlpaca.fault` can arm. Counted faults act on the next ``count`` requests,
#: orders or updates; ``outage`` and ``drop_streams`` last ``seconds``.
FAULTS: dict[str, str] = {
    "rate_limit": "the next requests are answered 429 with Retry-After",
    "server_error": "the next requests are answered 500",
    "lose_answer": "the next orders are placed, then the connection closes without an answer",
    "partial": "the next orders fill in two parts: half now, the rest at the next price",
    "duplicate_updates": "the next trade updates are each sent twice",
    "reorder_updates": "the next trade updates are held and sent in reverse order",
    "drop_streams": "every websocket is closed now and reconnections are refused for `seconds`",
    "outage": "connections are refused for `seconds` (and open ones closed)",
}

T = TypeVar("T")


class FakeAlpaca:
    """A loopback Alpaca on ``port`` (0: a free one) whose account lives in the SQLite file ``path``.

    ``key_id``/``secret_key``: the only keys it accepts. ``step_s``: how often its prices
    move (each move also fills what it can and streams quotes). ``retry_after_s``: the
    Retry-After of its 429 answers.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        port: int = 0,
        address: str = "127.0.0.1",
        key_id: str = "FAKEKEYID",
        secret_key: str = "FAKESECRET",
        step_s: float = 0.1,
        seed: int = 0,
        volatility: float = 0.0005,
        cash: float = 100_000.0,
        prices: dict[str, float] | None = None,
        retry_after_s: int = 1,
    ) -> None:
        self.key_id, self.secret_key = key_id, secret_key
        self.address = address
        self.step_s = step_s
        self.retry_after_s = retry_after_s
        self.venue = Venue(path, cash=cash, prices=prices, seed=seed, volatility=volatility)
        self.faults: dict[str, int] = {}
        self.until: dict[str, float] = {}  # outage / drop_streams: refused until this monotonic time
        self.trade_sockets: set[TradeStream] = set()
        self.data_sockets: set[DataStream] = set()
        self.requests = 0  # REST requests answered (faults included), for tests
        self.order_bodies: list[dict[str, Any]] = []  # every POST /v2/orders body, for tests
        self._held: list[Update] = []
        self._sockets = tornado.netutil.bind_sockets(port, address)
        self.port = self._sockets[0].getsockname()[1]
        self._server: tornado.httpserver.HTTPServer | None = None
        self._loop: tornado.ioloop.IOLoop | None = None
        self._thread: threading.Thread | None = None
        self._loop_thread: threading.Thread | None = None
        self._stepper: tornado.ioloop.PeriodicCallback | None = None

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    # -- running -------------------------------------------------------------------------------

    def app(self) -> tornado.web.Application:
        kw = {"fake": self}
        return tornado.web.Application(
            [
                (r"/v2/account", AccountHandler, kw),
                (r"/v2/positions", PositionsHandler, kw),
                (r"/v2/orders", OrdersHandler, kw),
                (r"/v2/orders:by_client_order_id", OrderByClientIdHandler, kw),
                (r"/v2/orders/([^/]+)", OrderHandler, kw),
                (r"/v2/account/activities/FILL", FillActivitiesHandler, kw),
                (r"/v2/stocks/bars", BarsHandler, kw),
                (r"/stream", TradeStream, kw),
                (r"/v2/(iex|sip)", DataStream, kw),
                (r"/_fake/fault", FaultHandler, kw),
                (r"/_fake/order", ExternalOrderHandler, kw),
                (r"/_fake/price", PriceHandler, kw),
            ],
            websocket_ping_interval=None,
        )

    def _listen(self) -> None:
        self._server = tornado.httpserver.HTTPServer(self.app())
        self._server.add_sockets(self._sockets)

    async def _serve(self, ready: Callable[[], None]) -> None:
        self._loop = tornado.ioloop.IOLoop.current()
        self._loop_thread = threading.current_thread()
        self._listen()
        if self.step_s > 0:
            self._stepper = tornado.ioloop.PeriodicCallback(self._step, self.step_s * 1000)
            self._stepper.start()
        ready()
        self._stopped = asyncio.Event()
        await self._stopped.wait()
        if self._stepper is not None:
            self._stepper.stop()
        for ws in list(self.trade_sockets | self.data_sockets):
            ws.close()
        if self._server is not None:
            self._server.stop()
        self.venue.close()

    def serve_forever(self) -> None:
        """Serve on this thread until :meth:`stop` (``seamless fake-alpaca``)."""
        asyncio.run(self._serve(lambda: None))

    def start(self) -> FakeAlpaca:
        """Serve on a thread of its own; returns once it listens."""
        started = threading.Event()
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._serve(started.set)), name="fake-alpaca", daemon=True
        )
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the loopback Alpaca did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.add_callback(lambda: self._stopped.set())
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FakeAlpaca:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the server's loop (where the venue lives) and return its result."""
        if self._loop is None:
            return fn()
        if threading.current_thread() is self._loop_thread:
            return fn()
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(fn())
            except BaseException as e:
                done.set_exception(e)

        self._loop.add_callback(run)
        return done.result(10)

    # -- what tests and the control endpoints do -------------------------------------------------

    def fault(self, kind: str, count: int = 1, seconds: float = 0.0) -> None:
        """Arm a fault (:data:`FAULTS`)."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(FAULTS)}")
        closing = self.call(lambda: self._arm(kind, count, seconds))
        if closing is not None and self._loop is not None and threading.current_thread() is not self._loop_thread:
            # Back only once the kept-alive connections are closed: a client must then find the
            # venue refusing, not a request of its reset on a connection still open.
            asyncio.run_coroutine_threadsafe(_finished(closing), self._loop.asyncio_loop).result(10)  # type: ignore[attr-defined]

    def _arm(self, kind: str, count: int, seconds: float) -> asyncio.Future[None] | None:
        """Arm ``kind``; an outage returns the closing of the open connections, under way."""
        closing: asyncio.Future[None] | None = None
        if kind in ("outage", "drop_streams"):
            self.until[kind] = time.monotonic() + seconds
            for ws in list(self.trade_sockets | self.data_sockets):
                ws.close()
            if kind == "outage" and self._server is not None:
                self._server.stop()  # refuse connections: nothing listens
                closing = asyncio.ensure_future(self._server.close_all_connections())  # kept-alive ones too
                self._sockets = []
                assert self._loop is not None
                self._loop.call_later(seconds, self._relisten)
        else:
            self.faults[kind] = self.faults.get(kind, 0) + count
        return closing

    def _relisten(self) -> None:
        self._sockets = tornado.netutil.bind_sockets(self.port, self.address)
        self._listen()

    def take(self, kind: str) -> bool:
        """Consume one count of an armed fault; True if there was one."""
        if self.faults.get(kind, 0) <= 0:
            return False
        self.faults[kind] -= 1
        return True

    def refused(self, kind: str) -> bool:
        return time.monotonic() < self.until.get(kind, 0.0)

    def external_order(self, symbol: str, qty: float, side: str = "buy") -> dict[str, Any]:
        """An order placed outside Seamless (by hand in Alpaca's app): its own client order id."""
        return self.place({"symbol": symbol, "qty": str(qty), "side": side, "type": "market", "time_in_force": "day"})

    def set_price(self, symbol: str, price: float) -> None:
        self.call(lambda: self.publish(self.venue.set_price(symbol, price)))

    def place(self, body: dict[str, Any]) -> dict[str, Any]:
        """Place an order as any client of the account would (``POST /v2/orders``'s body):
        its updates are streamed, faults apply. Raises :class:`VenueError` if refused."""

        def now() -> dict[str, Any]:
            order, updates = self.venue.place(body, partial=self.take("partial"))
            self.publish(updates)
            return order

        return self.call(now)

    def _step(self) -> None:
        try:
            updates = self.venue.step()
        except Exception:
            log.exception("price step failed")
            return
        self.publish(updates)
        self._quote_all()

    def _quote_all(self) -> None:
        if not self.data_sockets:
            return
        now = time.time()
        for symbol in self.venue.symbols():
            price = self.venue.price(symbol)
            for ws in list(self.data_sockets):
                ws.quote(symbol, price, now)

    def publish(self, updates: list[Update]) -> None:
        """Stream trade updates to every listener, as the faults armed say."""
        out: list[Update] = []
        for u in updates:
            copies = [u, u] if self.take("duplicate_updates") else [u]
            if self.take("reorder_updates"):
                self._held += copies
                if not self.faults.get("reorder_updates"):
                    out += reversed(self._held)
                    self._held = []
            else:
                out += copies
        for u in out:
            message = json.dumps({"stream": "trade_updates", "data": u.data()}).encode()
            for ws in list(self.trade_sockets):
                ws.send(message)


# -- REST ----------------------------------------------------------------------------------------


class Handler(tornado.web.RequestHandler):
    """Alpaca's REST conventions: key headers, JSON bodies, ``{"code", "message"}`` errors."""

    fake: FakeAlpaca
    authenticated = True

    def initialize(self, fake: FakeAlpaca) -> None:
        self.fake = fake

    def prepare(self) -> None:
        fake = self.fake
        fake.requests += 1
        if fake.refused("outage"):
            self.lose()
            return
        if self.authenticated and (
            self.request.headers.get("APCA-API-KEY-ID") != fake.key_id
            or self.request.headers.get("APCA-API-SECRET-KEY") != fake.secret_key
        ):
            self.error(401, 40110000, "request is not authorized")
            return
        if fake.take("rate_limit"):
            self.set_header("Retry-After", str(fake.retry_after_s))
            self.error(429, 42910000, "rate limit exceeded")
            return
        if fake.take("server_error"):
            self.error(500, 50010000, "internal server error")

    def lose(self) -> None:
        """Close the connection without an answer."""
        self._finished = True  # nothing more is written on a detached connection
        self.request.connection.detach().close()  # type: ignore[union-attr]

    def error(self, status: int, code: int, message: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"code": code, "message": message}))

    def answer(self, body: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def run(self, fn: Callable[[], Any], status: int = 200) -> None:
        try:
            self.answer(fn(), status)
        except VenueError as e:
            self.error(e.status, e.code, e.message)

    def check_xsrf_cookie(self) -> None:  # an API, not a form
        pass


class AccountHandler(Handler):
    def get(self) -> None:
        self.run(self.fake.venue.account)


class PositionsHandler(Handler):
    def get(self) -> None:
        self.run(self.fake.venue.positions)


class OrdersHandler(Handler):
    def get(self) -> None:
        self.run(
            lambda: self.fake.venue.orders(
                self.get_argument("status", "open"),
                min(int(self.get_argument("limit", "50")), 500),
                self.get_argument("direction", "desc"),
            )
        )

    def post(self) -> None:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            self.error(400, 40010000, "request body format is invalid")
            return
        self.fake.order_bodies.append(body)
        lost = self.fake.take("lose_answer")
        try:
            order = self.fake.place(body)
        except VenueError as e:
            self.error(e.status, e.code, e.message)
            return
        if lost:
            self.lose()  # placed, but the answer never reaches the client
            return
        self.answer(order)


class OrderByClientIdHandler(Handler):
    def get(self) -> None:
        self.run(lambda: self.fake.venue.order_by_client_id(self.get_argument("client_order_id", "")))


class OrderHandler(Handler):
    def get(self, order_id: str) -> None:
        self.run(lambda: self.fake.venue.order(order_id))

    def delete(self, order_id: str) -> None:
        try:
            self.fake.publish(self.fake.venue.cancel(order_id))
        except VenueError as e:
            self.error(e.status, e.code, e.message)
            return
        self.set_status(204)
        self.finish()


class FillActivitiesHandler(Handler):
    def get(self) -> None:
        self.run(
            lambda: self.fake.venue.activities(
                self.get_argument("page_token", None),
                min(int(self.get_argument("page_size", "100")), 100),
                self.get_argument("direction", "desc"),
            )
        )


class BarsHandler(Handler):
    """Historical minute bars ending now at the venue's price (a seeded walk back in time)."""

    def get(self) -> None:
        symbols = [s for s in self.get_argument("symbols", "").split(",") if s]
        limit = min(int(self.get_argument("limit", "100")), 10_000)
        now = math.floor(time.time() / 60) * 60
        start = self.get_argument("start", None)
        if start:
            since = datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp()
            limit = max(0, min(limit, int((now - since) // 60)))
        out: dict[str, list[dict[str, Any]]] = {}
        try:
            for symbol in symbols:
                price = self.fake.venue.price(symbol)
                rng = random.Random(symbol)
                bars = []
                for i in range(limit):
                    o = price * math.exp(rng.gauss(0, 0.001))
                    bars.append(
                        {
                            "t": iso(now - 60 * (i + 1)).replace(".000000", ""),
                            "o": round(o, 4),
                            "h": round(max(o, price) * 1.0005, 4),
                            "l": round(min(o, price) * 0.9995, 4),
                            "c": round(price, 4),
                            "v": 1000 + i,
                            "n": 10,
                            "vw": round((o + price) / 2, 4),
                        }
                    )
                    price = o
                out[symbol] = bars[::-1]
        except VenueError as e:
            self.error(e.status, e.code, e.message)
            return
        self.answer({"bars": out, "next_page_token": None})


# -- the control endpoints (no keys, no faults) ----------------------------------------------------


class Control(Handler):
    authenticated = False

    def prepare(self) -> None:
        self.body = json.loads(self.request.body or b"{}")


class FaultHandler(Control):
    def post(self) -> None:
        try:
            self.fake._arm(self.body["kind"], int(self.body.get("count", 1)), float(self.body.get("seconds", 0)))
        except (KeyError, ValueError) as e:
            self.error(422, 40010001, f"bad fault: {e}")
            return
        self.answer({"armed": self.body["kind"]})


class ExternalOrderHandler(Control):
    def post(self) -> None:
        self.run(lambda: self.fake.place({"type": "market", "time_in_force": "day", **self.body}))


class PriceHandler(Control):
    def post(self) -> None:
        self.run(lambda: self.fake.publish(self.fake.venue.set_price(self.body["symbol"], float(self.body["price"]))))


# -- websockets ----------------------------------------------------------------------------------


class Socket(tornado.websocket.WebSocketHandler):
    fake: FakeAlpaca

    def initialize(self, fake: FakeAlpaca) -> None:
        self.fake = fake

    def check_origin(self, origin: str) -> bool:
        return True

    def refuse(self) -> bool:
        if self.fake.refused("outage") or self.fake.refused("drop_streams"):
            self.set_status(503)
            self.finish()
            return True
        return False

    def send(self, message: bytes | str) -> None:
        try:
            sent = self.write_message(message, binary=isinstance(message, bytes))
        except tornado.websocket.WebSocketClosedError:
            return
        sent.add_done_callback(lambda f: f.exception())  # a peer gone mid-write is no error here


class TradeStream(Socket):
    """``trade_updates``: ``authenticate`` then ``listen``; JSON, in binary frames as Alpaca sends."""

    async def get(self, *args: Any, **kwargs: Any) -> None:
        if not self.refuse():
            await super().get(*args, **kwargs)

    def on_message(self, message: str | bytes) -> None:
        try:
            msg = json.loads(message)
            action, data = msg.get("action"), msg.get("data") or {}
        except (ValueError, AttributeError):
            self.send(json.dumps({"stream": "error", "data": {"error_message": "invalid syntax"}}).encode())
            return
        if action == "authenticate":
            ok = data.get("key_id") == self.fake.key_id and data.get("secret_key") == self.fake.secret_key
            status = "authorized" if ok else "unauthorized"
            self.authorized = ok
            self.send(json.dumps({"stream": "authorization", "data": {"status": status, "action": action}}).encode())
            if not ok:
                self.close()
        elif action == "listen" and getattr(self, "authorized", False):
            streams = [s for s in data.get("streams", []) if s == "trade_updates"]
            if streams:
                self.fake.trade_sockets.add(self)
            else:
                self.fake.trade_sockets.discard(self)
            self.send(json.dumps({"stream": "listening", "data": {"streams": streams}}).encode())
        else:
            self.send(json.dumps({"stream": "authorization", "data": {"status": "unauthorized"}}).encode())
            self.close()

    def on_close(self) -> None:
        self.fake.trade_sockets.discard(self)


class DataStream(Socket):
    """Market data: ``connected``, then ``auth`` and ``subscribe``; msgpack or JSON."""

    async def get(self, *args: Any, **kwargs: Any) -> None:
        if not self.refuse():
            await super().get(*args, **kwargs)

    def open(self, *args: str) -> None:
        self.packed = self.request.headers.get("Content-Type") == "application/msgpack"
        self.authenticated = False
        self.quotes: set[str] = set()
        self.trades: set[str] = set()
        self.reply([{"T": "success", "msg": "connected"}])

    def reply(self, msgs: list[dict[str, Any]]) -> None:
        self.send(msgpack.packb(msgs, datetime=True) if self.packed else json.dumps(msgs, default=str))

    def on_message(self, message: str | bytes) -> None:
        try:
            msg = msgpack.unpackb(message) if isinstance(message, bytes) else json.loads(message)
            action = msg.get("action")
        except (ValueError, AttributeError, msgpack.ExtraData):
            self.reply([{"T": "error", "code": 400, "msg": "invalid syntax"}])
            return
        if action == "auth":
            if msg.get("key") == self.fake.key_id and msg.get("secret") == self.fake.secret_key:
                self.authenticated = True
                self.reply([{"T": "success", "msg": "authenticated"}])
            else:
                self.reply([{"T": "error", "code": 402, "msg": "auth failed"}])
                self.close()
        elif not self.authenticated:
            self.reply([{"T": "error", "code": 401, "msg": "not authenticated"}])
        elif action in ("subscribe", "unsubscribe"):
            known = set(self.fake.call(self.fake.venue.symbols))
            for channel, held in (("quotes", self.quotes), ("trades", self.trades)):
                asked = {s for s in msg.get(channel, []) if s in known or s == "*"}
                held |= asked if action == "subscribe" else set()
                held -= asked if action == "unsubscribe" else set()
            self.fake.data_sockets.add(self)
            self.reply(
                [
                    {
                        "T": "subscription",
                        "trades": sorted(self.trades),
                        "quotes": sorted(self.quotes),
                        "bars": [],
                        "updatedBars": [],
                        "dailyBars": [],
                        "statuses": [],
                        "lulds": [],
                        "corrections": [],
                        "cancelErrors": [],
                    }
                ]
            )
        else:
            self.reply([{"T": "error", "code": 400, "msg": "invalid syntax"}])

    def quote(self, symbol: str, price: float, ts: float) -> None:
        stamp: Any = msgpack.Timestamp.from_unix(ts) if self.packed else iso(ts)
        msgs = []
        if symbol in self.quotes or "*" in self.quotes:
            bid, ask = round(price - 0.01, 4), round(price + 0.01, 4)
            msgs.append(
                {
                    "T": "q",
                    "S": symbol,
                    "bx": "V",
                    "bp": bid,
                    "bs": 1,
                    "ax": "V",
                    "ap": ask,
                    "as": 1,
                    "c": ["R"],
                    "z": "C",
                    "t": stamp,
                }
            )
        if symbol in self.trades or "*" in self.trades:
            msgs.append(
                {
                    "T": "t",
                    "S": symbol,
                    "i": int(ts * 1000),
                    "x": "V",
                    "p": round(price, 4),
                    "s": 100,
                    "c": ["@"],
                    "z": "C",
                    "t": stamp,
                }
            )
        if msgs:
            self.reply(msgs)

    def on_close(self) -> None:
        self.fake.data_sockets.discard(self)


async def _finished(future: asyncio.Future[None]) -> None:
    await future
