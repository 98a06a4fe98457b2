"""The command line run as real processes: `seamless state`, `replay`, `run`, `bench`; every bad setting or input."""

import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from seamless.brokers import PaperBroker
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
        "replay_mb_per_million_events",
        "bus_us_per_event_1_sub",
        "bus_us_per_event_10_subs",
        "batch100_events_per_s",
        "sqlite_batch100_events_per_s",
        "batch100_ratio",
        "critical_over_sqlite",
        "critical_floor_commits_per_s",
        "critical_floor_ratio",
        "python_floor_events_per_s",
        "noncritical_floor_ratio",
        *(f"stage_{s}_us" for s in ("make", "plan", "apply", "journal", "publish", "commit")),
    ):
        assert isinstance(out[key], float) and out[key] > 0, key
    assert out["batch100_ratio"] == round(out["batch100_events_per_s"] / out["sqlite_batch100_events_per_s"], 3)
    assert out["critical_ratio"] == round(out["critical_commits_per_s"] / out["fsync_per_s"], 3)
    assert out["sqlite_ratio"] == round(out["sqlite_commits_per_s"] / out["fsync_per_s"], 3)
    # Each figure beside its floor, measured in the same run: the ratios are theirs.
    assert out["critical_over_sqlite"] == round(out["critical_commits_per_s"] / out["sqlite_commits_per_s"], 3)
    assert out["critical_floor_ratio"] == round(out["critical_commits_per_s"] / out["critical_floor_commits_per_s"], 3)
    assert out["noncritical_floor_ratio"] == round(
        out["noncritical_events_per_s"] / out["python_floor_events_per_s"], 3
    )
    assert list(tmp_path.iterdir()) == []  # cleaned up after itself


def test_bench_retention_prints_every_figure(seamless_run, tmp_path):
    # The short version (a 10 s run, 20,000-event journals): the figures hold together.
    out = json.loads(
        ok(seamless_run("bench", "retention", "--json", "--scale", "0.005", "--dir", str(tmp_path))).stdout
    )
    for key in (
        "run_events_per_s",
        "journal_bytes_per_million_events",
        "archive_bytes_per_million_events",
        "store_bytes_per_day",
        "store_bytes_per_day_without_retention",
        "compact_s_per_million_events",
        "commit_p99_ms_quiet",
        "commit_p99_ms_during_compaction",
        "replay_until_worst_s",
    ):
        assert isinstance(out[key], (int, float)) and out[key] > 0, key
    assert out["archive_bytes_per_million_events"] < out["journal_bytes_per_million_events"]
    assert out["store_bytes_per_day"] < out["store_bytes_per_day_without_retention"]
    assert out["compact_events"] > 0.9 * 20_000 and out["compact_db_bytes_after"] < out["compact_db_bytes_before"]
    assert out["replay_until_events"] == 20_000
    assert list(tmp_path.iterdir()) == []  # cleaned up after itself


def test_bench_engine_prints_every_figure(seamless_run, tmp_path):
    out = json.loads(ok(seamless_run("bench", "engine", "--json", "--scale", "0.02", "--dir", str(tmp_path))).stdout)
    assert out["ticks"] == 2000 and out["orders"] > 0
    for key in ("ticks_per_s", "tick_to_order_p50_ms", "tick_to_order_p99_ms"):
        assert isinstance(out[key], float) and out[key] > 0, key
    assert out["tick_to_order_p50_ms"] <= out["tick_to_order_p99_ms"]
    assert isinstance(out["quiet_tick_us_p50"], float) and out["quiet_tick_us_p50"] > 0
    # Durable transactions counted over the run: each order sent is at least its intent and
    # its fill in the store and its own at the venue; each refusal one in the store.
    assert out["broker_transactions"] >= out["orders"]
    assert out["store_transactions"] >= 2 * out["orders"] + out["refused"]
    assert out["transactions_per_order"] == round(
        (out["store_transactions"] + out["broker_transactions"]) / out["orders"], 2
    )
    # The ceiling: every durable transaction at the fsync floor of this run, every tick at the
    # quiet tick's median (both from the rounded figures: the same within rounding).
    assert out["fsync_per_s"] > 0 and out["ceiling_ticks_per_s"] > 0
    quiet_s, durable = out["quiet_tick_us_p50"] / 1e6, out["store_transactions"] + out["broker_transactions"]
    ceiling = out["ticks"] / (out["ticks"] * quiet_s + durable / out["fsync_per_s"])
    assert out["ceiling_ticks_per_s"] == pytest.approx(ceiling, rel=0.01)
    assert out["ceiling_ratio"] == round(out["ticks_per_s"] / out["ceiling_ticks_per_s"], 3)
    # The burst: every quote applied (conflation off), or applied or folded and journaled (on).
    n = out["burst_quotes"]
    assert out["burst_applied"] == n and out["burst_folded"] == 0
    assert out["burst_conflated_applied"] + out["burst_conflated_folded"] == n
    assert out["burst_conflated_folded"] == out["burst_conflated_folded_journaled"] > 0
    assert out["burst_s"] > 0 and out["burst_conflated_s"] > 0
    assert list(tmp_path.iterdir()) == []


