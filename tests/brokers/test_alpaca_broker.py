"""What only the Alpaca adapter has (the shared behaviour is in contract.py): keys refused,
fills paged past Alpaca's 100 a page, Retry-After obeyed, the keys out of every message."""

from __future__ import annotations

import logging

import pytest

from seamless.brokers import BrokerAuthError, BrokerDisconnected, OrderRequest
from seamless.brokers.alpaca import AlpacaBroker, AlpacaEndpoints
from seamless.fakes.alpaca import FakeAlpaca

KEY, SECRET = "PKSECRETKEYID1234", "sEcReT-never-to-be-seen-5678"


@pytest.fixture
def fake(tmp_path):
    f = FakeAlpaca(tmp_path / "alpaca.db", key_id=KEY, secret_key=SECRET, step_s=0).start()
    yield f
    f.stop()


def broker(fake: FakeAlpaca, secret: str = SECRET, **kw) -> AlpacaBroker:
    return AlpacaBroker(KEY, secret, AlpacaEndpoints.of(paper=True, loopback=fake.url), **kw)


def test_refused_keys_stop_with_one_clear_line_that_never_repeats_them(fake, caplog):
    caplog.set_level(logging.INFO)
    with pytest.raises(BrokerAuthError) as e:  # at once, when it connects: never retried
        broker(fake, secret="wrong-secret-abcdef", stream=False)
    message = str(e.value)
    assert "\n" not in message and "HTTP 401" in message and "APCA_API_SECRET_KEY" in message
    for secret in (KEY, "wrong-secret-abcdef"):
        assert secret not in message and secret not in caplog.text
    assert fake.requests == 1


def test_fills_page_past_one_page_with_consecutive_cursors(fake):
    for _ in range(130):
        fake.external_order("AAPL", 1)
    b = broker(fake, stream=False)
    fills = b.fills_since(0)
    assert [f.cursor for f in fills] == list(range(1, 131))
    assert len({f.trade_id for f in fills}) == 130 and all(f.client_order_id for f in fills)
    assert [f.cursor for f in b.fills_since(125)] == [126, 127, 128, 129, 130]
    b.close()


def test_retry_after_is_obeyed_and_counted(fake):
    b = broker(fake, stream=False)
    fake.fault("rate_limit", 2)
    assert b.account().cash == 100_000
    assert b.rest.retried == 2
    b.close()
    with pytest.raises(BrokerDisconnected):
        b.account()


def test_orders_outside_seamless_are_open_orders_with_their_own_ids(fake):
    b = broker(fake, stream=False)
    b.submit(OrderRequest(client_order_id="mine", symbol="MSFT", qty=1, order_type="limit", limit_price=1.0))
    fake.call(
        lambda: fake.venue.place(
            {"symbol": "IBM", "qty": "2", "side": "buy", "type": "limit", "limit_price": "1", "time_in_force": "day"}
        )
    )
    ids = [o.client_order_id for o in b.open_orders()]
    assert ids[0] == "mine" and len(ids) == 2 and ids[1] != "mine"
    b.close()


def test_the_adapters_orders_are_what_alpaca_py_would_send(fake):
    from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest

    b = broker(fake, stream=False)
    b.submit(OrderRequest(client_order_id="m-1", symbol="AAPL", qty=-3))
    b.submit(OrderRequest(client_order_id="l-1", symbol="MSFT", qty=2, order_type="limit", limit_price=101.5))
    market, limit = fake.order_bodies
    # alpaca-py's own request models accept each body and would send the same fields.
    assert MarketOrderRequest(**market).to_request_fields() == {**market, "qty": 3.0}
    assert LimitOrderRequest(**limit).to_request_fields() == {**limit, "qty": 2.0, "limit_price": 101.5}
    assert market["side"] == "sell" and limit["type"] == "limit"
    b.close()
