"""The loopback Alpaca speaks Alpaca's protocols: checked with alpaca-py's own clients and models."""

from __future__ import annotations

import json
import threading
import time

import msgpack
import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.live import StockDataStream
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, OrderStatus, QueryOrderStatus, TimeInForce
from alpaca.trading.models import TradeActivity, TradeUpdate
from alpaca.trading.requests import GetOrdersRequest, LimitOrderRequest, MarketOrderRequest
from websockets.sync.client import connect

from seamless.fakes.alpaca import FAULTS, FakeAlpaca


@pytest.fixture
def fake(tmp_path):
    f = FakeAlpaca(tmp_path / "alpaca.db", step_s=0).start()
    yield f
    f.stop()


def client(fake: FakeAlpaca, secret: str | None = None) -> TradingClient:
    return TradingClient(fake.key_id, secret or fake.secret_key, paper=True, url_override=fake.url)


def buy(qty: float, coid: str, symbol: str = "AAPL") -> MarketOrderRequest:
    return MarketOrderRequest(
        symbol=symbol, qty=qty, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, client_order_id=coid
    )


def test_orders_positions_account_and_activities_parse_as_alpaca_py_models(fake):
    c = client(fake)
    assert float(c.get_account().cash) == 100_000
    order = c.submit_order(buy(10, "a-1"))
    assert order.status == OrderStatus.FILLED and order.client_order_id == "a-1" and float(order.filled_qty) == 10
    assert c.get_order_by_client_id("a-1").id == order.id
    assert c.get_order_by_id(order.id).client_order_id == "a-1"
    [position] = c.get_all_positions()
    assert position.symbol == "AAPL" and float(position.qty) == 10
    limit = c.submit_order(
        LimitOrderRequest(
            symbol="MSFT",
            qty=1,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.DAY,
            limit_price=1.0,
            client_order_id="a-2",
        )
    )
    assert [o.client_order_id for o in c.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN))] == ["a-2"]
    c.cancel_order_by_id(limit.id)
    assert c.get_order_by_client_id("a-2").status == OrderStatus.CANCELED
    acts = [TradeActivity(**a) for a in c.get("/account/activities/FILL", {"direction": "asc"})]
    assert [(a.order_id, float(a.qty), float(a.cum_qty)) for a in acts] == [(order.id, 10, 10)]
    account = c.get_account()
    assert float(account.equity) == pytest.approx(100_000, abs=0.01)


def test_client_order_ids_are_unique_per_account_whatever_the_status(fake):
    c = client(fake)
    c.submit_order(buy(1, "dup"))
    with pytest.raises(APIError) as e:
        c.submit_order(buy(2, "dup"))
    assert e.value.status_code == 422 and e.value.message == "client_order_id must be unique"
    assert len(c.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL))) == 1


def test_wrong_keys_are_refused_with_401(fake):
    with pytest.raises(APIError) as e:
        client(fake, secret="wrong").get_account()
    assert e.value.status_code == 401


def test_fill_activities_page_by_token_in_execution_order(fake):
    c = client(fake)
    for i in range(7):
        c.submit_order(buy(1, f"p-{i}"))
    pages, token = [], None
    while True:
        params = {"direction": "asc", "page_size": 3, **({"page_token": token} if token else {})}
        page = [TradeActivity(**a) for a in c.get("/account/activities/FILL", params)]
        pages.append(page)
        if len(page) < 3:
            break
        token = page[-1].id
    ids = [a.id for page in pages for a in page]
    assert [len(p) for p in pages] == [3, 3, 1] and ids == sorted(ids) and len(set(ids)) == 7


def test_faults_rate_limit_server_error_and_lost_answer(fake):
    h = {"APCA-API-KEY-ID": fake.key_id, "APCA-API-SECRET-KEY": fake.secret_key}
    fake.fault("rate_limit")
    r = requests.get(fake.url + "/v2/account", headers=h, timeout=5)
    assert r.status_code == 429 and r.headers["Retry-After"] == "1" and r.json()["code"] == 42910000
    fake.fault("server_error")
    assert requests.get(fake.url + "/v2/account", headers=h, timeout=5).status_code == 500
    assert requests.get(fake.url + "/v2/account", headers=h, timeout=5).status_code == 200
    fake.fault("lose_answer")
    with pytest.raises(requests.ConnectionError):
        requests.post(
            fake.url + "/v2/orders",
            headers=h,
            timeout=5,
            json={
                "symbol": "AAPL",
                "qty": "1",
                "side": "buy",
                "type": "market",
                "time_in_force": "day",
                "client_order_id": "lost",
            },
        )
    assert client(fake).get_order_by_client_id("lost").status == OrderStatus.FILLED  # placed all the same
    with pytest.raises(ValueError, match="unknown fault"):
        fake.fault("nope")
    assert set(FAULTS) >= {"rate_limit", "server_error", "lose_answer", "partial", "outage", "drop_streams"}


