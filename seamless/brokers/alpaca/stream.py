"""Alpaca's ``trade_updates`` websocket on a thread of its own, reconnected with backoff.

The protocol is alpaca-py's ``TradingStream``'s (``authenticate`` with the keys, ``listen``
to ``trade_updates``, JSON messages, in binary frames on Alpaca's side); each update is
parsed with alpaca-py's ``TradeUpdate``. alpaca-py's stream is not used itself: it has no
hook for "connected again" (when fills made meanwhile must be caught up) and retries a
refused key forever; here a refused key is said once and the stream stops.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import websockets
from alpaca.trading.models import TradeUpdate
from websockets.sync.client import ClientConnection, connect

log = logging.getLogger("seamless.brokers.alpaca")


class TradeUpdates:
    """Calls ``on_update(TradeUpdate)`` for each update and ``on_connect()`` after each
    (re)connection; ``connected`` says whether it is listening now."""

    def __init__(
        self,
        url: str,
        key_id: str,
        secret_key: str,
        on_update: Callable[[TradeUpdate], None],
        on_connect: Callable[[], None],
        *,
        max_backoff_s: float = 5.0,
    ) -> None:
        self.url = url
        self._auth = json.dumps({"action": "authenticate", "data": {"key_id": key_id, "secret_key": secret_key}})
        self.on_update, self.on_connect = on_update, on_connect
        self.max_backoff_s = max_backoff_s
        self.connected = threading.Event()
        self.refused = False  # the keys were refused: the stream stopped
        self._stop = threading.Event()
        self._ws: ClientConnection | None = None
        self._thread = threading.Thread(target=self._run, name="alpaca-trade-updates", daemon=True)

    def start(self) -> TradeUpdates:
        self._thread.start()
        return self

    def _run(self) -> None:
        delay, warned = 0.1, False
        while not self._stop.is_set():
            try:
                self._listen()
                delay, warned = 0.1, False
            except (OSError, TimeoutError, websockets.exceptions.WebSocketException, ValueError) as e:
                if self._stop.is_set() or self.refused:
                    return
                if not warned:  # once per outage, not once per attempt
                    log.warning("Alpaca trade updates stream lost (%s); reconnecting", _why(e))
                    warned = True
            finally:
                self.connected.clear()
                self._ws = None
            if self.refused:
                return
            self._stop.wait(delay)
            delay = min(delay * 2, self.max_backoff_s)

    def _listen(self) -> None:
        with connect(self.url, open_timeout=5, close_timeout=1, max_size=2**22) as ws:
            self._ws = ws
            ws.send(self._auth)
            reply = json.loads(ws.recv(timeout=10))
            if reply.get("data", {}).get("status") != "authorized":
                self.refused = True
                log.error(
                    "Alpaca refused the API keys on the trade updates stream: check APCA_API_KEY_ID and "
                    "APCA_API_SECRET_KEY; fills are still caught up over REST"
                )
                return
            ws.send(json.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}}))
            json.loads(ws.recv(timeout=10))
            self.connected.set()
            try:
                self.on_connect()  # what filled while no one listened
            except Exception as e:  # REST down too: the runner's own catch-up pulls them later
                log.warning("Alpaca: catching up fills after reconnecting failed: %s", e)
            while not self._stop.is_set():
                try:
                    raw = ws.recv(timeout=1)
                except TimeoutError:
                    continue
                self._dispatch(json.loads(raw))

    def _dispatch(self, msg: dict[str, Any]) -> None:
        if msg.get("stream") != "trade_updates":
            return
        try:
            update = TradeUpdate(**msg["data"])
        except (KeyError, TypeError, ValueError) as e:
            log.error("Alpaca sent a trade update alpaca-py cannot read: %s", e)
            return
        try:
            self.on_update(update)
        except Exception as e:  # the fill stays in the activities: the next catch-up has it
            log.warning("Alpaca: handling a trade update failed: %s", e)

    def close(self) -> None:
        self._stop.set()
        ws = self._ws
        if ws is not None:
            ws.close()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(5)


def _why(e: BaseException) -> str:
    return str(e) or type(e).__name__
