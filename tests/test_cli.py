"""The `seamless state`, `seamless replay` and `seamless bench store` commands, run as real processes."""

import json
import subprocess
from datetime import UTC, datetime

from seamless.events import (
    CashSet,
    DayStarted,
    OrderAccepted,
    OrderFilled,
    OrderSubmitting,
    QuoteReceived,
    RunnerStatusChanged,
    TradingStateChanged,
)
from seamless.store import Store


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, proc.stderr
    return proc


def trade(store: Store) -> None:
    store.commit(CashSet(cash=10_000.0, reason="opening"))
    store.commit(DayStarted(day="2026-11-25"))
    store.commit(RunnerStatusChanged(status="RUNNING"))
    store.commit(QuoteReceived(symbol="AAPL", last=100.0, exchange_ts=1.0))
    store.commit(OrderSubmitting(client_order_id="c1", symbol="AAPL", qty=5))
    store.commit(OrderAccepted(client_order_id="c1"))
    store.commit(OrderFilled(trade_id="t1", client_order_id="c1", symbol="AAPL", qty=5, price=101.0))


def test_state_json_reads_a_live_store_without_blocking_it(tmp_path, seamless_run):
    db = tmp_path / "live.db"
    store = Store(db)
    try:
        trade(store)  # critical events are durable when commit returns: visible to another process
        doc = json.loads(ok(seamless_run("state", "--db", str(db), "--json")).stdout)
        assert doc["seq"] == store.seq == 7
        assert doc["positions"]["AAPL"]["qty"] == 5
        assert doc["positions"]["AAPL"]["avg_price"] == 101.0
        assert doc["runner"]["status"] == "RUNNING"
        assert doc["risk"]["trading_state"] == "ACTIVE"
        assert doc["account"]["cash"] == 10_000.0 - 505.0
        for part in ("account", "runner", "market", "orders"):
            assert doc[part]["updated_at"] is not None and doc[part]["age_s"] >= 0
        assert set(doc["age_s"]) >= {"positions", "account", "risk", "runner", "market", "orders"}
        assert doc["risk"]["updated_at"] is None and doc["risk"]["age_s"] is None  # never changed
        # the writer carries on while (and after) the reader looked
        store.commit(TradingStateChanged(state="HALTED", reason="test", by="tester"))
        doc = json.loads(ok(seamless_run("state", "--db", str(db), "--json")).stdout)
        assert doc["risk"]["trading_state"] == "HALTED" and doc["seq"] == 8
    finally:
        store.close()


def test_replay_until_seq_and_time(tmp_path, seamless_run):
    db = tmp_path / "r.db"
    ticks = iter(range(1_800_000_000, 1_800_000_100))  # one whole second per event
    with Store(db, clock=lambda: float(next(ticks))) as store:
        trade(store)
        cut = store.read("orders").updated_at
        store.commit(OrderSubmitting(client_order_id="c2", symbol="AAPL", qty=-5))
        store.commit(OrderFilled(trade_id="t2", client_order_id="c2", symbol="AAPL", qty=-5, price=103.0))
    doc = json.loads(ok(seamless_run("replay", "--db", str(db), "--until", "4", "--json")).stdout)
    assert doc["seq"] == 4 and doc["positions"] == {} and doc["market"]["quotes"]["AAPL"]["last"] == 100.0
    iso = datetime.fromtimestamp(cut, UTC).isoformat()
    doc = json.loads(ok(seamless_run("replay", "--db", str(db), "--until", iso, "--json")).stdout)
    assert doc["seq"] == 7 and doc["positions"]["AAPL"]["qty"] == 5
    doc = json.loads(ok(seamless_run("replay", "--db", str(db), "--no-snapshots", "--json")).stdout)
    assert doc["seq"] == 9 and doc["positions"]["AAPL"]["qty"] == 0
    assert doc["positions"]["AAPL"]["realized_pnl"] == 10.0
    text = ok(seamless_run("state", "--db", str(db))).stdout
    assert "seq 9" in text and "AAPL" in text


def test_cli_errors_are_clear(tmp_path, seamless_run):
    proc = seamless_run("state", "--db", str(tmp_path / "missing.db"), "--json")
    assert proc.returncode == 2 and "no store at" in proc.stderr and "Traceback" not in proc.stderr
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    proc = seamless_run("state", "--db", str(junk))
    assert proc.returncode == 2 and "not a Seamless store" in proc.stderr
    with Store(tmp_path / "ok.db") as store:
        trade(store)
    proc = seamless_run("replay", "--db", str(tmp_path / "ok.db"), "--until", "yesterday")
    assert proc.returncode == 2 and "--until" in proc.stderr


