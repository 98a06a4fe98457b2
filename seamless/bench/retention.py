"""``seamless bench retention``: what history costs on disk, and what moving it costs.

- **A real run's mix**: ``seamless run`` on its defaults (what ``make run`` runs) for
  ``run_s`` seconds; its events per second and topics give the journal's bytes per event,
  and the same rows archived (compacted as if the days were old) the archive's, and what the
  journal keeps per critical event (the database after the compaction, snapshots apart: the
  rows and their indexes). With the retention window full, a day adds its critical events to
  the journal, its non-critical ones to the archives and one snapshot (the schedule keeps one a
  day past the first day; ``snapshots_bytes_kept`` is the constant rest):
  ``store_bytes_per_day`` (target <= 500 MB).
- **Compaction speed and the writer meanwhile**: a journal of ``n`` events of the store
  bench's mix (99% quotes), compacted while a committer makes durable commits at 200/s;
  the commits' p99 latency without and during the compaction (the floor is the former).
- **Replay anywhere in a big store**: ``replay --until`` at random seqs of a store of ``n``
  events with snapshots on the store's schedule (every 10,000 events); the slowest.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ..events import REGISTRY, CashSet
from ..persist import journal, open_reader, open_writer, snapshots
from ..replay import replay
from ..store import Store
from ..store.retention import compact
from . import print_figures
from .store import _chain_at, _journal_rows

DAY_S = 86_400
CRITICAL = {cls.topic for cls in REGISTRY.values() if cls.critical}


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else path.stat().st_size


def _db_bytes(path: Path) -> int:
    """The database file alone, its WAL copied in first."""
    conn = open_writer(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path.stat().st_size


def real_mix(work: Path, run_s: float) -> dict[str, Any]:
    db = work / "run.db"
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "seamless.cli",
            "run",
            "--db",
            str(db),
            "--duration",
            str(run_s),
            "--scrub-kb-per-s",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=run_s + 120,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"seamless run failed: {proc.stderr.strip()}")
    wall = time.perf_counter() - t0
    conn = open_reader(db)
    try:
        n, first, last = conn.execute("SELECT count(*), min(ts), max(ts) FROM journal").fetchone()
        crit = sum(c for t, c in conn.execute("SELECT topic, count(*) FROM journal GROUP BY topic") if t in CRITICAL)
    finally:
        conn.close()
    journal_bytes = _db_bytes(db)
    with Store(db, snapshot_every=10**9) as store:  # everything "old": all of it moves
        report = compact(store, 1, now=last + 3 * DAY_S)
    archived = sum(a.rows for a in report.archived)
    archive_bytes = _size(Path(str(db) + ".archive"))
    conn = open_writer(db)  # what stays per critical event: its row and indexes (snapshots
    try:  # apart: their number is the schedule's, not the events')
        snap_bytes = conn.execute("SELECT coalesce(avg(length(payload)), 0) FROM snapshots").fetchone()[0]
        conn.execute("DELETE FROM snapshots")
        conn.executescript("PRAGMA incremental_vacuum;")  # execute() would free one page
    finally:
        conn.close()
    kept_bytes = _db_bytes(db)
    per_s = n / max(last - first, 1e-9)
    per_day = per_s * DAY_S
    journal_per_event = journal_bytes / n
    archive_per_event = archive_bytes / max(archived, 1)
    kept_per_critical = kept_bytes / max(crit, 1)
    # Snapshots kept by the schedule: every one of the last hour (one per 10,000 events or 300 s),
    # one per 10 minutes for the day before, one a day after: the day's growth is one a day.
    snaps_window = min(per_s * 3600 / 10_000, 12) + 144
    crit_share = crit / n
    return {
        "run_s": round(wall, 1),
        "run_events": n,
        "run_events_per_s": round(per_s, 1),
        "run_critical_share": round(crit_share, 4),
        "journal_bytes_per_million_events": round(journal_per_event * 1e6),
        "journal_bytes_per_million_critical_events_kept": round(kept_per_critical * 1e6),
        "archive_bytes_per_million_events": round(archive_per_event * 1e6),
        "store_bytes_per_day_without_retention": round(per_day * journal_per_event),
        "snapshot_bytes": round(snap_bytes),
        "snapshots_bytes_kept": round(snaps_window * snap_bytes),
        "store_bytes_per_day": round(
            per_day * (crit_share * kept_per_critical + (1 - crit_share) * archive_per_event) + snap_bytes
        ),
    }


def _build(path: Path, n: int, snapshot_every: int | None = None) -> None:
    conn = open_writer(path)
    proj = None
    for rows, proj in _journal_rows(n, batch=snapshot_every or 50_000):
        extra = [snapshots.encode(proj).insert(_chain_at[rows[-1][0]])] if snapshot_every else []
        journal.write(conn, rows, extra)
    if proj is not None and not snapshot_every:
        journal.write(conn, [], [snapshots.encode(proj).insert(_chain_at[n])])
    conn.close()


def compaction(work: Path, n: int, rate: float = 200.0, quiet_s: float = 3.0) -> dict[str, Any]:
    db = work / "compact.db"
    _build(db, n)  # the bench mix's times are in 2023: all of it is older than the window
    lat: dict[str, list[float]] = {"quiet": [], "compacting": []}
    phase = ["quiet"]
    stop = threading.Event()
    with Store(db, snapshot_every=10**9, snapshot_interval_s=10**9) as store:

        def committer() -> None:
            i = 0
            while not stop.is_set():
                t0 = time.perf_counter()
                store.commit(CashSet(cash=1e6 + i, reason="bench"))
                lat[phase[0]].append(time.perf_counter() - t0)
                i += 1
                stop.wait(max(0.0, 1 / rate - (time.perf_counter() - t0)))

        thread = threading.Thread(target=committer, daemon=True)
        thread.start()
        time.sleep(quiet_s)
        phase[0] = "compacting"
        size = _db_bytes_open(db)
        t0 = time.perf_counter()
        report = compact(store, 3)
        elapsed = time.perf_counter() - t0
        stop.set()
        thread.join()
    moved = sum(a.rows for a in report.archived)

    def p99(xs: list[float]) -> float:
        xs = sorted(xs)
        return round(xs[int(len(xs) * 0.99)] * 1e3, 3) if xs else float("nan")

    return {
        "compact_events": moved,
        "compact_s_per_million_events": round(elapsed / max(moved, 1) * 1e6, 2),
        "compact_db_bytes_before": size,
        "compact_db_bytes_after": _db_bytes(db),
        "compact_pages_given_back": report.vacuumed_pages,
        "commit_p99_ms_quiet": p99(lat["quiet"]),
        "commit_p99_ms_during_compaction": p99(lat["compacting"]),
        "commits_during_compaction": len(lat["compacting"]),
    }


def _db_bytes_open(path: Path) -> int:
    return path.stat().st_size + (Path(str(path) + "-wal").stat().st_size if Path(str(path) + "-wal").exists() else 0)


def replay_anywhere(work: Path, n: int, points: int = 5, seed: int = 18) -> dict[str, Any]:
    db = work / "big.db"
    _build(db, n, snapshot_every=10_000)
    rng = random.Random(seed)
    worst, total = 0.0, 0.0
    for seq in [n, *(rng.randint(1, n) for _ in range(points - 1))]:
        t0 = time.perf_counter()
        rep = replay(db, until_seq=seq)
        took = time.perf_counter() - t0
        assert rep.seq == seq
        worst, total = max(worst, took), total + took
    return {
        "replay_until_events": n,
        "replay_until_worst_s": round(worst, 3),
        "replay_until_mean_s": round(total / points, 3),
    }


def run(scale: float = 1.0, directory: str | None = None, run_s: float = 60.0) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="seamless-bench-", dir=directory))
    try:
        n = lambda full: max(20_000, int(full * scale))  # noqa: E731
        out = real_mix(work, max(10.0, run_s * min(scale, 1.0)))
        out.update(compaction(work, n(1_000_000)))
        out.update(replay_anywhere(work, n(4_000_000)))
        out["scale"] = scale
        out["disk"] = str(work.parent)
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(as_json: bool = False, scale: float = 1.0, directory: str | None = None) -> int:
    return print_figures(run(scale, directory), as_json)
