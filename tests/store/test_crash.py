"""Crash safety: SIGKILL a real writer process at random moments, over and over, on one DB.

After every kill the journal must hold every acknowledged unit, no partial unit, only
rows whose checksums verify, seqs 1..N without a gap; and a reopened Store must hold
exactly the state a full replay of the journal (no snapshots) gives.

The seed is fixed (override with SEAMLESS_CRASH_SEED) so a failure can be replayed.
"""

from __future__ import annotations

import collections
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from seamless.events import OrderAccepted, OrderFilled, OrderSubmitting, QuoteReceived
from seamless.persist import journal, open_reader, restore
from seamless.store import Store

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
WRITER = HERE / "crash_writer.py"
ITERATIONS = 30
SEED = int(os.environ.get("SEAMLESS_CRASH_SEED", "20240611"))
UNIT_TYPES = ["OrderSubmitting", "OrderAccepted", "OrderFilled"]


def _units_in_journal(db: Path) -> int:
    if not db.exists():
        return 0
    conn = open_reader(db)
    try:
        return conn.execute("SELECT count(*) FROM journal WHERE type = 'OrderFilled'").fetchone()[0]
    finally:
        conn.close()


def _run_and_kill(db: Path, start_unit: int, rnd: random.Random, errlog: Path) -> tuple[list[str], str]:
    """Start the writer, SIGKILL it at a random moment; returns (stdout lines, how it was killed)."""
    with open(errlog, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, str(WRITER), str(db), str(start_unit)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    watchdog = threading.Timer(30.0, proc.kill)  # a hung writer makes readline() see EOF, not hang the test
    watchdog.start()
    lines: list[str] = []
    try:
        ready = proc.stdout.readline()
        lines.append(ready)
        assert ready.startswith("READY "), f"writer did not start: {ready!r}\n{errlog.read_text()}"
        if rnd.random() < 0.3:
            # kill at a random moment, without waiting for anything: mid-commit, mid-fsync,
            # mid-snapshot, or between units
            delay = rnd.uniform(0, 0.06)
            how = f"{delay * 1000:.1f} ms after READY"
            time.sleep(delay)
        else:
            want = rnd.randint(1, 40)
            acks = 0
            while acks < want:
                line = proc.stdout.readline()
                assert line, f"writer died before ACK {acks + 1}/{want}:\n{errlog.read_text()}"
                lines.append(line)
                acks += line.startswith("ACK ")
            jitter = rnd.choice([0.0, 0.0, rnd.uniform(0, 0.004)])
            how = f"after {want} ACKs + {jitter * 1000:.2f} ms"
            if jitter:
                time.sleep(jitter)
        os.kill(proc.pid, signal.SIGKILL)
        lines.extend(proc.stdout.read().splitlines(keepends=True))  # ACKs printed before the kill count too
        proc.wait()
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL, (
        f"writer exited with {proc.returncode}, not by SIGKILL ({how}):\n{errlog.read_text()}"
    )
    return lines, how


def _check_journal(db: Path, acked: dict[int, int], ctx: str) -> tuple[int, int]:
    """Checks (a)-(d) on a read-only connection; returns (last seq, number of fills)."""
    raw = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok", ctx
        count, lo, hi = raw.execute("SELECT count(*), min(seq), max(seq) FROM journal").fetchone()
        seqs = [r[0] for r in raw.execute("SELECT seq FROM journal ORDER BY seq")]
    finally:
        raw.close()
    # (d) seqs contiguous from 1
    assert seqs == list(range(1, count + 1)), f"{ctx}: journal seqs are not 1..{count} (min {lo}, max {hi})"

    conn = open_reader(db)
    try:
        rows = list(journal.read_rows(conn))
    finally:
        conn.close()
    assert [r[0] for r in rows] == seqs, ctx
    # (c) every row's checksum verifies (verify raises CorruptJournal otherwise)
    for row in rows:
        journal.verify(row)
    events = {row[0]: journal.decode_row(row) for row in rows}

    # (a) every acknowledged unit is there, ending at the acknowledged seq
    for unit, seq in acked.items():
        ev = events.get(seq)
        assert isinstance(ev, OrderFilled) and ev.trade_id == f"t{unit}" and ev.client_order_id == f"u{unit}", (
            f"{ctx}: ACKed unit {unit} at seq {seq} is lost or wrong: {ev!r}"
        )
        assert isinstance(events[seq - 1], OrderAccepted) and events[seq - 1].client_order_id == f"u{unit}", ctx
        assert isinstance(events[seq - 2], OrderSubmitting) and events[seq - 2].client_order_id == f"u{unit}", ctx

    # (b) no partial unit: each unit present has its 3 events, in order, at consecutive seqs
    units: dict[str, list[tuple[int, str]]] = collections.defaultdict(list)
    for seq, ev in events.items():
        if isinstance(ev, (OrderSubmitting, OrderAccepted, OrderFilled)):
            units[ev.client_order_id].append((seq, ev.type))
        else:
            assert isinstance(ev, QuoteReceived), f"{ctx}: unexpected event {ev!r}"
    for coid, evs in units.items():
        assert [t for _, t in evs] == UNIT_TYPES, f"{ctx}: partial unit {coid}: {evs}"
        first = evs[0][0]
        assert [s for s, _ in evs] == [first, first + 1, first + 2], f"{ctx}: unit {coid} split: {evs}"
    fills = sum(isinstance(ev, OrderFilled) for ev in events.values())
    assert fills == len(units)
    return count, fills


def _check_recovery(db: Path, last_seq: int, fills: int, ctx: str) -> int:
    """(e) a reopened writer Store holds what a full replay without snapshots gives."""
    store = Store(db)
    try:
        values, meta, seq = store.values()
        restored_from = store.restored_from_snapshot
        assert store.warnings == [], f"{ctx}: {store.warnings}"
        conn = open_reader(db)
        try:
            full = restore(conn, use_snapshots=False)
            with_snap = restore(conn)
        finally:
            conn.close()
        assert full.snapshot_seq == 0 and full.replayed == last_seq, ctx
        assert seq == full.projection.seq == last_seq, ctx
        assert values == full.projection.values, f"{ctx}: recovered state differs from a full replay"
        assert meta == full.projection.meta, f"{ctx}: recovered per-part meta differs from a full replay"
        assert with_snap.projection.values == full.projection.values, ctx
        pos = values["positions"]["by_symbol"].get("AAPL")
        assert (pos.qty if pos else 0) == fills, f"{ctx}: position {pos} but {fills} fills journaled"
        assert len(values["orders"]["trade_ids"]) == fills, ctx
        # the live param objects agree with the projection
        assert store.state.positions.by_symbol == values["positions"]["by_symbol"], ctx
        assert store.state.account.cash == values["account"]["cash"], ctx
    finally:
        store.close()
    return restored_from


def test_sigkill_never_loses_an_acknowledged_unit(tmp_path):
    rnd = random.Random(SEED)
    db = tmp_path / "crash.db"
    acked: dict[int, int] = {}
    restored_from_snapshot = []
    kills_mid_run = 0
    for it in range(ITERATIONS):
        start_unit = _units_in_journal(db)
        lines, how = _run_and_kill(db, start_unit, rnd, tmp_path / f"writer{it}.err")
        ctx = f"seed {SEED}, iteration {it}, killed {how}"

        ready = lines[0].split()
        assert int(ready[1]) == start_unit, f"{ctx}: writer continued at unit {ready[1]}, journal has {start_unit}"
        complete = [ln.split() for ln in lines[1:] if ln.endswith("\n")]
        acks = [(int(u), int(s)) for tag, u, s in complete if tag == "ACK"]
        assert [u for u, _ in acks] == list(range(start_unit, start_unit + len(acks))), ctx
        for unit, seq in acks:
            assert unit not in acked, f"{ctx}: unit {unit} acknowledged twice"
            acked[unit] = seq
        kills_mid_run += "READY" in how

        last_seq, fills = _check_journal(db, acked, ctx)
        assert fills >= len(acked), ctx
        restored_from_snapshot.append(_check_recovery(db, last_seq, fills, ctx))

    print(f"\n{len(acked)} units acknowledged; restored from snapshot: {restored_from_snapshot}")
    assert len(acked) >= ITERATIONS, f"only {len(acked)} units acknowledged in {ITERATIONS} runs"
    assert kills_mid_run > 0
    # snapshots were written by the killed writers (and by the closes) and recovery used them
    assert any(s > 0 for s in restored_from_snapshot)
