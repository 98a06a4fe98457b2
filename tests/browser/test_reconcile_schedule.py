"""Issue 5 under `panel serve`: the reconciliation schedule is one Panel task per server
process. Exactly one scheduled run per interval, with 0, 1 and 5 browser sessions open, and
on after every session has closed."""

from __future__ import annotations

import time

from seamless.analysis import events_frame

INTERVAL = 3.0
RUNS = 3  # observed per phase


def scheduled_runs(db) -> list[float]:
    """Wall-clock times of the scheduled runs journaled so far."""
    df = events_frame(db, topics=["reconcile.started"])
    return [t.timestamp() for t, by in zip(df["ts"], df["by"]) if by == "schedule"]


def runs_after(db, start: float, count: int, timeout_s: float = 10 * RUNS * INTERVAL) -> list[float]:
    """The first ``count`` scheduled runs after ``start`` (waits for them)."""
    deadline = time.monotonic() + timeout_s
    while True:
        runs = [t for t in scheduled_runs(db) if t > start]
        if len(runs) >= count:
            return runs[:count]
        assert time.monotonic() < deadline, f"{len(runs)} scheduled runs in {timeout_s} s, expected {count}"
        time.sleep(0.1)  # another process's journal: there is no event to await


def assert_one_per_interval(runs: list[float], sessions: int) -> None:
    gaps = [round(b - a, 2) for a, b in zip(runs, runs[1:])]
    # A run per session would put several in one interval (gaps near 0); a stopped schedule
    # none. The margins absorb a loaded machine's jitter (seen: +-1 s with browsers running).
    assert all(0.5 * INTERVAL <= g <= 2.0 * INTERVAL for g in gaps), (sessions, gaps)


def test_one_scheduled_reconciliation_per_interval_whatever_the_sessions(dashboard, tabs):
    served = dashboard(SEAMLESS_SPEED="0.1", SEAMLESS_RECONCILE_INTERVAL=str(INTERVAL))
    # No session open: the server warmed the app itself, which started the schedule.
    assert_one_per_interval(runs_after(served.db, time.time(), RUNS), 0)
    pages = [tabs(served.url)]
    assert_one_per_interval(runs_after(served.db, time.time(), RUNS), 1)
    pages += [tabs(served.url) for _ in range(4)]
    assert_one_per_interval(runs_after(served.db, time.time(), RUNS), 5)
    for page in pages:
        page.context.close()
    assert_one_per_interval(runs_after(served.db, time.time(), RUNS), 0)  # goes on with every tab closed
