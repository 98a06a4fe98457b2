"""The broker contract (``contract.py``) run against each venue: the paper broker, and
``AlpacaBroker`` against the loopback Alpaca (``seamless.fakes.alpaca``, a real Tornado
server on a free port speaking Alpaca's REST and websocket protocols)."""

from __future__ import annotations

import pytest

from seamless.brokers import Broker, OrderRequest, PaperBroker
from seamless.brokers.alpaca import AlpacaBroker, AlpacaEndpoints
from seamless.fakes.alpaca import FakeAlpaca

from .contract import *  # noqa: F403 - the shared tests run here
from .contract import wait_for


class PaperVenue:
    def __init__(self, path) -> None:
        self.path = path
        self.broker: Broker = PaperBroker(path)

    def price(self, symbol: str, price: float) -> None:
        self.broker.mark(symbol, price)  # type: ignore[attr-defined]

    def lose_next_answer(self) -> None:
        self.broker.inject("timeout")  # type: ignore[attr-defined]

    def refuse_next(self) -> None:
        self.broker.inject("disconnect")  # type: ignore[attr-defined]

    def partial_next(self) -> None:
        self.broker.partial_fills = True  # type: ignore[attr-defined]

    def rate_limit_next(self, count: int) -> None:
        pass  # a file has no rate limit

    def server_error_next(self, count: int) -> None:
        pass

    def garble_updates(self, count: int) -> None:
        pass  # pushes are calls in order

    def drop_pushes(self) -> None:
        self.broker.inject("drop_fill", count=100)  # type: ignore[attr-defined]

    def restore_pushes(self) -> None:
        pass

    def trade_outside(self, symbol: str, qty: float) -> None:
        with PaperBroker(self.path) as other:
            other.trade(symbol, qty)

    def order_outside(self, symbol: str, qty: float, limit_price: float) -> str:
        with PaperBroker(self.path) as other:  # another client of the same venue
            req = OrderRequest(client_order_id="by-hand-1", symbol=symbol, qty=qty, order_type="limit",
                               limit_price=limit_price)  # fmt: skip
            return other.submit(req).client_order_id

    def reopen(self) -> Broker:
        self.broker.close()
        self.broker = PaperBroker(self.path)
        return self.broker

    def close(self) -> None:
        self.broker.close()


class AlpacaVenue:
    def __init__(self, path) -> None:
        self.fake = FakeAlpaca(path, step_s=0).start()
        self.broker: Broker = self._open()

    def _open(self) -> AlpacaBroker:
        b = AlpacaBroker(self.fake.key_id, self.fake.secret_key, AlpacaEndpoints.of(paper=True, loopback=self.fake.url))
        assert b.stream is not None
        wait_for(b.stream.connected.is_set, "the trade updates stream")
        return b

    def price(self, symbol: str, price: float) -> None:
        self.fake.set_price(symbol, price)

    def lose_next_answer(self) -> None:
        self.fake.fault("lose_answer")

    def refuse_next(self) -> None:
        self.fake.fault("outage", seconds=0.5)

    def partial_next(self) -> None:
        self.fake.fault("partial")

    def rate_limit_next(self, count: int) -> None:
        self.fake.fault("rate_limit", count)

    def server_error_next(self, count: int) -> None:
        self.fake.fault("server_error", count)

    def garble_updates(self, count: int) -> None:
        self.fake.fault("duplicate_updates", count)
        self.fake.fault("reorder_updates", count)

    def drop_pushes(self) -> None:
        self.fake.fault("drop_streams", seconds=0.5)
        stream = self.broker.stream  # type: ignore[attr-defined]
        wait_for(lambda: not stream.connected.is_set(), "the stream to drop")

    def restore_pushes(self) -> None:
        stream = self.broker.stream  # type: ignore[attr-defined]
        wait_for(stream.connected.is_set, "the stream to reconnect")

    def trade_outside(self, symbol: str, qty: float) -> None:
        self.fake.external_order(symbol, qty, "buy" if qty > 0 else "sell")

    def order_outside(self, symbol: str, qty: float, limit_price: float) -> str:
        body = {"symbol": symbol, "qty": str(abs(qty)), "side": "buy" if qty > 0 else "sell", "type": "limit",
                "limit_price": str(limit_price), "time_in_force": "day"}  # fmt: skip
        return self.fake.place(body)["client_order_id"]

    def reopen(self) -> Broker:
        self.broker.close()
        self.broker = self._open()
        return self.broker

    def close(self) -> None:
        self.broker.close()
        self.fake.stop()


@pytest.fixture(params=["paper", "alpaca"])
def venue(request, tmp_path):
    v = PaperVenue(tmp_path / "paper.db") if request.param == "paper" else AlpacaVenue(tmp_path / "alpaca.db")
    yield v
    v.close()
