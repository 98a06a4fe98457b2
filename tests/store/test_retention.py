"""Retention: compaction moves exactly the non-critical events of the days older than the
window into Parquet archives; replay and analysis read across the boundary as if nothing
moved; a SIGKILL anywhere in a compaction leaves the old or the new layout, never a lost or
doubled event."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seamless.analysis import events_frame
from seamless.events import (
    CashSet,
    MonitorMoved,
    MonitorSet,
    QuoteReceived,
    RunnerStatusChanged,
    SignalEmitted,
    TradingStateChanged,
)
from seamless.persist import archive, history, open_reader
from seamless.replay import replay
from seamless.store import Store
from seamless.store.retention import DAY_S, NONCRITICAL, compact, cutoff

REPO = Path(__file__).resolve().parents[2]
T0 = 1_767_225_600.0 + 3600  # 2026-01-01T01:00Z

KINDS = ("quote", "signal", "moved", "cash", "runner", "trading")


def event(kind: str, i: int):
    if kind == "quote":
        return QuoteReceived(symbol=("AAPL", "MSFT")[i % 2], last=100.0 + i % 13, bid=99.0, ask=101.0 + i % 3)
    if kind == "signal":
        return SignalEmitted(strategy="ma", symbol="AAPL", direction=(-1, 0, 1)[i % 3])
    if kind == "moved":
        return MonitorMoved(monitor_id="m1", trigger=90.0 + i % 5, high_water=100.0 + i % 5)
    if kind == "cash":
        return CashSet(cash=1e6 + i, reason="t")
    if kind == "runner":
        return RunnerStatusChanged(status=("RUNNING", "PAUSED")[i % 2])
    return TradingStateChanged(state=("ACTIVE", "REDUCING")[i % 2], reason="t", by="ops")


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def build(
    path: Path, mix: list[tuple[str, float]], *, snapshot_every: int = 10**9, states: dict | None = None
) -> float:
    """Commit ``mix`` (kind, seconds after the previous event) from T0; returns the last time.
    ``states``: filled with the live state after each seq."""
    clock = Clock(T0)
    with Store(path, clock=clock, snapshot_every=snapshot_every, snapshot_interval_s=10**9) as s:
        s.commit(MonitorSet(monitor_id="m1", symbol="AAPL", kind="trailing_stop", trigger=90.0, trail=5.0))
        if states is not None:
            states[s.seq] = s.values()
        for i, (kind, dt) in enumerate(mix):
            clock.t += dt
            s.commit(event(kind, i))
            if states is not None:
                states[s.seq] = s.values()
    return clock.t


def merged(db: Path) -> list[tuple]:
    conn = open_reader(db)
    try:
        return [r[:7] for r in history.rows(conn)]
    finally:
        conn.close()


def layout(db: Path) -> tuple[set[int], dict[int, int], list[archive.Archive]]:
    """(seqs in the journal, seq -> times found in recorded archive files, the records)."""
    conn = open_reader(db)
    try:
        journal_seqs = {s for (s,) in conn.execute("SELECT seq FROM journal")}
        records = archive.recorded(conn)
    finally:
        conn.close()
    root = archive.directory(db)
    counts: dict[int, int] = {}
    for a in records:
        for row in archive.read(root, a):
            counts[row[0]] = counts.get(row[0], 0) + 1
    return journal_seqs, counts, records


mixes = st.lists(st.tuples(st.sampled_from(KINDS), st.floats(0, 0.7 * DAY_S, allow_nan=False)), min_size=1, max_size=60)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mix=mixes, days=st.sampled_from([0.5, 1, 2, 3]), later=st.floats(0, 3 * DAY_S))
def test_compaction_moves_exactly_the_noncritical_events_older_than_the_window(mix, days, later):
    with tempfile.TemporaryDirectory() as d:
        db = Path(d) / "s.db"
        last = build(db, mix)
        before = merged(db)
        now = last + later
        cut = cutoff(days, now)
        expect = {r[0] for r in before if r[1] in NONCRITICAL and r[4] < cut}
        with Store(db) as s:
            report = compact(s, days, now=now)
            assert compact(s, days, now=now).archived == []  # nothing left to move
        journal_seqs, counts, records = layout(db)
        assert set(counts) == expect and all(n == 1 for n in counts.values())
        assert journal_seqs.isdisjoint(expect) and {r[0] for r in before} - expect <= journal_seqs
        assert sum(a.rows for a in records) == len(expect) == sum(a.rows for a in report.archived)
        for a in records:  # one file per topic and UTC day, named so
            assert a.file == f"{a.topic}/{a.day}.parquet" and (archive.directory(db) / a.file).is_file()
        after = merged(db)
        assert after[: len(before)] == before  # every event once, unchanged, in order
        assert [r[2] for r in after[len(before) :]] == ["HistoryArchived"] * len(records)
        conn = open_reader(db)
        try:
            assert history.verify(conn)[1] is None  # chain and files intact
        finally:
            conn.close()


def test_replay_across_the_boundary_equals_the_live_state(tmp_path):
    db = tmp_path / "s.db"
    rng = random.Random(7)
    mix = [(rng.choice(KINDS[:3] if rng.random() < 0.8 else KINDS[3:]), rng.uniform(0, 600)) for _ in range(2500)]
    states: dict = {}
    last = build(db, mix, snapshot_every=400, states=states)
    pages = lambda: open_reader(db).execute("PRAGMA page_count").fetchone()[0]  # noqa: E731
    size = pages()
    with Store(db) as s:
        report = compact(s, 1, now=last)
    assert report.archived and report.deleted == sum(a.rows for a in report.archived)
    assert report.vacuumed_pages > 0 and pages() < size  # the space given back to the file system
    boundary = max(a.last_seq for a in report.archived)
    first = min(a.first_seq for a in report.archived)
    seqs = [1, first, first + 1, boundary - 1, boundary, boundary + 1, len(mix), *rng.sample(range(2, len(mix)), 12)]
    for seq in seqs:
        for snaps in (True, False):
            rep = replay(db, until_seq=seq, use_snapshots=snaps)
            values, meta, at = states[seq]
            assert (rep.seq, rep.values, rep.meta) == (at, values, meta), (seq, snaps)
    # by time too: the last event at or before a time inside the archived days
    conn = open_reader(db)
    try:
        seq, ts = conn.execute(
            "SELECT seq, ts FROM journal WHERE seq < ? ORDER BY seq DESC LIMIT 1", (boundary,)
        ).fetchone()
    finally:
        conn.close()
    assert replay(db, until_time=ts + 1e-3).seq >= seq
    # the notebooks' frames read the archived events back
    frame = events_frame(db, topics="market.quote")
    assert list(frame["seq"]) == [r[0] for r in merged(db) if r[1] == "market.quote"]
    assert frame["seq"].min() < boundary


# -- SIGKILL anywhere in a compaction ---------------------------------------------------------------

CHILD = r"""
import os, signal, sys
from seamless.store import Store, retention
retention.READ_BATCH, retention.DELETE_BATCH, retention.VACUUM_PAGES = 40, 40, 3
db, days, now, kill_at = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
steps = []
def step(name):
    steps.append(name)
    if len(steps) == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
