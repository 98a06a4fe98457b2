"""Crash safety against the loopback Alpaca: `seamless run --broker alpaca --feed alpaca`
killed with SIGKILL >= 20 times (seeded moments: while starting, while recovering, most while
trading), restarted each time on the same store; at the end, after a clean run that
reconciles, the store and the venue agree: every order at the venue came from a journaled
intent, each client order id once, every fill (FILL activity) journaled exactly once,
positions and cash equal.

The venue is a :class:`FakeAlpaca` in this process (its own thread, its own SQLite file):
it lives on across the runner's deaths, as Alpaca does. Its prices move every 20 ms with a
large sigma so the moving-average strategy trades at once in every round.
"""

from __future__ import annotations

import collections
import math
import os
import random
import signal
import subprocess
import time

import pytest
from engine.test_runner_crash import _await, _journal, _max_seq

from seamless.fakes.alpaca import FakeAlpaca
from seamless.persist import open_reader
from seamless.replay import replay

SEED = int(os.environ.get("SEAMLESS_RUNNER_CRASH_SEED", "20261206"))
KILLS = 20
TOL = 1e-6


@pytest.fixture
def venue(tmp_path):
    fake = FakeAlpaca(tmp_path / "alpaca.db", step_s=0.02, volatility=0.003, cash=1_000_000.0).start()
    yield fake
    fake.stop()


def _run_args(url: str, db) -> list[str]:
    return ["run", "--broker", "alpaca", "--feed", "alpaca", "--alpaca-url", url, "--db", str(db),
            "--daily-loss-limit", "1e12", "--max-position", "100000"]  # fmt: skip


def test_sigkill_while_trading_at_alpaca_then_store_equals_the_venue(venue, tmp_path, seamless_cmd, seamless_run):
    rnd = random.Random(SEED)
    env = {**os.environ, "APCA_API_KEY_ID": venue.key_id, "APCA_API_SECRET_KEY": venue.secret_key}
    db = tmp_path / "acct.db"
    modes = ["trading"] * KILLS
    for i in rnd.sample(range(1, KILLS), 6):
        modes[i] = "recovering"
    phases: collections.Counter[str] = collections.Counter()
    for rnd_no, mode in enumerate(modes):
        base = 0
        if db.exists():
            conn = open_reader(db)
            try:
                base = _max_seq(conn)
            finally:
                conn.close()
        log = tmp_path / f"run{rnd_no}.log"
        with open(log, "w") as out:
            proc = subprocess.Popen([*seamless_cmd, *_run_args(venue.url, db)], stdout=out, stderr=subprocess.STDOUT,
                                    env=env)  # fmt: skip
        try:
            if mode == "recovering":
                _await(proc, db, "runner.status", base, log, busy=True)
                time.sleep(rnd.uniform(0.0, 0.005))
            else:
                _await(proc, db, "order.submitting", base, log)
                time.sleep(rnd.uniform(0.0, 0.04))
            os.kill(proc.pid, signal.SIGKILL)
            assert proc.wait(timeout=10) == -signal.SIGKILL, log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        statuses = _journal(db, "runner.status", base)
        phases[statuses[-1][1]["status"] if statuses else "startup"] += 1

    final = seamless_run(*_run_args(venue.url, db), "--duration", "3", env=env, timeout=120)
    assert final.returncode == 0, final.stdout + final.stderr
    state = replay(db).values
    assert state["runner"]["status"] == "STOPPED"

    rows = venue.call(
        lambda: venue.venue.conn.execute("SELECT client_order_id, symbol, qty, side FROM orders").fetchall()
    )
    intents = collections.Counter(p["client_order_id"] for _, p in _journal(db, "order.submitting"))
    assert not [c for c, n in intents.items() if n > 1], "an intent journaled twice"
    intent = {p["client_order_id"]: p for _, p in _journal(db, "order.submitting")}
    unjournaled = [r["client_order_id"] for r in rows if r["client_order_id"] not in intent]
    assert not unjournaled, f"orders at the venue the store never journaled first: {unjournaled[:5]}"
    differ = [
        r["client_order_id"]
        for r in rows
        if (intent[r["client_order_id"]]["symbol"], abs(intent[r["client_order_id"]]["qty"])) != (r["symbol"], r["qty"])
    ]
    assert not differ, f"venue orders that differ from their intent: {differ[:5]}"

    venue_fills = venue.call(lambda: [r[0] for r in venue.venue.conn.execute("SELECT id FROM fills ORDER BY id")])
    journaled = collections.Counter(p["trade_id"] for _, p in _journal(db, "order.filled"))
    assert sorted(journaled) == venue_fills, "the store's fills are not the venue's"
    assert max(journaled.values()) == 1, "a fill journaled twice"
    assert state["orders"]["fill_cursor"] == len(venue_fills)  # every cursor up to the last: none missing

    venue_pos = {p["symbol"]: float(p["qty"]) for p in venue.call(venue.venue.positions)}
    store_pos = {s: p.qty for s, p in state["positions"]["by_symbol"].items() if abs(p.qty) > TOL}
    assert store_pos == pytest.approx(venue_pos, abs=TOL)
    venue_cash = float(venue.call(venue.venue.account)["cash"])
    assert math.isclose(state["account"]["cash"], venue_cash, abs_tol=1e-3)
    # Guards against a test that passes on nothing: the kills landed while trading, orders went out.
    assert len(rows) >= KILLS // 2 and phases["RUNNING"] >= 10, (len(rows), phases)
    print(f"\n{KILLS} kills at {dict(phases)}; {len(rows)} orders, {len(venue_fills)} fills at the venue")
