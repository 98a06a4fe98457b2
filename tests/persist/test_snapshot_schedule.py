"""Snapshots are kept on a schedule that thins with age: every one of the last hour, the
newest of each 10 minutes for a day, the newest of each UTC day after that, always the last K."""

from __future__ import annotations

import sqlite3

from seamless.persist import open_writer, snapshots

NOW = 1_800_000_000.0


def kept(ages_s: list[float], keep: int = 3) -> list[float]:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE snapshots (id INTEGER PRIMARY KEY, seq INTEGER, created_at REAL)")
    for i, age in enumerate(sorted(ages_s, reverse=True), 1):  # oldest first: seq grows with time
        conn.execute("INSERT INTO snapshots (id, seq, created_at) VALUES (?, ?, ?)", (i, i * 10, NOW - age))
    sql, args = snapshots.prune_sql(keep, now=NOW)
    conn.execute(sql, args)
    return sorted((NOW - t for (t,) in conn.execute("SELECT created_at FROM snapshots")), reverse=True)


def test_the_last_hour_is_kept_whole():
    ages = [60.0 * m for m in range(1, 59)]
    assert kept(ages) == sorted(ages, reverse=True)


def test_one_per_ten_minutes_for_a_day_then_one_a_day():
    every_minute_for_3_days = [60.0 * m for m in range(1, 3 * 24 * 60)]
    left = kept(every_minute_for_3_days)
    recent = [a for a in left if a < 3600]
    day = [a for a in left if 3600 <= a < 86_400]
    older = [a for a in left if a >= 86_400]
    assert len(recent) == 59
    buckets = {int((NOW - a) // 600) for a in day}
    assert len(day) == len(buckets) and 130 <= len(day) <= 140  # ~23 hours of 10-minute buckets
    days = [int((NOW - a) // 86_400) for a in older]
    assert len(days) == len(set(days)) and len(older) <= 3
    assert max(left) >= 2 * 86_400  # the oldest days keep one each


def test_the_last_k_are_kept_whatever_their_age():
    ages = [10 * 86_400.0 + i for i in range(5)]  # five old ones of one day
    assert len(kept(ages, keep=3)) == 3


def test_the_store_table_takes_the_schedule(tmp_path):
    conn = open_writer(tmp_path / "s.db")
    conn.execute("BEGIN")
    for i in range(20):
        conn.execute(snapshots.INSERT, (i, 3, NOW - 86_400 * 5 - i, "{}", "x"))
    sql, args = snapshots.prune_sql(3, now=NOW)
    conn.execute(sql, args)
    conn.execute("COMMIT")
    assert conn.execute("SELECT count(*) FROM snapshots").fetchone()[0] == 3
