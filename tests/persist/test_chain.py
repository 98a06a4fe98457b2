"""The hash chain: a flipped byte anywhere, a deleted or reordered row, is found by
``seamless verify`` (naming its seq), by the scrubber (the store's health says so, a toast
event is journaled, trading HALTS), and above the newest snapshot already by the open."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from seamless.config import Config
from seamless.errors import CorruptJournal
from seamless.events import CashSet, OrderAccepted, OrderFilled, OrderSubmitting, QuoteReceived, TradingState
from seamless.ops import health
from seamless.persist import chain, history, journal, open_reader
from seamless.store import Store
from seamless.store.scrubber import Scrubber
from seamless.views.alerts import ALERT_TOPICS, describe


def fill(n: int, qty: float) -> list:
    cid = f"c{n}"
    return [
        OrderSubmitting(client_order_id=cid, symbol="AAPL", qty=qty),
        OrderAccepted(client_order_id=cid),
        OrderFilled(trade_id=f"MARK{n:04d}", client_order_id=cid, symbol="AAPL", qty=qty, price=100.0),
    ]


def build(path: Path, *, before: int = 40, after: int = 40) -> tuple[int, dict[str, int]]:
    """A store: fills and quotes, a snapshot, more of both. Returns the snapshot's seq and the
    seq of each fill's marker (its trade id)."""
    marks: dict[str, int] = {}
    s = Store(path, snapshot_every=10**9, snapshot_interval_s=10**9)
    s.commit(CashSet(cash=1e6, reason="t"))
    for i in range(before + after):
        if i == before:
            snap = s.snapshot()
        s.commit(QuoteReceived(symbol="AAPL", last=100.0 + i % 7))
        if i % 10 == 3:
            evs = s.commit_all(fill(i, 23.0))
            marks[f"MARK{i:04d}"] = evs[-1].seq
    s.close(snapshot=False)  # the rows after ``snap`` are above the newest snapshot
    checkpoint(path)
    return snap, marks


