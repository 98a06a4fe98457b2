"""Figures as a person reads them (seamless.fmt), in the dashboard and `seamless state`."""

from seamless import fmt
from seamless.cli import human_state


def test_money_prices_quantities_and_ages():
    assert fmt.money(1234.5) == "$1,234.50"
    assert fmt.money(-12.3, signed=True) == "−$12.30" and fmt.money(12.3, signed=True) == "+$12.30"
    assert fmt.money(-0.001) == "$0.00" and fmt.money(None) == fmt.money(float("nan")) == "–"
    assert fmt.price(354.9455887928011) == "354.95" and fmt.price(1.23456, tick=0.0001) == "1.2346"
    assert fmt.qty(-120.0) == "-120" and fmt.qty(1500) == "1,500"
    assert [fmt.age(s) for s in (0.2, 12, 300, 9000, 400000)] == [
        "just now",
        "12 s ago",
        "5 min ago",
        "2.5 h ago",
        "5 d ago",
    ]


def test_times_carry_their_zone():
    ts = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC = 03:00:00 in New York (EST)
    assert fmt.exchange_time(ts) == "03:00:00 ET"
    assert fmt.exchange_time(ts, date=True) == "2027-01-15 03:00:00 ET"
    assert fmt.local_time(ts, "Europe/Paris") == "09:00:00 CET"
    assert fmt.exchange_time(ts, seconds=False) == "03:00 ET"
    assert fmt.local_time(ts, "Europe/Paris", date=True, seconds=False) == "2027-01-15 09:00 CET"
    assert fmt.local_time(ts, "Not/AZone") == fmt.local_time(ts), "an unknown zone: this machine's"
    # the dashboard's tables get instants, and the page shows them in the zone its viewer chose
    assert fmt.iso(ts + 0.25) == "2027-01-15T08:00:00.250+00:00" and fmt.iso(None) == "–"
    assert fmt.zone_label(None) == fmt.zone_label("America/New_York") == fmt.zone_label("Not/AZone") == "ET"
    assert fmt.zone_label("Asia/Tokyo") == "JST"


def test_seamless_state_reads_like_money_not_floats():
    doc = {
        "seq": 9,
        "runner": {"status": "RUNNING", "since": 1_800_000_000.0},
        "risk": {"trading_state": "HALTED", "state_reason": "halted by hand"},
        "account": {
            "cash": 99_123.456,
            "equity": 100_001.23456,
            "daily_realized_pnl": -1.5,
            "daily_unrealized_pnl": 0.25,
        },
        "positions": {"AAPL": {"qty": 5.0, "avg_price": 100.12345678, "mark": 101.98765, "unrealized_pnl": 9.3221}},
    }
    text = human_state("acct.db", doc, now=1_800_000_090.0)
    assert "runner    RUNNING  since 2027-01-15 03:00:00 ET (90 s ago)" in text
    assert "equity $100,001.23  cash $99,123.46  day P&L −$1.25" in text
    assert "100.12" in text and "101.99" in text and "+$9.32" in text
    assert "100.1234" not in text and "1800000000" not in text
