"""``AlpacaFeed``: Alpaca's live quotes (IEX by default, SIP by setting) as ticks, and its
recent minute bars to warm strategies.

The market-data websocket is spoken as alpaca-py's ``StockDataStream`` speaks it
(``connected``, ``auth``, ``subscribe``; msgpack frames, asked for with
``Content-Type: application/msgpack``) and each quote is parsed with alpaca-py's ``Quote``;
the stream itself is run here, because a feed must say when it loses its source (a gap:
the runner journals it and quotes show STALE) and alpaca-py's stream only retries in
silence. A tick is a quote: ``last`` is the midpoint of its bid and ask.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgpack
import requests
import websockets
from alpaca.data.models import BarSet, Quote
from websockets.sync.client import ClientConnection, connect

from .base import Feed, FeedError, StatusCallback, Tick

log = logging.getLogger("seamless.feeds.alpaca")

DATA_FEEDS = ("iex", "sip")


@dataclass(frozen=True)
class DataEndpoints:
    """Where Alpaca's market data is: the historical REST host and the stream of ``feed``."""

    rest: str
    stream: str
    feed: str = "iex"

    @classmethod
    def of(cls, feed: str = "iex", loopback: str | None = None) -> DataEndpoints:
        if feed not in DATA_FEEDS:
            raise FeedError(f"feed={feed!r}: must be one of {', '.join(DATA_FEEDS)}")
        if loopback:
            base = loopback.rstrip("/")
            return cls(base, "ws" + base.removeprefix("http") + f"/v2/{feed}", feed)
        return cls("https://data.alpaca.markets", f"wss://stream.data.alpaca.markets/v2/{feed}", feed)


