"""``/readyz`` against a real service: ready, then each reason it is not, each made real.

Each test runs a real ``Service`` (store, paper broker, simulated feed, runner thread) and
asks its endpoints over HTTP on a loopback port (``live``, conftest.py); the dashboard's
own server and ``seamless run --http-port`` serve the same handlers (test_served.py).
"""

from __future__ import annotations

import sqlite3

import pytest

from seamless import ops
from seamless.config import Config
from seamless.errors import StoreFull
from seamless.events import QuoteReceived
from seamless.ops.health import CHECKS
from seamless.service import Access
from seamless.store import Store

from .conftest import http_get, poll

LOCAL = Access(user=None, remote_ip="127.0.0.1", forwarded=False)


def test_ready_lists_every_check_with_its_status_and_reason(live):
    one = live()
    answer = one.until_ready()
    doc = answer.json()
    assert doc["ready"] is True and doc["failed"] == []
    assert (
        [c["name"] for c in doc["checks"]]
        == [c.name for c in CHECKS]
        == [
            "configuration valid",
            "store open and writable",
            "journal lag",
            "last durable write age",
            "snapshot age",
            "history verified",
            "runner not failed",
            "feed fresh",
            "broker connected",
            "last reconciliation clean",
            "trading state",
            "disk free",
        ]
    )
    assert all(c["status"] == "ok" and c["reason"] for c in doc["checks"])
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.check("broker")["reason"] == "connected"
    assert answer.check("trading")["reason"] == "ACTIVE"
    assert "agree" in answer.check("reconciliation")["reason"]


def test_a_paused_runner_makes_the_feed_stale_and_resuming_makes_it_fresh(live):
    one = live(ready_feed_stale_s=0.5)
    one.until_ready()
    one.service.command("pause", LOCAL).result(10)
    answer = one.until_failed("feed")
    feed = answer.check("feed")
    assert "no quote for" in feed["reason"] and "the runner is PAUSED" in feed["reason"]
    assert "feed fresh: failed, no quote for" in " ".join(answer.json()["failed"])
    one.service.command("resume", LOCAL).result(10)
    one.until_ready()


def test_a_broker_that_went_away_is_disconnected(live):
    one = live()
    one.until_ready()
    one.service.broker.close()  # the runner's connection: every call now raises BrokerDisconnected
    answer = one.until_failed("broker")
    assert answer.check("broker")["reason"].startswith("disconnected: paper broker ")
    assert answer.check("broker")["reason"].endswith("is closed")
    assert answer.check("broker")["value"] == 0.0


def test_a_daily_loss_breach_halts_trading_and_is_not_ready(live):
    # A wild feed, flat out, against a small limit: the runner itself journals the breach.
    one = live(daily_loss_limit=50, volatility=60, seed=3, speed=0)
    answer = one.until_failed("trading", timeout_s=30)
    trading = answer.check("trading")
    assert trading["reason"].startswith("HALTED: ")
    assert one.service.store.state.risk.breach is not None
    assert any(line.startswith("trading state: failed, HALTED: ") for line in answer.json()["failed"])


def test_a_mismatch_left_unresolved_by_reconciliation_is_not_ready(live):
    one = live()
    one.until_ready()
    # An order placed at the venue outside Seamless, and a policy that leaves such orders as found.
    one.order_by_hand("by-hand-1")
    one.service.reconciler.policy.adopt_external_orders = False
    report = one.service.reconcile(by="test")
    assert report is not None and not report.ok
    answer = one.until_failed("reconciliation")
    reason = answer.check("reconciliation")["reason"]
    assert "mismatch(es) left unresolved" in reason and report.run_id in reason


def test_thresholds_are_settings_read_at_each_probe(live):
    one = live()
    one.until_ready()
    config = one.service.config
    config.ready_min_disk_free_mb = 1e12  # more than any disk here has
    disk = one.until_failed("disk").check("disk")
    assert "MB free in" in disk["reason"] and "(limit 1,000,000,000,000 MB)" in disk["reason"]
    assert disk["value"] > 0
    config.ready_min_disk_free_mb = 0
    config.ready_max_snapshot_age_s = 0.3  # events keep coming; the next snapshot is minutes away
    snapshot = one.until_failed("snapshot").check("snapshot")
    assert "the last snapshot (seq " in snapshot["reason"] and "event(s) since" in snapshot["reason"]
    one.service.store.snapshot()
    config.ready_max_snapshot_age_s = 900
    one.until_ready()


