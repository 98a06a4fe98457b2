"""The notifier against a real loopback receiver (apprise's ``json://127.0.0.1:PORT``) and a
real store committing real events: delivered, retried, rate limited and coalesced, failures
counted and logged, the writer never waiting, the URL's secret never shown."""

from __future__ import annotations

import logging
import time

import pytest

from seamless.events import (
    DailyLossBreached,
    OrderFilled,
    PositionClosed,
    QuoteReceived,
    ReconcileMismatch,
    TradingState,
    TradingStateChanged,
)
from seamless.notify.notifier import Notifier
from seamless.views.system import notification_figures

from .conftest import WAIT_S, wait_until


def fill(n: int, qty: float = 5.0) -> OrderFilled:
    return OrderFilled(trade_id=f"T{n}", client_order_id="", symbol="AAPL", qty=qty, price=100.0 + n)


def test_events_are_delivered_to_the_loopback_receiver(store, receiver, notifier_of):
    n = notifier_of(store, receiver.url())
    store.commit(fill(1))
    store.commit(fill(2, qty=-5))  # flat again
    store.commit(PositionClosed(symbol="AAPL", reason="flat"))
    store.commit(
        ReconcileMismatch(
            run_id="r1", kind="cash_mismatch", subject="cash", store_value="1", broker_value="2", resolution="adopted"
        )
    )
    store.commit(DailyLossBreached(loss=6000.0, limit=5000.0, equity=94000.0, day="2026-11-25"))
    store.commit(TradingStateChanged(state=TradingState.HALTED, reason="daily loss limit", by="runner"))
    got = receiver.wait_for(6)
    titles = [m["title"] for m in got]
    assert titles == [
        "Fill: BUY 5 AAPL @ 101.00",
        "Fill: SELL 5 AAPL @ 102.00",
        "Position closed: AAPL",
        "Reconciliation mismatch: cash mismatch cash",
        "Daily loss limit breached: trading HALTED",
        "Trading HALTED",
    ]
    assert "trade T1 (#1)" in got[0]["message"]
    assert "Loss 6,000.00 over the limit of 5,000.00" in got[4]["message"]
    assert [m["type"] for m in got] == ["info", "info", "info", "warning", "failure", "failure"]
    assert all(r["path"] == "/hook" for r in receiver.requests)
    assert n.wait_idle()
    s = n.stats()
    assert (s["queued"], s["sent"], s["failed"], s["retried"], s["coalesced"], s["pending"]) == (6, 6, 0, 0, 0, 0)


def test_only_the_kinds_asked_for_and_no_quotes(store, receiver, notifier_of):
    n = notifier_of(store, receiver.url(), kinds=["breach"])
    assert {s.name for s in store.bus.subscriptions if s.name.startswith("notify-")} == {"notify-breach"}
    store.commit(fill(1))
    store.commit(QuoteReceived(symbol="AAPL", last=101.0))
    store.commit(DailyLossBreached(loss=6000.0, limit=5000.0, equity=94000.0))
    assert receiver.wait_for(1)[0]["title"].startswith("Daily loss limit breached")
    assert n.wait_idle()
    assert n.stats()["queued"] == 1 and len(receiver.requests) == 1


def test_refused_once_then_delivered_after_a_retry(store, receiver, notifier_of):
    receiver.plan = ["refuse"]
    n = notifier_of(store, receiver.url())
    store.commit(fill(1))
    got = receiver.wait_for(1)
    assert got[0]["title"] == "Fill: BUY 5 AAPL @ 101.00"
    assert len(receiver.requests) == 2  # refused, then accepted
    assert n.wait_idle()
    s = n.stats()
    assert (s["sent"], s["failed"], s["retried"]) == (1, 0, 1)
    assert "error=500" in s["last_error"]  # what apprise said of the refused attempt