def test_trade_updates_stream_authenticates_listens_and_sends_alpaca_updates(fake):
    with connect(fake.url.replace("http", "ws") + "/stream") as ws:
        ws.send(json.dumps({"action": "authenticate", "data": {"key_id": fake.key_id, "secret_key": "bad"}}))
        assert json.loads(ws.recv(timeout=5))["data"]["status"] == "unauthorized"
    with connect(fake.url.replace("http", "ws") + "/stream") as ws:
        ws.send(json.dumps({"action": "authenticate", "data": {"key_id": fake.key_id, "secret_key": fake.secret_key}}))
        assert json.loads(ws.recv(timeout=5)) == {
            "stream": "authorization",
            "data": {"status": "authorized", "action": "authenticate"},
        }
        ws.send(json.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}}))
        assert json.loads(ws.recv(timeout=5))["data"] == {"streams": ["trade_updates"]}
        fake.fault("partial")
        fake.fault("duplicate_updates", 1)
        client(fake).submit_order(buy(10, "s-1"))
        fake.set_price("AAPL", 191.0)
        frames = [ws.recv(timeout=5) for _ in range(4)]  # new (twice: duplicated), partial_fill, fill
    assert all(isinstance(f, bytes) for f in frames)  # binary frames, as Alpaca sends them
    updates = [TradeUpdate(**json.loads(f)["data"]) for f in frames]
    assert [getattr(u.event, "value", u.event) for u in updates] == ["new", "new", "partial_fill", "fill"]
    assert [float(u.qty) for u in updates[2:]] == [5, 5] and float(updates[3].position_qty) == 10


def test_market_data_stream_speaks_msgpack_to_alpaca_py_and_json_to_others(fake):
    quotes = []

    async def on_quote(q):
        quotes.append(q)

    stream = StockDataStream(fake.key_id, fake.secret_key, url_override=fake.url.replace("http", "ws") + "/v2/iex")
    stream.subscribe_quotes(on_quote, "AAPL")
    t = threading.Thread(target=stream.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 10
    while not fake.data_sockets and time.monotonic() < deadline:
        time.sleep(0.01)
    while len(quotes) < 2 and time.monotonic() < deadline:
        fake.set_price("AAPL", 190.0 + len(quotes))
        fake.call(fake._quote_all)
        time.sleep(0.05)
    stream.stop()
    assert len(quotes) >= 2 and quotes[0].symbol == "AAPL" and quotes[0].bid_price < quotes[0].ask_price
    with connect(fake.url.replace("http", "ws") + "/v2/iex") as ws:  # JSON without the msgpack header
        assert json.loads(ws.recv(timeout=5)) == [{"T": "success", "msg": "connected"}]
        ws.send(json.dumps({"action": "subscribe", "quotes": ["AAPL"]}))
        assert json.loads(ws.recv(timeout=5))[0]["code"] == 401  # not authenticated yet
        ws.send(json.dumps({"action": "auth", "key": fake.key_id, "secret": fake.secret_key}))
        assert json.loads(ws.recv(timeout=5)) == [{"T": "success", "msg": "authenticated"}]
        ws.send(json.dumps({"action": "subscribe", "quotes": ["AAPL"]}))
        assert json.loads(ws.recv(timeout=5))[0]["quotes"] == ["AAPL"]
    with connect(
        fake.url.replace("http", "ws") + "/v2/sip", additional_headers={"Content-Type": "application/msgpack"}
    ) as ws:
        assert msgpack.unpackb(ws.recv(timeout=5)) == [{"T": "success", "msg": "connected"}]
        ws.send(msgpack.packb({"action": "auth", "key": "x", "secret": "y"}))
        assert msgpack.unpackb(ws.recv(timeout=5))[0] == {"T": "error", "code": 402, "msg": "auth failed"}


def test_historical_bars_parse_with_alpaca_py(fake):
    bars = StockHistoricalDataClient(fake.key_id, fake.secret_key, url_override=fake.url).get_stock_bars(
        StockBarsRequest(symbol_or_symbols=["AAPL", "MSFT"], timeframe=TimeFrame.Minute, limit=30)
    )
    assert {s: len(b) for s, b in bars.data.items()} == {"AAPL": 30, "MSFT": 30}
    series = bars.data["AAPL"]
    assert series[-1].close == pytest.approx(190.0) and series[0].timestamp < series[-1].timestamp
