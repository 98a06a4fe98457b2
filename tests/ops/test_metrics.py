"""``/metrics``: parsed by prometheus_client's parser, checked by promtool; the alert rules
and the Grafana dashboard against what is exported; nothing on the quotes' path."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from collections import Counter

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from seamless import ops
from seamless.engine.risk import RiskLimits, RiskManager
from seamless.events import TradingState, TradingStateChanged
from seamless.feeds import QueueFeed, SimFeed
from seamless.ops.metrics import BUCKETS, REFUSAL_REASONS, refusal_reason
from seamless.store import Store

from .conftest import REPO, http_get, poll

OPS = REPO / "ops"


def families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def value(fams: dict, name: str, sample: str | None = None, **labels: str) -> float:
    family = fams[name]
    want = sample or (name + "_total" if family.type == "counter" else name)
    found = [s.value for s in family.samples if s.name == want and all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, f"{want}{labels}: {found}"
    return found[0]


def test_the_exposition_parses_and_names_every_figure(live):
    one = live(max_position=1)  # every strategy wish beyond 1 share is refused: real refusals
    one.until_ready()
    poll("a refusal", lambda: one.service.store.state.orders.by_id and one.service.metrics._refusals)
    answer = http_get(one.url + "/metrics")
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/plain")
    fams = families(answer.text)
    types = {name: f.type for name, f in fams.items() if name.startswith("seamless_")}
    assert types == {
        "seamless_ready": "gauge",
        "seamless_check_ok": "gauge",
        "seamless_disk_free_bytes": "gauge",
        "seamless_events": "counter",
        "seamless_commit_latency_seconds": "histogram",
        "seamless_write_latency_seconds": "histogram",
        "seamless_dispatch_latency_seconds": "histogram",
        "seamless_push_latency_seconds": "histogram",
        "seamless_journal_lag_events": "gauge",
        "seamless_journal_lag_seconds": "gauge",
        "seamless_last_durable_write_age_seconds": "gauge",
        "seamless_snapshot_age_seconds": "gauge",
        "seamless_store_writable": "gauge",
        "seamless_seq": "gauge",
        "seamless_open_sessions": "gauge",
        "seamless_orders": "counter",
        "seamless_fills": "counter",
        "seamless_open_orders": "gauge",
        "seamless_order_refusals": "counter",
        "seamless_reconciliation_runs": "counter",
        "seamless_reconciliation_mismatches": "counter",
        "seamless_trading_state": "gauge",
        "seamless_runner_status": "gauge",
        "seamless_broker_connected": "gauge",
        "seamless_daily_loss_breached": "gauge",
        "seamless_daily_loss_limit": "gauge",
        "seamless_feed_age_seconds": "gauge",
        "seamless_equity": "gauge",
        "seamless_cash": "gauge",
        "seamless_daily_pnl": "gauge",
        "seamless_positions": "gauge",
        "seamless_quotes_conflated": "counter",
        "seamless_sse_clients": "gauge",
        "seamless_sse_events_sent": "counter",
        "seamless_sse_dropped": "counter",
        "seamless_sse_refused": "counter",
    }
    assert {"process_resident_memory_bytes", "process_cpu_seconds", "python_info"} <= set(fams)
    assert value(fams, "seamless_ready") == 1.0
    assert {s.labels["check"] for s in fams["seamless_check_ok"].samples} == {
        "config", "store", "journal_lag", "durable_write", "snapshot", "history", "runner", "feed", "broker",
        "reconciliation", "trading", "disk",
    }  # fmt: skip
    assert value(fams, "seamless_events", topic="market.quote") > 0
    assert value(fams, "seamless_order_refusals", reason="max_position") > 0
    assert value(fams, "seamless_reconciliation_runs") >= 1
    assert value(fams, "seamless_trading_state", state="ACTIVE") == 1.0
    assert value(fams, "seamless_trading_state", state="HALTED") == 0.0
    assert value(fams, "seamless_runner_status", status="RUNNING") == 1.0
    assert value(fams, "seamless_broker_connected") == 1.0
    assert value(fams, "seamless_equity") == pytest.approx(one.service.store.state.account.equity, rel=0.01)
    assert value(fams, "seamless_daily_loss_limit") == 5000.0
    assert value(fams, "seamless_fills") >= 0
    # A histogram: cumulative buckets, +Inf equal to the count.
    commit = {
        s.labels.get("le"): s.value
        for s in fams["seamless_commit_latency_seconds"].samples
        if s.name.endswith("_bucket")
    }
    bounds = [f"{b:g}" for b in BUCKETS] + ["+Inf"]
    assert list(commit) == bounds
    assert list(commit.values()) == sorted(commit.values())
    assert commit["+Inf"] == value(fams, "seamless_commit_latency_seconds", "seamless_commit_latency_seconds_count") > 0


def test_counters_and_histograms_only_grow_from_scrape_to_scrape(live):
    one = live()
    one.until_ready()
    before = families(http_get(one.url + "/metrics").text)
    poll("more events", lambda: one.service.store.seq > value(before, "seamless_seq") + 500)
    after = families(http_get(one.url + "/metrics").text)
    for name, fam in after.items():
        if fam.type not in ("counter", "histogram") or not name.startswith("seamless_"):
            continue
        old = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in before[name].samples}
        for s in fam.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            if key in old:
                assert s.value >= old[key], f"{key} went from {old[key]} to {s.value}"
    assert value(after, "seamless_dispatch_latency_seconds", "seamless_dispatch_latency_seconds_count") > value(
        before, "seamless_dispatch_latency_seconds", "seamless_dispatch_latency_seconds_count"
    )


def test_promtool_checks_the_exposition_in_both_formats(live, promtool):
    one = live()
    one.until_ready()
    text = http_get(one.url + "/metrics").text
    done = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and not done.stdout.strip() and not done.stderr.strip(), done.stdout + done.stderr
    # Prometheus itself asks for OpenMetrics: the same families, in that format.
    om = http_get(one.url + "/metrics", headers={"Accept": "application/openmetrics-text;version=1.0.0"})
    assert om.headers["Content-Type"].startswith("application/openmetrics-text")
    assert om.text.rstrip().endswith("# EOF") and "seamless_fills_total" in om.text


def test_a_reconciliation_mismatch_is_counted_by_kind(live):
    one = live()
    one.until_ready()
    one.order_by_hand("by-hand")
    report = one.service.reconcile(by="test")
    assert report is not None and [f.kind for f in report.findings] == ["order_unknown_to_store"]
    fams = families(http_get(one.url + "/metrics").text)
    assert value(fams, "seamless_reconciliation_mismatches", kind="order_unknown_to_store") == 1.0
    assert value(fams, "seamless_reconciliation_mismatches", kind="qty_differs") == 0.0


def test_every_refusal_of_the_risk_checks_has_its_own_label(tmp_path):
    with Store(tmp_path / "s.db") as store:
        risk = RiskManager(store, RiskLimits(max_position=100, max_order_qty=50, max_orders_per_minute=1))
        found = {
            refusal_reason(risk.check("IBM", 60, 0, 0.0)),  # order size
            refusal_reason(risk.check("IBM", 40, 80, 0.0)),  # position
        }
        risk.record_sent(0.0)
        found.add(refusal_reason(risk.check("IBM", 10, 0, 1.0)))  # orders per minute
        store.commit(TradingStateChanged(state=TradingState.REDUCING, reason="test", by="test"))
        found.add(refusal_reason(risk.check("IBM", 10, 0, 100.0)))
        store.commit(TradingStateChanged(state=TradingState.HALTED, reason="test", by="test"))
        found.add(refusal_reason(risk.check("IBM", 10, 0, 200.0)))
    assert found == {label for _, label in REFUSAL_REASONS}
    assert refusal_reason("something new") == "other"


def test_no_metrics_subscriber_on_the_quotes_path(live):
    one = live()
    one.until_ready()
    route = one.service.store.bus._route("market.quote")
    assert not [s.name for s in route if s.name.startswith("metrics")]
    assert {s.name for s in one.service.store.bus.subscriptions} >= {"metrics-refusals", "metrics-mismatches"}


def test_promtool_checks_the_rules_the_config_and_the_alerts_fire(promtool):
    for args in (
        ["check", "rules", "alerts.yml"],
        ["check", "config", "prometheus.yml"],
        ["test", "rules", "alerts_test.yml"],
    ):
        done = subprocess.run([promtool, *args], cwd=OPS, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"promtool {' '.join(args)}:\n{done.stdout}{done.stderr}"
    alerts = (OPS / "alerts.yml").read_text()
    names = set(re.findall(r"alert: (\w+)", alerts))
    assert {
        "SeamlessStoreNotWritable", "SeamlessJournalLag", "SeamlessFeedStale", "SeamlessBrokerDisconnected",
        "SeamlessReconciliationMismatch", "SeamlessLossLimitBreached", "SeamlessDiskLow", "SeamlessStreamTokenRefused",
    } <= names  # fmt: skip
    tested = set(re.findall(r"alertname: (\w+)", (OPS / "alerts_test.yml").read_text()))
    assert tested == names


def test_the_rules_and_the_dashboard_use_only_exported_metrics(live):
    one = live()
    one.until_ready()
    exported = set()
    for fam in text_string_to_metric_families(http_get(one.url + "/metrics").text):
        exported |= {s.name for s in fam.samples}
    dashboard = json.loads((OPS / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) >= 20
    used = {m for e in exprs + [(OPS / "alerts.yml").read_text()] for m in re.findall(r"\bseamless_\w+", e)}
    assert used - exported == set()
    titles = {p["title"] for p in dashboard["panels"]}
    assert {"Equity", "Daily P&L", "Latency p99", "Journal lag", "Reconciliation", "Disk free"} <= titles


def test_the_quotes_conflation_folded_are_counted_by_symbol_across_runners(open_account, promtool):
    """A burst waiting in a live feed's queue, conflated: each symbol's count is the runner's own,
    and a second runner of the same process adds to it (a counter never goes back)."""
    acct = open_account()
    target = ops.Target(acct.config, acct.store)
    source = ops.Source(target, ops.Metrics(target))
    reg = ops.registry(lambda: source)
    runs = []
    for seed in (3, 4):
        feed = QueueFeed(acct.config.symbols, beat_s=0.05)
        ticks = list(itertools.islice(SimFeed(symbols=acct.config.symbols, seed=seed).ticks(), 2_000))
        for t in ticks:
            feed.put(t)
        target.runner = acct.runner(feed, conflate=True)
        target.runner.run(max_ticks=len(ticks))
        runs.append(Counter(target.runner.conflated))
        text = generate_latest(reg).decode()
        fams = families(text)
        total = sum(runs, Counter())
        assert sum(total.values()) > 1_000  # the burst waited behind its first tick: most of it folded
        for symbol in acct.config.symbols:
            assert value(fams, "seamless_quotes_conflated", symbol=symbol) == total[symbol]
    done = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), done.stdout + done.stderr