def test_a_burst_past_the_rate_limit_is_coalesced_into_one_summary(store, receiver, notifier_of):
    # 2 a minute: the first fill takes one token (held at the receiver while the burst comes),
    # the burst of 10 finds one token left: it goes as one summary, nothing dropped.
    receiver.plan = ["hang"]
    n = notifier_of(store, receiver.url(), rate=2, per_s=60.0)
    store.commit(fill(0))
    assert receiver.hanging.wait(WAIT_S)
    for i in range(1, 11):
        store.commit(fill(i))
    wait_until(lambda: n.stats()["pending"] == 11, what="the burst queued behind the first")  # 10 + in flight
    receiver.release()
    got = receiver.wait_for(2)
    assert got[0]["title"] == "Fill: BUY 5 AAPL @ 100.00"
    assert got[1]["title"] == "Seamless: 10 notifications (10 fills)"
    lines = got[1]["message"].splitlines()
    assert lines == [f"- Fill: BUY 5 AAPL @ {100 + i:.2f} (#{i + 1})" for i in range(1, 11)]  # every one, in order
    assert n.wait_idle()
    s = n.stats()
    assert (s["queued"], s["sent"], s["coalesced"], s["deliveries"], s["failed"]) == (11, 11, 10, 2, 0)

    # The bucket is empty: the next one waits for a token (30 s away), it is not sent now.
    store.commit(fill(11))
    wait_until(lambda: n.stats()["pending"] == 1, what="the next fill queued")
    assert receiver.quiet_for(0.3)  # nothing more came meanwhile
    assert len(receiver.received) == 2
    # Closing sends what is left (one last message past the limit): nothing is lost.
    n.close()
    assert receiver.wait_for(3)[2]["title"] == "Fill: BUY 5 AAPL @ 111.00"
    s = n.stats()
    assert (s["queued"], s["sent"], s["failed"], s["pending"]) == (12, 12, 0, 0)


def test_always_refused_is_counted_logged_and_shown(store, receiver, notifier_of, caplog):
    receiver.default = "refuse"
    n = notifier_of(store, receiver.url(), retries=2)
    with caplog.at_level(logging.WARNING):
        store.commit(fill(1))
        wait_until(lambda: n.stats()["failed"] == 1, what="the failure counted")
    assert len(receiver.requests) == 3  # the attempt and its 2 retries
    s = n.stats()
    assert (s["sent"], s["failed"], s["retried"], s["pending"]) == (0, 1, 2, 0)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and warnings[0].name == "seamless.notify"  # one line, not one per attempt
    text = warnings[0].getMessage()
    assert "'Fill: BUY 5 AAPL @ 101.00'" in text and "3 attempt(s), counted as failed" in text
    assert "error=500" in text
    rows = dict(notification_figures(n))
    assert rows["notifications sent / failed / pending"] == "0 / 1 / 0"
    assert "error=500" in rows["notifications last error"]


def test_the_writer_never_waits_for_a_hanging_receiver(store, receiver, notifier_of):
    receiver.default = "hang"
    n = notifier_of(store, receiver.url())
    store.commit(fill(0))
    assert receiver.hanging.wait(WAIT_S)  # the worker is stuck in its first send
    t0 = time.perf_counter()
    for i in range(1, 51):
        store.commit(fill(i))  # critical: each is durable before commit returns
    took = time.perf_counter() - t0
    assert store.seq == 51
    assert len(receiver.requests) == 1  # all committed while the first send still hangs
    assert took < 3.0  # fsyncs only: not one of them waited for the receiver
    wait_until(lambda: n.stats()["pending"] == 51, what="every fill queued")
    receiver.release()
    wait_until(lambda: n.stats()["pending"] == 0, what="the queue drained")
    assert n.stats()["sent"] == 51


def test_not_ready_for_longer_than_the_threshold_then_ready_again(store, receiver, notifier_of):
    n = notifier_of(store, receiver.url(), kinds=["not_ready"], not_ready_s=0.3)
    store.commit(TradingStateChanged(state=TradingState.HALTED, reason="by hand", by="alice"))
    got = receiver.wait_for(1)
    assert got[0]["title"] == "Seamless not ready"
    assert "trading HALTED: by hand" in got[0]["message"]
    store.commit(TradingStateChanged(state=TradingState.ACTIVE, reason="resumed", by="alice"))
    got = receiver.wait_for(2)
    assert got[1]["title"] == "Seamless ready again"
    assert n.wait_idle()
    assert n.stats()["sent"] == 2