def checkpoint(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def flip(path: Path, needle: bytes, old: bytes = b"23", new: bytes = b"93") -> None:
    """Change bytes of a row in the database file itself (integrity_check does not see it)."""
    data = bytearray(path.read_bytes())
    at = data.find(needle)
    assert at >= 0 and data.count(needle) == 1, f"{needle!r} not found once in {path}"
    window = data[at - 200 : at + 200]
    k = window.find(old)
    assert k >= 0, "the row's quantity is near its trade id"
    data[at - 200 + k : at - 200 + k + len(old)] = new
    path.write_bytes(bytes(data))


def verify_cli(path: Path) -> tuple[int, dict]:
    proc = subprocess.run(
        [sys.executable, "-m", "seamless.cli", "verify", "--db", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_an_intact_store_verifies_and_its_rows_chain(tmp_path):
    db = tmp_path / "s.db"
    snap, _ = build(db)
    rc, doc = verify_cli(db)
    assert rc == 0 and doc["ok"] and doc["verified_through_seq"] > snap > 0 and doc["finding"] is None
    conn = open_reader(db)
    try:
        rows = list(journal.read_rows(conn))
    finally:
        conn.close()
    h = 0
    for row in rows:  # each row's high bits: the chain over every row before it
        h = chain.link(chain.own(row[7]), h)
        assert chain.chained(row[7]) == h


@pytest.mark.parametrize("where", ["below", "above"])
def test_a_flipped_byte_is_found_with_its_seq(tmp_path, where):
    db = tmp_path / "s.db"
    snap, marks = build(db)
    name, seq = next((m, s) for m, s in marks.items() if (s <= snap) == (where == "below"))
    flip(db, b'{"trade_id":"' + name.encode())  # the journal row's payload (snapshots hold fills too)
    rc, doc = verify_cli(db)
    assert rc == 1 and doc["finding"]["seq"] == seq and "checksum mismatch" in doc["finding"]["reason"]
    if where == "above":  # the open replays it: refused, naming the seq
        with pytest.raises(CorruptJournal, match=f"seq={seq} "):
            Store(db)
        return
    # below the snapshot the open does not read it: the scrubber finds it
    with Store(db) as store:
        assert store.state.risk.trading_state == TradingState.ACTIVE
        seen = []
        store.bus.subscribe("history.*", seen.append, queued=False)
        found = Scrubber(store, 0).run_pass()
        assert found is not None and found.seq == seq
        assert store.state.risk.trading_state == TradingState.HALTED  # the policy, default on
        assert f"seq {seq}" in store.state.risk.state_reason
        [ev] = seen
        assert ev.topic == "history.corrupt" and ev.topic in ALERT_TOPICS and ev.halt
        kind, text, duration = describe(ev)  # the toast every open tab shows
        assert kind == "error" and f"seq {seq}" in text and "HALTED" in text and duration == 0
        ready = health.readiness(health.Source(health.Target(Config(db=str(db)), store)))
        [line] = [r for r in ready.results if r.check == "history"]
        assert line.status == "failed" and f"seq {seq}" in line.reason
        Scrubber(store, 0).run_pass()  # found again: journaled once
        assert len(seen) == 1
    with Store(db) as again:  # the finding survives a restart (kept with the scrubber's progress)
        assert again.health().history is not None and f"seq {seq}" in again.health().history


def test_the_policy_off_reports_without_halting(tmp_path):
    db = tmp_path / "s.db"
    snap, marks = build(db)
    flip(db, b'{"trade_id":"' + next(m for m, s in marks.items() if s <= snap).encode())
    with Store(db) as store:
        assert Scrubber(store, 0, halt=False).run_pass() is not None
        assert store.state.risk.trading_state == TradingState.ACTIVE
        assert store.health().history is not None


def _rewrite(db: Path, edit) -> None:
    """Edit journal rows as a careless tool would: each row's own checksum made right again
    (so only the chain can tell), the triggers out of the way."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DROP TRIGGER journal_no_update")
    conn.execute("DROP TRIGGER journal_no_delete")
    rows = conn.execute(journal.SELECT + " ORDER BY seq").fetchall()
    rows = edit(rows)
    conn.execute("BEGIN")
    conn.execute("DELETE FROM journal")
    fixed = []
    for seq, row in enumerate(rows, 1):
        own = journal.row_checksum(seq, *row[1:7])
        fixed.append((seq, *row[1:7], chain.pack(chain.chained(row[7]), own)))
    conn.executemany(journal.INSERT, fixed)
    conn.execute("COMMIT")
    conn.close()


@pytest.mark.parametrize("edit", ["delete", "reorder"])
def test_a_deleted_or_reordered_row_breaks_the_chain(tmp_path, edit):
    db = tmp_path / "s.db"
    build(db)
    k = 30
    if edit == "delete":
        _rewrite(db, lambda rows: rows[: k - 1] + rows[k:])
    else:
        _rewrite(db, lambda rows: rows[: k - 1] + [rows[k], rows[k - 1]] + rows[k + 1 :])
    conn = open_reader(db)
    try:
        for row in journal.read_rows(conn):
            journal.verify(row)  # every row passes on its own
        _, finding = history.verify(conn)
    finally:
        conn.close()
    assert finding is not None and finding.seq == k and "hash chain" in finding.reason
    rc, doc = verify_cli(db)
    assert rc == 1 and doc["finding"]["seq"] == k


def test_a_changed_chain_value_at_the_snapshot_stops_the_open(tmp_path):
    db = tmp_path / "s.db"
    snap, _ = build(db)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DROP TRIGGER journal_no_update")
    (c,) = conn.execute("SELECT checksum FROM journal WHERE seq = ?", (snap,)).fetchone()
    conn.execute(
        "UPDATE journal SET checksum = ? WHERE seq = ?", (chain.pack(chain.chained(c) ^ 1, chain.own(c)), snap)
    )
    conn.close()
    with pytest.raises(CorruptJournal, match=f"seq={snap} .*chain value its snapshot recorded"):
        Store(db)


def test_the_scrubber_resumes_from_its_progress_in_the_store(tmp_path):
    db = tmp_path / "s.db"
    build(db, before=400, after=10)
    with Store(db) as store:
        s = Scrubber(store, 0)
        s.CHUNK = 100

        stops = []

        def budget(n: int, real=s._budget) -> None:
            stops.append(n)
            if len(stops) == 1:
                s._stop.set()  # stopped mid-pass (a shutdown)
            real(n)

        s._budget = budget  # type: ignore[method-assign]
        assert s.run_pass() is None and s.passes == 0
        conn = open_reader(db)
        try:
            seq, passes = conn.execute("SELECT seq, passes FROM scrub").fetchone()
        finally:
            conn.close()
        assert 0 < seq < store.seq and passes == 0
    with Store(db) as store:
        again = Scrubber(store, 0)
        assert again._progress.seq == seq  # resumes there, with the chain value there
        assert again.run_pass() is None and again.passes == 1
