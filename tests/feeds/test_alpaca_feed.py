"""AlpacaFeed against the loopback Alpaca: quotes as ticks, history to warm, a gap reported."""

from __future__ import annotations

import itertools
import time

import pytest

from seamless.fakes.alpaca import FakeAlpaca
from seamless.feeds.alpaca import AlpacaFeed, DataEndpoints


@pytest.fixture
def fake(tmp_path):
    f = FakeAlpaca(tmp_path / "alpaca.db", step_s=0.02).start()
    yield f
    f.stop()


def feed(fake: FakeAlpaca, **kw) -> AlpacaFeed:
    return AlpacaFeed(fake.key_id, fake.secret_key, ["AAPL", "MSFT"], DataEndpoints.of("iex", fake.url), **kw)


def test_quotes_become_ticks_in_time_order(fake):
    f = feed(fake, beat_s=0.2)
    ticks = [t for t in itertools.islice(f.ticks(), 40) if t is not None][:20]
    f.close()
    assert len(ticks) == 20 and {t.symbol for t in ticks} == {"AAPL", "MSFT"}
    for t in ticks:
        assert t.bid < t.last < t.ask and t.fault is None
    for symbol in ("AAPL", "MSFT"):
        times = [t.exchange_ts for t in ticks if t.symbol == symbol]
        assert times == sorted(times) and abs(times[-1] - time.time()) < 10


def test_history_is_the_recent_minute_bars_oldest_first(fake):
    history = feed(fake, history_minutes=30).history()
    per_symbol = {s: sum(t.symbol == s for t in history) for s in ("AAPL", "MSFT")}
    assert all(29 <= n <= 30 for n in per_symbol.values()), per_symbol  # 30 minutes, the current one open
    assert [t.exchange_ts for t in history] == sorted(t.exchange_ts for t in history)
    assert history[-1].exchange_ts < time.time()


def test_a_gap_is_reported_once_then_the_return_and_ticks_flow_again(fake):
    f = feed(fake, beat_s=0.1)
    seen: list[tuple[bool, str]] = []
    f.on_status(lambda connected, error: seen.append((connected, error)))
    it = f.ticks()
    assert next(t for t in it if t is not None)
    fake.fault("drop_streams", seconds=0.5)
    deadline = time.monotonic() + 10
    while not any(c for c, _ in seen[1:]) and time.monotonic() < deadline:
        next(it)
    assert [c for c, _ in seen] == [True, False, True] and "market data stream" in seen[1][1]
    assert next(t for t in it if t is not None).symbol in ("AAPL", "MSFT")
    f.close()


def test_refused_keys_are_said_and_the_stream_stops(fake, caplog):
    f = AlpacaFeed(fake.key_id, "wrong", ["AAPL"], DataEndpoints.of("sip", fake.url), beat_s=0.05)
    seen = []
    f.on_status(lambda connected, error: seen.append((connected, error)))
    it = f.ticks()
    deadline = time.monotonic() + 10
    while not seen and time.monotonic() < deadline:
        assert next(it) is None
    f.close()
    assert seen == [(False, "market data keys refused: auth failed")] and f.refused
    assert "wrong" not in caplog.text