class AlpacaFeed(Feed):
    """Live quotes of ``symbols`` from Alpaca; ``history_minutes`` of minute bars warm the
    strategies. Yields None for each ``beat_s`` without a quote (see :class:`Feed`)."""

    speed = 0.0  # live: the ticks come at the market's pace

    def __init__(
        self,
        key_id: str,
        secret_key: str,
        symbols: list[str] | tuple[str, ...],
        endpoints: DataEndpoints | None = None,
        *,
        history_minutes: int = 60,
        beat_s: float = 1.0,
        max_backoff_s: float = 5.0,
    ) -> None:
        if not key_id or not secret_key:
            raise FeedError("the Alpaca feed needs APCA_API_KEY_ID and APCA_API_SECRET_KEY")
        if not symbols:
            raise FeedError("the Alpaca feed needs at least one symbol")
        self.symbols = tuple(symbols)
        self.endpoints = endpoints or DataEndpoints.of()
        self.history_minutes = history_minutes
        self.beat_s = beat_s
        self.max_backoff_s = max_backoff_s
        self._keys = (key_id, secret_key)
        self._queue: queue.SimpleQueue[Tick] = queue.SimpleQueue()
        self._callbacks: list[StatusCallback] = []
        self._thread: threading.Thread | None = None
        self._ws: ClientConnection | None = None
        self._stop = threading.Event()
        self.connected = threading.Event()
        self.refused = False

    # -- the Feed interface -------------------------------------------------------------------

    def ticks(self) -> Iterator[Tick | None]:
        """Live quotes, from a stream opened now and closed when the iterator is (a stopped
        runner); another call opens another."""
        self._check_open()
        if self._thread is not None and self._thread.is_alive():
            raise FeedError("AlpacaFeed: one ticks() iterator at a time")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="alpaca-market-data", daemon=True)
        self._thread.start()
        try:
            while not self.closed:
                try:
                    yield self._queue.get(timeout=self.beat_s)
                except queue.Empty:
                    yield None
        finally:
            self._disconnect()

    def ready(self) -> list[Tick]:
        out: list[Tick] = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                return out

    def history(self) -> list[Tick]:
        """The last ``history_minutes`` minute bars of each symbol (closes, oldest first);
        none when Alpaca cannot be reached (warming is worth a warning, not a failed start)."""
        if self.history_minutes <= 0:
            return []
        start = datetime.fromtimestamp(time.time() - self.history_minutes * 60, UTC)
        params: dict[str, str | int] = {
            "symbols": ",".join(self.symbols),
            "timeframe": "1Min",
            "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "limit": 10_000,
            "feed": self.endpoints.feed,
            "sort": "asc",
        }
        headers = {"APCA-API-KEY-ID": self._keys[0], "APCA-API-SECRET-KEY": self._keys[1]}
        ticks: list[Tick] = []
        try:
            while True:  # paged by next_page_token
                r = requests.get(self.endpoints.rest + "/v2/stocks/bars", params=params, headers=headers, timeout=10)
                r.raise_for_status()
                body = r.json()
                bars = BarSet(body.get("bars") or {})
                ticks += [
                    Tick(symbol=b.symbol, last=b.close, bid=None, ask=None, exchange_ts=b.timestamp.timestamp())
                    for series in bars.data.values()
                    for b in series
                ]
                if not body.get("next_page_token"):
                    break
                params["page_token"] = body["next_page_token"]
        except (requests.RequestException, ValueError, KeyError, TypeError, AttributeError) as e:
            log.warning("Alpaca: no history to warm the strategies (%s)", _why(e))
            return []
        return sorted(ticks, key=lambda t: t.exchange_ts)

    def on_status(self, callback: StatusCallback) -> None:
        self._callbacks.append(callback)

    def close(self) -> None:
        super().close()
        self._disconnect()

    def _disconnect(self) -> None:
        self._stop.set()
        ws = self._ws
        if ws is not None:
            ws.close()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)

    # -- the stream ----------------------------------------------------------------------------

    def _status(self, connected: bool, error: str = "") -> None:
        for cb in list(self._callbacks):
            try:
                cb(connected, error)
            except Exception:
                log.exception("feed status callback failed")

    def _run(self) -> None:
        delay = 0.1
        while not self._stop.is_set():
            why = "market data stream closed"
            try:
                self._listen()
            except (OSError, TimeoutError, websockets.exceptions.WebSocketException, ValueError) as e:
                why = f"market data stream lost: {_why(e)}"
            finally:
                was_up = self.connected.is_set()
                self.connected.clear()
                self._ws = None
            if self._stop.is_set() or self.refused:
                return
            if was_up:
                delay = 0.1  # a new gap: retry soon
            if self._up is not False:  # said once per gap
                log.warning("Alpaca %s; reconnecting", why)
                self._status(False, why)
                self._up = False
            self._stop.wait(delay)
            delay = min(delay * 2, self.max_backoff_s)

    _up: bool | None = None  # None: never connected yet

    def _listen(self) -> None:
        headers = {"Content-Type": "application/msgpack"}
        with connect(self.endpoints.stream, additional_headers=headers, open_timeout=5, close_timeout=1) as ws:
            self._ws = ws
            _expect(ws, "connected")
            ws.send(msgpack.packb({"action": "auth", "key": self._keys[0], "secret": self._keys[1]}))
            reply = msgpack.unpackb(ws.recv(timeout=10))
            if reply and reply[0].get("T") == "error":
                self.refused = True
                log.error(
                    "Alpaca refused the API keys on the market data stream (%s): check APCA_API_KEY_ID and "
                    "APCA_API_SECRET_KEY, and that the account may use the %s feed",
                    reply[0].get("msg", "auth failed"),
                    self.endpoints.feed,
                )
                self._status(False, f"market data keys refused: {reply[0].get('msg', 'auth failed')}")
                return
            ws.send(msgpack.packb({"action": "subscribe", "quotes": list(self.symbols)}))
            _expect(ws, "subscription")
            self.connected.set()
            if self._up is False:
                log.info("Alpaca market data back")
            self._up = True
            self._status(True)
            while not self._stop.is_set():
                try:
                    raw = ws.recv(timeout=1)
                except TimeoutError:
                    continue
                for msg in msgpack.unpackb(raw):
                    tick = _tick(msg)
                    if tick is not None:
                        self._queue.put(tick)


def _expect(ws: ClientConnection, what: str) -> None:
    msgs = msgpack.unpackb(ws.recv(timeout=10))
    first = msgs[0] if msgs else {}
    if first.get("T") == "error":
        raise ValueError(f"Alpaca market data: {first.get('msg')} ({first.get('code')})")
    if what == "connected" and not (first.get("T") == "success" and first.get("msg") == "connected"):
        raise ValueError("Alpaca market data: no 'connected' greeting")
    if what == "subscription" and first.get("T") != "subscription":
        raise ValueError(f"Alpaca market data: no subscription answer ({first})")


def _tick(msg: dict[str, Any]) -> Tick | None:
    if msg.get("T") != "q" or "S" not in msg:
        return None  # errors and other channels are not ticks
    if "t" in msg and hasattr(msg["t"], "to_datetime"):
        msg["t"] = msg["t"].to_datetime()
    q = Quote(msg["S"], msg)
    bid, ask = q.bid_price, q.ask_price
    last = (bid + ask) / 2 if bid > 0 and ask > 0 else (ask or bid)
    return Tick(
        symbol=q.symbol,
        last=last if math.isfinite(last) else math.nan,
        bid=bid or None,
        ask=ask or None,
        exchange_ts=q.timestamp.timestamp(),
    )


def _why(e: BaseException) -> str:
    return str(e) or type(e).__name__
