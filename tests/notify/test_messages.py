"""Which events become which messages (pure), and the summary of several."""

from __future__ import annotations

from seamless.events import (
    BreachReset,
    DailyLossBreached,
    OrderFilled,
    PositionClosed,
    QuoteReceived,
    ReconcileMismatch,
    TradingState,
    TradingStateChanged,
)
from seamless.notify import KINDS, TOPICS, Message, message, summary
from seamless.notify.messages import SUMMARY_LINES, not_ready_for, ready_again


def test_each_topic_names_a_real_event_and_a_kind():
    from seamless.events.base import TOPICS as EVENT_TOPICS

    assert set(TOPICS.values()) <= set(EVENT_TOPICS)
    assert set(TOPICS) | {"not_ready"} == set(KINDS)


def test_messages_of_each_kind():
    f = message(OrderFilled(trade_id="T9", client_order_id="c1", symbol="MSFT", qty=-3, price=410.5, seq=7))
    assert f == Message(
        "fills",
        "Fill: SELL 3 MSFT @ 410.50",
        "SELL 3 MSFT at 410.5000, commission 0.00; order c1, trade T9 (#7)",
        "info",
        7,
    )
    c = message(PositionClosed(symbol="MSFT", reason="stop-loss", seq=8))
    assert c is not None and (c.kind, c.title, c.body) == (
        "closes",
        "Position closed: MSFT",
        "MSFT is flat and left the book: stop-loss (#8)",
    )
    b = message(DailyLossBreached(loss=5100, limit=5000, equity=94900, day="2026-11-25", seq=9))
    assert b is not None and b.kind == "breach" and b.level == "failure"
    assert b.body == (
        "Loss 5,100.00 over the limit of 5,000.00; equity 94,900.00 on 2026-11-25. "
        "Trading is HALTED until the breach is reset (#9)."
    )
    levels = {
        s: message(TradingStateChanged(state=s, reason="r", by="bob")).level  # type: ignore[union-attr]
        for s in TradingState
    }
    assert levels == {TradingState.ACTIVE: "success", TradingState.REDUCING: "warning", TradingState.HALTED: "failure"}
    m = message(
        ReconcileMismatch(
            run_id="r1",
            kind="position_qty",
            subject="AAPL",
            store_value="10",
            broker_value="12",
            resolution="adopted the broker's",
        )
    )
    assert m is not None and m.kind == "reconcile"
    assert m.title == "Reconciliation mismatch: position qty AAPL"
    assert m.body == "position qty AAPL: store 10, broker 12; adopted the broker's (run r1)"


def test_other_events_make_no_message():
    assert message(QuoteReceived(symbol="AAPL", last=1.0)) is None
    assert message(BreachReset(by="alice")) is None


def test_readiness_messages():
    assert not_ready_for("broker disconnected", 61.2).body == "Not ready for 61 s: broker disconnected"
    assert ready_again(90).title == "Seamless ready again"


def test_a_summary_counts_by_kind_lists_each_and_is_as_urgent_as_the_worst():
    fills = [
        message(OrderFilled(trade_id=f"T{i}", client_order_id="", symbol="AAPL", qty=1, price=10, seq=i))
        for i in range(3)
    ]
    breach = message(DailyLossBreached(loss=6000, limit=5000, equity=1, seq=3))
    msgs = [m for m in [*fills, breach] if m is not None]
    s = summary(msgs)
    assert s.title == "Seamless: 4 notifications (1 daily loss breach, 3 fills)"
    assert s.body.splitlines()[0] == "- Fill: BUY 1 AAPL @ 10.00 (#0)"
    assert s.level == "failure" and s.kind == "summary"


def test_a_long_summary_lists_the_first_and_counts_the_rest():
    msgs = [Message("fills", f"fill {i}", "", "info", i) for i in range(SUMMARY_LINES + 5)]
    lines = summary(msgs).body.splitlines()
    assert len(lines) == SUMMARY_LINES + 1
    assert lines[-1] == "... and 5 more (the journal has every event)"