with Store(db) as s:
    retention.compact(s, days, now=now, on_step=step)
print(" ".join(steps))
"""


def child(db: Path, now: float, kill_at: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(db), "1", repr(now), str(kill_at)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )


def test_sigkill_anywhere_in_a_compaction_loses_and_doubles_nothing(tmp_path):
    template = tmp_path / "template.db"
    rng = random.Random(int(os.environ.get("SEAMLESS_CRASH_SEED", "18")))
    mix = [(rng.choice(KINDS[:3] if rng.random() < 0.85 else KINDS[3:]), rng.uniform(0, 900)) for _ in range(1200)]
    last = build(template, mix)
    original = merged(template)
    moved = {r[0] for r in original if r[1] in NONCRITICAL and r[4] < cutoff(1, last)}
    whole = child(_copy(template, tmp_path / "whole.db"), last, 0)  # not killed: every step, named
    assert whole.returncode == 0, whole.stderr
    names = whole.stdout.split()
    kinds = {"batch", "closed", "written", "recorded", "deleted", "vacuumed"}
    assert set(names) == kinds and len(names) >= 40, names
    first_of_each = {names.index(k) + 1 for k in kinds}  # at least one kill at each kind of step
    points = sorted(first_of_each | set(rng.sample(range(1, len(names) + 1), 20 - len(first_of_each))) | {len(names)})
    assert len(points) >= 20
    for k in points:
        db = _copy(template, tmp_path / f"k{k}.db")
        proc = child(db, last, k)
        assert proc.returncode == -signal.SIGKILL, (k, proc.returncode, proc.stderr)
        journal_seqs, counts, records = layout(db)
        recorded_seqs = set(counts)
        # every event is in the journal or in a recorded archive; in both only while the
        # deletes of a recorded archive are unfinished; no file content counts unrecorded
        assert {r[0] for r in original} <= journal_seqs | recorded_seqs, k
        assert all(n == 1 for n in counts.values()), k
        assert merged(db)[: len(original)] == original, k
        # the next run finishes (or redoes) it: the new layout exactly
        with Store(db) as s:
            compact(s, 1, now=last)
        journal_seqs, counts, records = layout(db)
        assert set(counts) == moved and journal_seqs.isdisjoint(moved), k
        assert {p.relative_to(archive.directory(db)).as_posix() for p in archive.directory(db).glob("*/*")} == {
            a.file for a in records
        }, k
        assert merged(db)[: len(original)] == original, k
        conn = open_reader(db)
        try:
            assert history.verify(conn)[1] is None, k
        finally:
            conn.close()
        shutil.rmtree(archive.directory(db))
        db.unlink()


def _copy(src: Path, dst: Path) -> Path:
    shutil.copy(src, dst)
    return dst


def test_compact_cli_dry_run_then_run(tmp_path):
    db = tmp_path / "s.db"
    mix = [("quote", 3600.0)] * 200 + [("cash", 10.0)]
    build(db, mix)  # ~8 days of hourly quotes from 2026-01-01: all older than 3 days today
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "seamless.cli", *a], capture_output=True, text=True, timeout=120, cwd=REPO
    )
    before = merged(db)
    dry = run("compact", "--db", str(db), "--dry-run")
    assert dry.returncode == 0 and "would move" in dry.stdout and "market.quote/2026-01-01.parquet" in dry.stdout
    assert merged(db) == before and not archive.directory(db).exists()
    done = run("compact", "--db", str(db))
    assert done.returncode == 0 and "moved 22 events to market.quote/2026-01-01.parquet" in done.stdout, done.stdout
    assert merged(db)[: len(before)] == before
    bad = run("compact", "--db", str(db), "--retention-days", "-1")
    assert bad.returncode == 2 and "retention" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    verify = run("verify", "--db", str(db))
    assert verify.returncode == 0 and "intact" in verify.stdout
    # a flipped byte in an archive file is named by verify
    f = archive.directory(db) / "market.quote/2026-01-02.parquet"
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0x01
    f.write_bytes(bytes(data))
    verify = run("verify", "--db", str(db))
    assert verify.returncode == 1 and "market.quote/2026-01-02.parquet" in verify.stdout and "checksum" in verify.stdout


@pytest.mark.parametrize("missing", [True, False])
def test_a_damaged_archive_is_found_by_the_scrubber_and_halts(tmp_path, missing):
    from seamless.store.scrubber import Scrubber

    db = tmp_path / "s.db"
    build(db, [("quote", 3600.0)] * 120 + [("cash", 10.0)])
    with Store(db) as s:
        compact(s, 3)
        f = archive.directory(db) / "market.quote/2026-01-02.parquet"
        if missing:
            f.unlink()
        else:
            f.write_bytes(f.read_bytes()[:-10] + b"0123456789")
        found = Scrubber(s, 0).run_pass()
        assert found is not None and found.file == str(f)
        assert s.state.risk.trading_state == "HALTED" and "2026-01-02.parquet" in s.state.risk.state_reason
        assert s.health().history is not None


def test_only_archived_rows_may_leave_the_journal(tmp_path):
    import sqlite3

    db = tmp_path / "s.db"
    build(db, [("quote", 3600.0)] * 60 + [("cash", 10.0)] * 3)
    with Store(db) as s:
        [a, *_] = compact(s, 1, now=T0 + 3 * DAY_S).archived
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):  # a critical row
            conn.execute("DELETE FROM journal WHERE topic = 'account.cash_set'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):  # a quote not archived
            conn.execute("DELETE FROM journal WHERE seq = (SELECT max(seq) FROM journal WHERE topic = 'market.quote')")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE journal SET payload = payload WHERE seq = 1")
        before = conn.execute("SELECT count(*) FROM journal").fetchone()[0]
    finally:
        conn.close()
    assert a.topic == "market.quote" and before == len(merged(db)) - sum(r.rows for r in layout(db)[2])