def test_a_locked_store_shows_journal_lag_then_fails_to_write_then_recovers(tmp_path, get):
    # Another process's transaction holds the database: the store's writer waits its busy
    # timeout (events pile up: journal lag), fails (StoreLocked), and writes again once free.
    db = tmp_path / "s.db"
    config = Config.load(
        environ={
            "SEAMLESS_DB": str(db),
            "SEAMLESS_READY_MAX_JOURNAL_LAG_S": "0.3",
            "SEAMLESS_READY_MAX_WRITE_AGE_S": "0.5",
        }
    )
    store = Store(db, busy_timeout_s=2.0)
    target = ops.Target(config, store)
    source = ops.Source(target, ops.Metrics(target))
    http = ops.serve_http(lambda: source)
    other = sqlite3.connect(db, isolation_level=None)
    ts = [1_800_000_000.0]

    def quote() -> None:
        ts[0] += 1
        store.commit(QuoteReceived(symbol="IBM", last=100.0, exchange_ts=ts[0]))

    def checks() -> dict[str, dict]:
        a = get(http.url + "/readyz")
        return {c["check"]: c for c in a.json()["checks"]}

    try:
        quote()
        store.flush()
        assert checks()["store"]["status"] == "ok"
        other.execute("BEGIN EXCLUSIVE")
        try:
            lagging = poll(
                "journal lag failed", lambda: (quote(), c := checks())[1]["journal_lag"]["status"] == "failed" and c
            )
            assert "event(s) not yet durable, the oldest waiting" in lagging["journal_lag"]["reason"]
            failed = poll("store failed", lambda: (quote(), c := checks())[1]["store"]["status"] == "failed" and c)
            assert failed["store"]["reason"].startswith("the last write failed: ")
            assert "is locked by another process" in failed["store"]["reason"]
            stale = poll("durable write failed", lambda: (c := checks())["durable_write"]["status"] == "failed" and c)
            assert "since the last write failed" in stale["durable_write"]["reason"]
            metrics = get(http.url + "/metrics").text
            assert "seamless_store_writable 0.0" in metrics
        finally:
            other.execute("ROLLBACK")
        quote()
        store.flush()
        after = checks()
        assert after["journal_lag"]["status"] == after["durable_write"]["status"] == "ok"
        if after["store"]["status"] != "ok":  # the failure stays named for the write age limit
            assert after["store"]["reason"].startswith("a write failed ")
            assert "some succeeded since: " in after["store"]["reason"]
        poll("store ok once the failure is older than the limit", lambda: checks()["store"]["status"] == "ok")
    finally:
        other.close()
        http.close()
        source.metrics.close()
        store.close()


def test_before_the_service_starts_and_after_it_failed(get):
    # The plugin's routes exist before app.py has run: until then, and after a start that
    # failed, readiness says why for the configuration and "unknown" for the rest.
    error = "SEAMLESS_SPEED='fast': must be a number >= 0"
    for source, status, reason in (
        (ops.Source(), "unknown", "not started yet: no session has opened (serve --warm)"),
        (ops.Source(error=error), "failed", error),
    ):
        http = ops.serve_http(lambda s=source: s)
        try:
            answer = get(http.url + "/readyz")
            assert answer.status == 503
            assert answer.check("config") == {
                "check": "config",
                "name": "configuration valid",
                "status": status,
                "reason": reason,
                "value": None,
            }
            assert {c["status"] for c in answer.json()["checks"][1:]} == {"unknown"}
            assert get(http.url + "/healthz").status == 200
            metrics = get(http.url + "/metrics")
            assert metrics.status == 200 and "seamless_ready 0.0" in metrics.text
        finally:
            http.close()


def test_healthz_says_the_process_is_alive_with_its_server_time(live, get):
    # How cheap it is, is measured by the soak benchmark's probes, not asserted here.
    one = live()
    for _ in range(3):
        answer = get(one.url + "/healthz")
        assert answer.status == 200 and answer.json()["alive"] is True
        name, _, duration = answer.headers["Server-Timing"].partition(";dur=")
        assert name and float(duration) >= 0.0


def test_a_check_that_raises_is_failed_with_its_error(live):
    one = live()
    one.until_ready()
    boom = ops.Check("boom", "a check that raises", lambda p: 1 / 0)
    report = ops.readiness(ops.Source(one.service, one.service.metrics, checks=(*CHECKS, boom)))
    assert not report.ready
    assert report.failed() == [
        "a check that raises: failed, the check could not run: ZeroDivisionError: division by zero"
    ]


def test_an_unknown_path_is_404(live):
    one = live()
    assert http_get(one.url + "/nothing").status == 404


def test_a_full_store_stops_the_runner_and_both_are_named(live):
    # A store that cannot grow (as on a full disk): the runner's first write that needs a new
    # page fails, the runner stops; /readyz names the store and the runner with the cause, even
    # while a small write (a reconciliation) still fits in the file's free pages.
    one = live(store_max_mb=0.001, ready_max_write_age_s=600)
    answer = one.until_failed("runner")
    runner = answer.check("runner")["reason"]
    assert runner.startswith("stopped on an error: StoreFull: ") and "disk or database full" in runner, runner
    store = answer.check("store")["reason"]
    assert store.startswith(("the last write failed: ", "a write failed ")) and "disk or database full" in store, store
    assert one.service.runner is not None and one.service.runner.failure == runner.removeprefix("stopped on an error: ")
    with pytest.raises(StoreFull):  # its last snapshot does not fit either: said, not swallowed
        one.service.close()
