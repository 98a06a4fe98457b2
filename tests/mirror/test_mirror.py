"""The journal mirrored to a real PostgreSQL: exactly once, in order, across kills of either side;
a replica following it; commands from a viewer applied on the runner's host."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import time

import psycopg
import pytest

from seamless.events import QuoteReceived, RunnerStatusChanged, SignalEmitted
from seamless.mirror import Commands, Mirror, PgSource
from seamless.persist import recovery, schema, snapshots
from seamless.store import Store

from .conftest import max_seq, poll, rows_of, sqlite_rows


def _rows_in(db) -> int:
    try:
        return len(sqlite_rows(db))
    except sqlite3.OperationalError:  # the runner is still laying out its tables
        return 0


def _alive_max_seq(url: str) -> int:
    try:
        return max_seq(url)
    except psycopg.Error:  # down, or the mirror has not made its tables yet
        return -1


def test_every_row_exactly_once_in_order_across_kill_9s_of_the_mirror_and_of_postgres(
    own_postgres, seamless_cmd, tmp_path
):
    url = own_postgres.database("acct")
    db = tmp_path / "acct.db"
    env = {**os.environ, "SEAMLESS_RECONCILE": "0"}
    writer = subprocess.Popen([*seamless_cmd, "run", "--db", str(db), "--duration", "600"], env=env)

    def mirror() -> subprocess.Popen:
        return subprocess.Popen(
            [*seamless_cmd, "mirror", "--db", str(db), "--to", url], env=env, stderr=subprocess.PIPE, text=True
        )

    poll("the runner writing", lambda: db.exists() and _rows_in(db) > 100, 60)
    copier = mirror()
    rnd, kills = random.Random(21), {"mirror": 0, "postgres": 0}
    try:
        for _ in range(10):  # 6 kills of the mirror, 4 of PostgreSQL (seeded)
            before = max(0, _alive_max_seq(url))
            poll("the mirror copying", lambda b=before: _alive_max_seq(url) > b, 60)
            time.sleep(rnd.uniform(0.0, 0.3))  # a random moment: inside a batch or between two
            if rnd.random() < 0.5:
                copier.send_signal(signal.SIGKILL)
                copier.wait(10)
                kills["mirror"] += 1
                copier = mirror()
            else:
                own_postgres.kill()
                kills["postgres"] += 1
                own_postgres.start()
        writer.send_signal(signal.SIGTERM)  # it closes the store: the last rows and a snapshot
        assert writer.wait(60) == 0
        last = sqlite_rows(db)[-1][0]
        poll("the mirror caught up", lambda: _alive_max_seq(url) == last, 60)
    finally:
        for p in (writer, copier):
            if p.poll() is None:
                p.kill()
                p.wait(10)

    print(f"\nkills: {kills}, rows: {last}")
    assert kills["mirror"] + kills["postgres"] >= 10 and min(kills.values()) >= 3
    assert rows_of(url) == sqlite_rows(db)  # row by row, every column: nothing lost, nothing twice

    # A replica restored from the mirror (its newest snapshot + the rows after it) is the store.
    source = PgSource(url)
    try:
        assert source.seq == last and source.snapshot_seq > 0
        conn = schema.open_reader(db)
        try:
            local = recovery.restore(conn).projection
        finally:
            conn.close()
        mirrored, restored = snapshots.encode(source._proj), snapshots.encode(local)
        assert (mirrored.seq, mirrored.parts_json) == (restored.seq, restored.parts_json)
    finally:
        source.close()


def test_a_replica_follows_the_mirror_event_by_event_and_equals_the_store_at_its_seq(postgres, tmp_path):
    url = postgres.database("follow")
    store = Store(tmp_path / "acct.db")
    mirror = Mirror(store.path, url).start()
    source: PgSource | None = None
    try:
        store.commit(QuoteReceived(symbol="AAPL", last=100.0, exchange_ts=1.0))
        poll("the first row mirrored", lambda: mirror.seq == store.seq)
        source = PgSource(url).start()
        seen: list[int] = []
        source.bus.subscribe("*", lambda ev: seen.append(ev.seq), queued=False)
        for i in range(500):
            store.commit(QuoteReceived(symbol="AAPL", last=100.0 + i % 9, exchange_ts=2.0 + i))
            if i % 50 == 0:
                store.commit(SignalEmitted(strategy="s", symbol="AAPL", direction=1, exchange_ts=2.0 + i))
        store.commit(RunnerStatusChanged(status="RUNNING", by="test"))
        poll("the replica at the store's seq", lambda: source is not None and source.seq == store.seq)
        assert seen == list(range(2, store.seq + 1))  # each event once, in order, on the replica's bus
        assert source.state.market.quotes["AAPL"].last == store.state.market.quotes["AAPL"].last
        assert source.state.runner.status == "RUNNING"
        assert [e.seq for e in source.tail(3, topics=["signal.*"])] == [e.seq for e in store.tail(3, ["signal.*"])]
        assert [e.seq for e in source.events_since(490, limit=5)] == list(range(491, 496))
        print(f"\nmirror lag {mirror.lag.percentiles_ms()}, replica {source.stats()['commit']}")
    finally:
        if source is not None:
            source.close()
        mirror.close()
        store.close()


def test_a_second_mirror_of_the_same_database_is_refused(postgres, tmp_path):
    url = postgres.database("two")
    store = Store(tmp_path / "acct.db")
    store.commit(RunnerStatusChanged(status="RUNNING", by="test"))  # critical: durable when it returns
    first, second = Mirror(store.path, url), Mirror(store.path, url)
    try:
        assert first.step() == 1
        with pytest.raises(Exception, match="another mirror is writing this database; one mirror per account"):
            second.step()
    finally:
        first.close()
        second.close(drain=False)
        store.close()


def test_a_viewers_command_is_applied_with_its_identity_or_refused(runner_host):
    service, url = runner_host
    poll("the runner running", lambda: service.store.state.runner.status == "RUNNING", 30)
    commands = Commands(url)
    viewer = PgSource(url).start()
    try:
        remote = {"user": None, "remote_ip": "203.0.113.9", "forwarded": False}
        paused = commands.wait(commands.submit("pause", {}, **remote))
        assert paused is not None and paused.status == "done", paused
        poll("the pause seen on the viewer", lambda: viewer.state.runner.status == "PAUSED")
        by = [e.by for e in viewer.tail(1, topics=["runner.status"])]
        assert by == ["remote@203.0.113.9"]

        refused = commands.wait(commands.submit("resume", {}, **remote))  # moves money: not for an unknown remote
        assert refused is not None and refused.status == "refused"
        assert refused.result is not None and refused.result.startswith("resume: moves money; log in first")
        assert service.store.state.runner.status == "PAUSED"

        resumed = commands.wait(commands.submit("resume", {}, user="alice", remote_ip="203.0.113.9", forwarded=True))
        assert resumed is not None and resumed.status == "done", resumed
        poll("the resume seen on the viewer", lambda: viewer.state.runner.status == "RUNNING")
        assert [e.by for e in viewer.tail(1, topics=["runner.status"])] == ["user:alice"]

        unknown = commands.wait(commands.submit("drop_table", {}, **remote))
        assert (
            unknown is not None
            and unknown.status == "failed"
            and "unknown command 'drop_table'" in (unknown.result or "")
        )
    finally:
        viewer.close()


def test_seamless_run_mirrors_beside_the_runner_up_to_its_last_row(postgres, seamless_cmd, tmp_path):
    url = postgres.database("headless")
    db = tmp_path / "acct.db"
    done = subprocess.run(
        [
            *seamless_cmd,
            "run",
            "--db",
            str(db),
            "--max-ticks",
            "3000",
            "--speed",
            "0",
            "--no-reconcile",
            "--mirror-to",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    rows = sqlite_rows(db)
    assert len(rows) > 3000 and rows_of(url) == rows  # the close's last rows and snapshot too
    with psycopg.connect(url) as conn:
        snap = conn.execute("SELECT max(seq) FROM seamless_snapshots").fetchone()
    assert snap is not None and snap[0] == rows[-1][0]