def test_a_readiness_hook_replaces_the_state(store, receiver, notifier_of):
    reason: list[str | None] = ["health: feed stale"]
    n = notifier_of(store, receiver.url(), kinds=["not_ready"], not_ready_s=0.2, ready=lambda: reason[0])
    assert receiver.wait_for(1)[0]["message"].endswith("health: feed stale")
    reason[0] = None
    assert receiver.wait_for(2)[1]["title"] == "Seamless ready again"
    assert n.wait_idle()


def test_close_sends_what_is_queued_and_counts_what_it_cannot(store, receiver, notifier_of, caplog):
    receiver.default = "hang"
    n = notifier_of(store, receiver.url())
    store.commit(fill(1))
    assert receiver.hanging.wait(WAIT_S)
    store.commit(fill(2))
    wait_until(lambda: n.stats()["pending"] == 2, what="the second fill queued")
    with caplog.at_level(logging.WARNING):
        t0 = time.monotonic()
        n.close(timeout_s=0.5)
        assert time.monotonic() - t0 < 5.0  # bounded, though the receiver still hangs
    s = n.stats()
    assert (s["failed"], s["pending"], s["sent"]) == (2, 0, 0)
    assert any("not sent when the notifier closed" in r.getMessage() for r in caplog.records)


def test_the_secret_never_reaches_the_log_or_the_store(store, db_path, receiver, notifier_of, caplog):
    token = "tok3n-S3CR3T-8c1f"
    pathtoken = "p4th-S3CR3T-77aa"
    url = receiver.url(f"/hook/{pathtoken}", auth=f"alice:{token}")
    receiver.plan = ["refuse"]
    with caplog.at_level(logging.DEBUG):  # apprise's and urllib3's debug lines too
        n = notifier_of(store, url, retries=0)
        store.commit(fill(1))  # refused, not retried: a warning with the reason
        store.commit(fill(2))
        receiver.wait_for(1)
        assert n.wait_idle()
        n.close()
    assert receiver.requests[0]["path"] == f"/hook/{pathtoken}"  # it was sent with them
    assert "Basic " in receiver.requests[0]["headers"]["Authorization"]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    names = {r.name for r in caplog.records}
    assert "apprise" in names and "urllib3.connectionpool" in names  # debug lines were there to look at
    assert token not in logged and pathtoken not in logged
    shown = repr(n.stats()) + repr(notification_figures(n))
    assert token not in shown and pathtoken not in shown and "json://alice:****@127.0.0.1" in shown
    store.close()
    for f in db_path.parent.iterdir():
        data = f.read_bytes()
        assert token.encode() not in data and pathtoken.encode() not in data, f


def test_an_unusable_url_is_refused_without_showing_it(store, caplog):
    with caplog.at_level(logging.DEBUG), pytest.raises(ValueError) as e:
        Notifier(store, ["tgram://S3CR3T-ONLY"])
    assert "URL 1 (tgram://…)" in str(e.value)
    assert "S3CR3T" not in str(e.value) and "S3CR3T" not in caplog.text


def test_the_counts_reach_the_metrics(store, receiver, notifier_of):
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from seamless.config import Config
    from seamless.ops import Metrics, Target

    receiver.plan = ["refuse"]  # the first attempt is refused, its retry delivered
    n = notifier_of(store, receiver.url())
    store.commit(fill(1))
    receiver.wait_for(1)
    assert n.wait_idle()
    registry = CollectorRegistry()
    registry.register(Metrics(Target(Config(db=str(store.path)), store, notifier=n)))
    samples = {
        (s.name, s.labels.get("outcome")): s.value
        for f in text_string_to_metric_families(generate_latest(registry).decode())
        for s in f.samples
    }
    assert samples[("seamless_notifications_total", "sent")] == 1
    assert samples[("seamless_notifications_total", "failed")] == 0
    assert samples[("seamless_notification_retries_total", None)] == 1
    assert samples[("seamless_notifications_pending", None)] == 0