def test_bench_store_prints_every_figure(seamless_run, tmp_path):
    # Figures only (no timing asserts): the benchmark runs end to end and reports each key.
    out = json.loads(ok(seamless_run("bench", "store", "--json", "--scale", "0.002", "--dir", str(tmp_path))).stdout)
    for key in (
        "fsync_per_s",
        "critical_commits_per_s",
        "critical_ratio",
        "sqlite_commits_per_s",
        "sqlite_ratio",
        "noncritical_events_per_s",
        "commit_to_subscriber_p50_ms",
        "commit_to_subscriber_p99_ms",
        "restore_100k_tail_s",
        "replay_1m_s",
        "bus_us_per_event_1_sub",
        "bus_us_per_event_10_subs",
    ):
        assert isinstance(out[key], float) and out[key] > 0, key
    assert out["critical_ratio"] == round(out["critical_commits_per_s"] / out["fsync_per_s"], 3)
    assert out["sqlite_ratio"] == round(out["sqlite_commits_per_s"] / out["fsync_per_s"], 3)
    assert list(tmp_path.iterdir()) == []  # cleaned up after itself


def test_bench_engine_prints_every_figure(seamless_run, tmp_path):
    out = json.loads(ok(seamless_run("bench", "engine", "--json", "--scale", "0.02", "--dir", str(tmp_path))).stdout)
    assert out["ticks"] == 2000 and out["orders"] > 0
    for key in ("ticks_per_s", "tick_to_order_p50_ms", "tick_to_order_p99_ms"):
        assert isinstance(out[key], float) and out[key] > 0, key
    assert out["tick_to_order_p50_ms"] <= out["tick_to_order_p99_ms"]
    assert list(tmp_path.iterdir()) == []


# -- settings: SEAMLESS_* then flags, one line per error, nothing written ------------------------


def _one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("seamless: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_bad_settings_are_one_line_and_write_nothing(tmp_path, seamless_run):
    db = tmp_path / "new.db"
    for args, says in [
        (["--daily-loss-limit", "inf"], "--daily-loss-limit='inf': must be a finite number > 0"),
        (["--daily-loss-limit", "-100"], "--daily-loss-limit='-100': must be a number > 0"),
        (["--strategy", "nope"], "unknown strategy 'nope'"),
        (["--duration", "-1"], "--duration='-1'"),
        (["--max-position", "0"], "--max-position='0'"),
        (["--max-ticks", "x"], "--max-ticks='x': must be a whole number"),
    ]:
        line = _one_line_error(seamless_run("run", "--db", str(db), *args))
        assert says in line, line
    assert list(tmp_path.iterdir()) == []  # no store, no broker, no lock file
    line = _one_line_error(seamless_run("run", "--db", str(tmp_path / "no" / "x.db")))
    assert "directory" in line and "does not exist" in line
    line = _one_line_error(seamless_run("bench", "store", "--scale", "0"))
    assert "--scale" in line


def test_the_environment_sets_what_flags_do_not(tmp_path, seamless_run):
    import os

    env = {
        **os.environ,
        "SEAMLESS_DB": str(tmp_path / "env.db"),
        "SEAMLESS_MAX_TICKS": "50",
        "SEAMLESS_SPEED": "0",
        "SEAMLESS_SYMBOLS": "AAPL",
    }
    proc = seamless_run("run", env=env)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "env.db").is_file() and (tmp_path / "env.broker.db").is_file()
    doc = json.loads(seamless_run("state", "--json", env=env, check=True).stdout)
    assert set(doc["market"]["quotes"]) == {"AAPL"}
    env["SEAMLESS_DAILY_LOSS_LIMIT"] = "oops"  # a bad variable is refused even by a read-only command
    line = _one_line_error(seamless_run("state", env=env))
    assert "SEAMLESS_DAILY_LOSS_LIMIT='oops'" in line


def test_a_missing_store_and_debug(tmp_path, seamless_run):
    line = _one_line_error(seamless_run("state", "--db", str(tmp_path / "none.db")))
    assert f"no store at {tmp_path / 'none.db'}" in line
    proc = seamless_run("--debug", "state", "--db", str(tmp_path / "none.db"))
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_a_closed_pipe_is_not_an_error(tmp_path, seamless_cmd):
    with Store(tmp_path / "p.db") as store:
        trade(store)
    # The reader is gone before anything is written (`seamless state --json | head` that stopped reading).
    proc = subprocess.Popen(
        [*seamless_cmd, "state", "--db", str(tmp_path / "p.db"), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 0 and err == "", err