def test_bench_engine_over_the_loopback_alpaca_reports_beside_paper(seamless_run, tmp_path):
    out = json.loads(
        ok(
            seamless_run("bench", "engine", "--broker", "alpaca", "--json", "--scale", "0.03", "--dir", str(tmp_path))
        ).stdout
    )
    for broker in ("paper", "alpaca"):
        assert out[f"{broker}_orders"] > 0, broker
        p50, p99 = out[f"{broker}_tick_to_ack_p50_ms"], out[f"{broker}_tick_to_ack_p99_ms"]
        assert 0 < p50 <= p99, broker
    assert out["alpaca_over_paper_p50"] > 0 and out["alpaca_over_paper_p99"] > 0
    assert list(tmp_path.iterdir()) == []


# -- settings: SEAMLESS_* then flags, one line per error, nothing written ------------------------


def _one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("seamless: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


RUN = ("run", "--db", "{tmp}/acct.db")
REPLAY = (*RUN, "--feed", "replay", "--replay-file")
TRADE = ("broker", "trade", "--broker-db", "{tmp}/acct.broker.db", "--symbol", "AAPL")
NOT_CSV = "is not a CSV file of bars:"
IN_CASH = "trade refused: insufficient cash: buying costs 200000.00 and the cash is 100000.00, in a cash account"
#: (id, arguments, SEAMLESS_* variables, the error line after "seamless: error: "). ``{tmp}``: the
#: test's directory, which holds a directory ``dir``, the replay files of ``REPLAY_FILES`` and a
#: paper broker (``acct.broker.db``: cash 100,000, AAPL marked at 100), and nothing else.
BAD_INPUTS = [
    ("db-dir-missing", ("run", "--db", "/nonexistent/dir/x.db"), {},
     "--db='/nonexistent/dir/x.db': directory /nonexistent/dir does not exist"),
    ("db-a-directory", ("run", "--db", "{tmp}/dir"), {},
     "--db='{tmp}/dir': is a directory; name the store's file, such as seamless.db"),
    ("loss-negative", (*RUN, "--daily-loss-limit", "-100"), {}, "--daily-loss-limit='-100': must be a number > 0"),
    ("loss-inf", (*RUN, "--daily-loss-limit", "inf"), {}, "--daily-loss-limit='inf': must be a finite number > 0"),
    ("strategy", (*RUN, "--strategy", "nope"), {},
     "--strategies='nope': unknown strategy 'nope'; known: breakout, ma_cross"),
    ("duration", (*RUN, "--duration", "-1"), {}, "--duration='-1': must be a number > 0"),
    ("max-position", (*RUN, "--max-position", "0"), {}, "--max-position='0': must be a number > 0"),
    ("max-ticks", (*RUN, "--max-ticks", "x"), {}, "--max-ticks='x': must be a whole number >= 1"),
    ("notional-setting", (*RUN, "--broker-max-notional", "0"), {}, "--broker-max-notional='0': must be a number > 0"),
    ("mirror-no-to", ("mirror", "--db", "{tmp}/acct.broker.db"), {},
     "mirror: --to is required: the PostgreSQL URL to mirror to (postgresql://HOST/DATABASE)"),
    ("mirror-not-postgres", ("mirror", "--db", "{tmp}/acct.broker.db", "--to", "mysql://u:secret@h/db"), {},
     "--mirror-to: must be a PostgreSQL URL, postgresql://HOST[:PORT]/DATABASE"),
    ("mirror-no-store", ("mirror", "--db", "{tmp}/none.db", "--to", "postgresql://h/db"), {},
     "--db='{tmp}/none.db': no store database there"),
    ("env-source-not-postgres", RUN, {"SEAMLESS_SOURCE": "sqlite:///x.db"},
     "SEAMLESS_SOURCE: must be a PostgreSQL URL, postgresql://HOST[:PORT]/DATABASE"),
    ("bench-sessions-0", ("bench", "capacity", "--sessions", "0"), {},
     "--sessions=0: each must be a whole number >= 1"),
    ("bench-scale-0", ("bench", "store", "--scale", "0"), {},
     "--scale=0.0: must be a number > 0 (1 is the full event counts)"),
    ("bench-scale-negative", ("bench", "store", "--scale", "-1"), {},
     "--scale=-1.0: must be a number > 0 (1 is the full event counts)"),
    ("replay-empty", (*REPLAY, "{tmp}/empty.csv"), {},
     "{tmp}/empty.csv is empty: a replay file needs a header and at least one bar"),
    ("replay-binary", (*REPLAY, "{tmp}/binary.csv"), {},
     f"{{tmp}}/binary.csv {NOT_CSV} 'utf-8' codec can't decode byte 0x80 in position 0: invalid start byte"),
    ("replay-missing", (*REPLAY, "{tmp}/missing.csv"), {}, "--replay-file='{tmp}/missing.csv': no such file"),
    ("replay-unterminated-quote", (*REPLAY, "{tmp}/quote.csv"), {},
     f"{{tmp}}/quote.csv {NOT_CSV} Error tokenizing data. C error: EOF inside string starting at row 2"),
    ("replay-extra-column", (*REPLAY, "{tmp}/extra.csv"), {},
     f"{{tmp}}/extra.csv {NOT_CSV} Length of header or names does not match length of data. "
     "This leads to a loss of data with index_col=False."),
    # the same, as variables (each is checked even where a flag would win)
    ("env-db-dir-missing", ("run",), {"SEAMLESS_DB": "/nonexistent/dir/x.db"},
     "SEAMLESS_DB='/nonexistent/dir/x.db': directory /nonexistent/dir does not exist"),
    ("env-db-a-directory", ("run",), {"SEAMLESS_DB": "{tmp}/dir"},
     "SEAMLESS_DB='{tmp}/dir': is a directory; name the store's file, such as seamless.db"),
    ("env-loss-negative", RUN, {"SEAMLESS_DAILY_LOSS_LIMIT": "-100"},
     "SEAMLESS_DAILY_LOSS_LIMIT='-100': must be a number > 0"),
    ("env-loss-inf", RUN, {"SEAMLESS_DAILY_LOSS_LIMIT": "inf"},
     "SEAMLESS_DAILY_LOSS_LIMIT='inf': must be a finite number > 0"),
    ("env-loss-under-a-good-flag", (*RUN, "--daily-loss-limit", "100"), {"SEAMLESS_DAILY_LOSS_LIMIT": "-100"},
     "SEAMLESS_DAILY_LOSS_LIMIT='-100': must be a number > 0"),
    ("env-strategy", RUN, {"SEAMLESS_STRATEGIES": "nope"},
     "SEAMLESS_STRATEGIES='nope': unknown strategy 'nope'; known: breakout, ma_cross"),
    ("env-duration", RUN, {"SEAMLESS_DURATION": "-1"}, "SEAMLESS_DURATION='-1': must be a number > 0"),
    ("env-max-position", RUN, {"SEAMLESS_MAX_POSITION": "0"}, "SEAMLESS_MAX_POSITION='0': must be a number > 0"),
    ("env-replay-empty", RUN, {"SEAMLESS_FEED": "replay", "SEAMLESS_REPLAY_FILE": "{tmp}/empty.csv"},
     "{tmp}/empty.csv is empty: a replay file needs a header and at least one bar"),
    ("env-replay-missing", RUN, {"SEAMLESS_FEED": "replay", "SEAMLESS_REPLAY_FILE": "{tmp}/missing.csv"},
     "SEAMLESS_REPLAY_FILE='{tmp}/missing.csv': no such file"),
    ("env-margin", (*TRADE, "--qty", "1"), {"SEAMLESS_BROKER_MARGIN": "-1"},
     "SEAMLESS_BROKER_MARGIN='-1': must be a number >= 0"),
    # the paper broker: bad quantities and prices, and its sanity limits
    ("qty-zero", (*TRADE, "--qty", "0"), {}, "--qty=0.0: must not be zero (> 0 buys, < 0 sells)"),
    ("qty-nan", (*TRADE, "--qty", "nan"), {}, "--qty=nan: must be a finite number"),
    ("qty-inf", (*TRADE, "--qty", "inf"), {}, "--qty=inf: must be a finite number"),
    ("qty-absurd", (*TRADE, "--qty", "1e12"), {},
     "trade refused: notional 1e+14 (1e+12 x 100) is above the broker's max order notional 1000000"),
    ("qty-not-a-number", (*TRADE, "--qty", "ten"), {}, "broker trade: argument --qty: invalid float value: 'ten'"),
    ("price-zero", (*TRADE, "--qty", "1", "--price", "0"), {}, "--price=0.0: must be > 0"),
    ("price-negative", (*TRADE, "--qty", "1", "--price", "-5"), {}, "--price=-5.0: must be > 0"),
    ("price-nan", (*TRADE, "--qty", "1", "--price", "nan"), {}, "--price=nan: must be a finite number"),
    ("price-off-the-mark", (*TRADE, "--qty", "1", "--price", "150"), {},
     "trade refused: price 150 is outside the broker's price band: more than 10% from AAPL's last mark 100"),
    ("cash", (*TRADE, "--qty", "2000"), {}, f"{IN_CASH} (margin 0)"),
    ("env-notional", (*TRADE, "--qty", "10"), {"SEAMLESS_BROKER_MAX_NOTIONAL": "500"},
     "trade refused: notional 1000 (10 x 100) is above the broker's max order notional 500"),
    ("env-band", (*TRADE, "--qty", "1", "--price", "102"), {"SEAMLESS_BROKER_PRICE_BAND": "0.01"},
     "trade refused: price 102 is outside the broker's price band: more than 1% from AAPL's last mark 100"),
    ("margin-flag", (*TRADE, "--qty", "2000", "--broker-margin", "50000"), {},
     "trade refused: insufficient cash: buying costs 200000.00 and the cash is 100000.00, with a margin of 50000.00"),
]  # fmt: skip

REPLAY_FILES = {
    "empty.csv": b"",
    "binary.csv": bytes(range(128, 256)) * 16,
    "quote.csv": b'date,open,high,low,close\n2020-01-01,1,2,0.5,1.5\n"2020-01-02,1,2\n',
    "extra.csv": b"date,open,high,low,close\n2020-01-01,1,2,0.5,1.5,9\n",
}


def _tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file and directory under ``root``: its bytes and its modification time."""
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else b"", p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


@pytest.mark.parametrize("args, env, says", [case[1:] for case in BAD_INPUTS], ids=[case[0] for case in BAD_INPUTS])
def test_a_bad_setting_or_input_is_one_line_exit_2_and_changes_no_file(tmp_path, seamless_run, args, env, says):
    (tmp_path / "dir").mkdir()
    for name, content in REPLAY_FILES.items():
        (tmp_path / name).write_bytes(content)
    with PaperBroker(tmp_path / "acct.broker.db") as broker:
        broker.mark("AAPL", 100.0)
    before = _tree(tmp_path)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SEAMLESS_")}
    environ.update({k: v.format(tmp=tmp_path) for k, v in env.items()})
    proc = seamless_run(*(a.format(tmp=tmp_path) for a in args), env=environ, cwd=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", f"seamless: error: {says.format(tmp=tmp_path)}\n")
    assert _tree(tmp_path) == before  # no store, no lock, no broker created; nothing written


def test_the_environment_sets_what_flags_do_not(tmp_path, seamless_run):
    env = {
        **os.environ,
        "SEAMLESS_DB": str(tmp_path / "env.db"),
        "SEAMLESS_MAX_TICKS": "2000",
        "SEAMLESS_SPEED": "0",
        "SEAMLESS_SYMBOLS": "AAPL",
        "SEAMLESS_BROKER_MAX_NOTIONAL": "1",  # the paper broker the runner trades at refuses every order
    }
    proc = seamless_run("run", env=env)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "env.db").is_file() and (tmp_path / "env.broker.db").is_file()
    doc = json.loads(seamless_run("state", "--json", env=env, check=True).stdout)
    assert set(doc["market"]["quotes"]) == {"AAPL"}
    rejected = [o for o in doc["orders"]["by_id"].values() if o["status"] == "rejected"]
    assert rejected and all(o["reason"].endswith("is above the broker's max order notional 1") for o in rejected)
    assert doc["orders"]["fills"] == [] and doc["positions"] == {}
    env["SEAMLESS_DAILY_LOSS_LIMIT"] = "oops"  # a bad variable is refused even by a read-only command
    line = _one_line_error(seamless_run("state", env=env))
    assert "SEAMLESS_DAILY_LOSS_LIMIT='oops'" in line


def test_run_counts_the_impossible_bars_of_a_replay_file_as_bad_ticks(tmp_path, seamless_run):
    bars = tmp_path / "bars.csv"
    bars.write_text(
        "date,symbol,open,high,low,close\n"
        "2024-01-02,AAPL,100,105,99,104\n"
        "2024-01-03,AAPL,103,101,106,104\n"  # high below low
        "2024-01-04,AAPL,107,106,102,104\n"  # open above the high
        "2024-01-05,AAPL,103,106,102,\n"  # no close: one NaN tick
    )
    db = tmp_path / "r.db"
    proc = seamless_run("run", "--db", str(db), "--feed", "replay", "--replay-file", str(bars), "--speed", "0")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.endswith(": 7 ticks, bad ticks rejected: impossible_bar 8, nan 1\n"), proc.stdout
    doc = json.loads(seamless_run("state", "--db", str(db), "--json", check=True).stdout)
    assert doc["market"]["quotes"]["AAPL"]["last"] == 102.0  # the last good tick (the NaN close is not)


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
