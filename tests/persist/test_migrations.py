"""Issue 6: schema versions, migrations of the database, upcasts of old events and snapshots.

The v1 fixture was written by running Seamless at schema version 1 (tests/fixtures/make_store_v1.sh;
the ``v1`` fixture in conftest.py copies it).
Its figures below were recorded with `seamless state --json` on that fixture BEFORE version 2
existed (the v1 code), so a migration that loses or changes state fails here.
"""

import contextlib
import hashlib
import io
import json
import sqlite3
from pathlib import Path

import pytest

from seamless import cli
from seamless.errors import InvalidEvent, MigrationFailed, MigrationNeeded, MigrationRegistryError, NewerStoreVersion
from seamless.events import OrderFilled, OrderSubmitting, PositionAdjusted, decode
from seamless.params.state import Positions
from seamless.persist import SCHEMA_VERSION, journal, migrations, open_reader, restore
from seamless.persist.migrations import Step, check_registry
from seamless.store import Store

# -- the fixture's state as the v1 code held it (recorded before any change) ------------------
V1_SEQ = 3457
V1_CASH = 100056.96970689212
V1_EQUITY = 100056.96970689212
V1_DAILY_REALIZED = 56.96970689211202
V1_POSITIONS = {  # symbol -> (qty, avg_price, realized_pnl)
    "MSFT": (0.0, 0.0, 45.76495349046695),
    "AAPL": (0.0, 0.0, -4.345164864245007),
    "IBM": (0.0, 0.0, 1.5844486890068765),
    "GOOG": (0.0, 0.0, 13.965469576883208),
}
V1_ORDERS = 129
V1_FILLS = 63
V1_ORDER_SUBMITTING_ROWS = 63


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def user_version(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def indexes(path: Path) -> set[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    finally:
        conn.close()


def backups(db: Path) -> list[Path]:
    return sorted(db.parent.glob(db.name + ".v*.bak"))


def cli_run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(list(argv))
    return rc, out.getvalue(), err.getvalue()


def assert_v1_figures(doc: dict) -> None:
    assert doc["seq"] == V1_SEQ
    assert doc["account"]["cash"] == V1_CASH
    assert doc["account"]["equity"] == V1_EQUITY
    assert doc["account"]["daily_realized_pnl"] == V1_DAILY_REALIZED
    assert {s: (p["qty"], p["avg_price"], p["realized_pnl"]) for s, p in doc["positions"].items()} == V1_POSITIONS
    assert len(doc["orders"]["by_id"]) == V1_ORDERS
    assert len(doc["orders"]["fills"]) == V1_FILLS


# -- the real migration of the committed v1 store -------------------------------------------------


def test_v1_fixture_migrates_on_open_to_the_state_v1_held(v1):
    assert SCHEMA_VERSION == 3
    assert "journal_ts" not in indexes(v1)
    with Store(v1) as store:
        assert store.seq == V1_SEQ
        a = store.state.account
        assert (a.cash, a.equity, a.daily_realized_pnl) == (V1_CASH, V1_EQUITY, V1_DAILY_REALIZED)
        pos = store.state.positions.by_symbol
        assert {s: (p.qty, p.avg_price, p.realized_pnl) for s, p in pos.items()} == V1_POSITIONS
        assert all(p.opened_at is None for p in pos.values())  # the v1 -> v2 snapshot upcaster
        assert len(store.state.orders.by_id) == V1_ORDERS
        assert len(store.state.orders.fills) == V1_FILLS
        assert store.restored_from_snapshot == V1_SEQ and store.restored_upcast > 0
    assert user_version(v1) == SCHEMA_VERSION
    assert "journal_ts" in indexes(v1)
    conn = sqlite3.connect(v1)
    try:
        # The journal was not rewritten: old rows keep their version (upcast on every read).
        assert (
            conn.execute("SELECT count(*) FROM journal WHERE type='OrderSubmitting' AND version=1").fetchone()[0]
            == V1_ORDER_SUBMITTING_ROWS
        )
        # A fresh snapshot at the current versions was written after the upcast.
        sv, payload = conn.execute(
            "SELECT schema_version, payload FROM snapshots ORDER BY seq DESC, id DESC LIMIT 1"
        ).fetchone()
    finally:
        conn.close()
    assert sv == SCHEMA_VERSION
    assert json.loads(payload)["parts"]["positions"]["version"] == Positions.schema_version == 2
    with Store(v1) as again:  # now current: no upcast, no second migration
        assert again.restored_upcast == 0 and again.seq == V1_SEQ
    assert len(backups(v1)) == 1


def test_backup_is_the_original_taken_with_the_backup_api(v1, tmp_path):
    original = v1.read_bytes()
    pristine = tmp_path / "pristine.db"  # read from a copy: even a read-only open leaves -shm files
    pristine.write_bytes(original)
    Store(v1).close()
    [bak] = backups(v1)
    assert bak.name.startswith("acct.db.v1-") and len(bak.name) == len("acct.db.v1-20261125T205900.bak")
    got = bak.read_bytes()
    assert len(got) == len(original)
    # Every page is the original's; in the header the backup API bumps only its bookkeeping
    # counters: file change counter (24..28), schema cookie (40..44), version-valid-for (92..96).
    mask = lambda b: b[:24] + b[28:40] + b[44:92] + b[96:]  # noqa: E731
    assert mask(got) == mask(original)
    assert user_version(bak) == 1
    b, o = sqlite3.connect(bak), sqlite3.connect(f"file:{pristine}?mode=ro", uri=True)
    try:
        assert (
            b.execute(journal.SELECT + " ORDER BY seq").fetchall()
            == o.execute(journal.SELECT + " ORDER BY seq").fetchall()
        )
    finally:
        b.close(), o.close()


def test_seamless_state_on_the_migrated_store_shows_the_v1_figures(v1):
    Store(v1).close()
    rc, out, _ = cli_run("state", "--db", str(v1), "--json")
    assert rc == 0
    assert_v1_figures(json.loads(out))


def test_reading_a_v1_store_upcasts_and_modifies_nothing(v1):
    digest = sha(v1)
    rc, out, _ = cli_run("state", "--db", str(v1), "--json")
    assert rc == 0
    assert_v1_figures(json.loads(out))
    conn = open_reader(v1)
    try:  # the full replay: every OrderSubmitting v1 row goes through the upcaster
        full = restore(conn, use_snapshots=False)
        rows = [r for r in journal.read_rows(conn) if r[2] == "OrderSubmitting"]
    finally:
        conn.close()
    assert full.upcast == V1_ORDER_SUBMITTING_ROWS
    assert full.projection.values["account"]["cash"] == V1_CASH
    assert len(rows) == V1_ORDER_SUBMITTING_ROWS and {r[3] for r in rows} == {1}
    ev = journal.decode_row(rows[0])
    assert isinstance(ev, OrderSubmitting) and ev.version == 2 and ev.time_in_force == "day"
    assert sha(v1) == digest and user_version(v1) == 1 and not backups(v1)


def test_a_read_incompatible_pending_step_asks_for_seamless_migrate(v1, monkeypatch):
    monkeypatch.setattr(migrations, "STEPS", [Step(1, "relayout_journal", lambda c: None, read_compatible=False)])
    digest = sha(v1)
    with pytest.raises(MigrationNeeded, match=r"relayout_journal.*seamless migrate --db"):
        open_reader(v1)
    assert sha(v1) == digest


# -- failure, refusal, registry -------------------------------------------------------------------


def test_a_failing_step_leaves_the_original_byte_identical_and_names_the_step(v1, monkeypatch):
    def explode_after_index(conn):
        conn.execute("CREATE INDEX journal_ts ON journal (ts)")  # a real change, rolled back
        raise RuntimeError("boom")

    monkeypatch.setattr(migrations, "STEPS", [Step(1, "explode_after_index", explode_after_index)])
    digest = sha(v1)
    for _ in range(2):  # the writer lock was released: refused again, not StoreInUse
        with pytest.raises(MigrationFailed) as err:
            Store(v1)
        msg = str(err.value)
        assert "explode_after_index" in msg and "boom" in msg and str(v1) in msg
        assert "not modified" in msg
    assert sha(v1) == digest
    assert user_version(v1) == 1 and "journal_ts" not in indexes(v1)
    assert not backups(v1)  # the original is intact: no stray copies left
    monkeypatch.undo()
    with Store(v1) as store:  # the real step still migrates it
        assert store.seq == V1_SEQ
    assert user_version(v1) == SCHEMA_VERSION


def test_a_newer_store_is_refused_naming_both_versions_untouched(v1):
    Store(v1).close()
    raw = sqlite3.connect(v1)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.commit()
    raw.close()
    digest = sha(v1)
    with pytest.raises(NewerStoreVersion) as err:
        Store(v1)
    assert f"version {SCHEMA_VERSION + 1}" in str(err.value) and f"version {SCHEMA_VERSION}" in str(err.value)
    rc, _, stderr = cli_run("migrate", "--db", str(v1))
    assert rc == 2 and f"version {SCHEMA_VERSION + 1}" in stderr
    assert sha(v1) == digest and user_version(v1) == SCHEMA_VERSION + 1
    assert len(backups(v1)) == 1  # only the 1 -> 2 one


def test_the_registry_is_checked_for_gaps():
    check_registry(migrations.STEPS, SCHEMA_VERSION)  # the real one is whole
    noop = lambda c: None  # noqa: E731
    with pytest.raises(MigrationRegistryError, match=r"missing the step\(s\) from version \[2\]"):
        check_registry([Step(1, "a", noop), Step(3, "c", noop)], 4)
    with pytest.raises(MigrationRegistryError, match=r"missing the step\(s\) from version \[2\]"):
        check_registry([Step(1, "a", noop)], 3)  # the last step forgotten
    with pytest.raises(MigrationRegistryError, match="duplicate"):
        check_registry([Step(1, "a", noop), Step(1, "b", noop)], 2)
    with pytest.raises(MigrationRegistryError):
        check_registry([Step(2, "b", noop), Step(1, "a", noop)], 3)  # out of order


# -- the CLI --------------------------------------------------------------------------------------


def test_migrate_dry_run_shows_the_plan_and_changes_nothing(v1):
    digest = sha(v1)
    rc, out, _ = cli_run("migrate", "--db", str(v1), "--dry-run")
    assert rc == 0
    assert "schema version 1 -> 3" in out and "step 1->2 add_journal_ts_index" in out
    assert "step 2->3 chain_journal" in out
    assert f"backup: {v1}.v1-" in out and "dry run" in out
    assert sha(v1) == digest and user_version(v1) == 1 and not backups(v1)


def test_migrate_runs_the_plan(v1):
    rc, out, _ = cli_run("migrate", "--db", str(v1))
    assert rc == 0 and "migrated to schema version 3" in out
    [bak] = backups(v1)
    assert str(bak) in out
    assert user_version(v1) == SCHEMA_VERSION and "journal_ts" in indexes(v1)
    rc, out, _ = cli_run("migrate", "--db", str(v1))
    assert rc == 0 and "nothing to migrate" in out and len(backups(v1)) == 1


def test_migrate_is_refused_while_another_writer_holds_the_store(v1):
    from seamless.persist import schema

    digest = sha(v1)
    lock = schema.WriterLock(v1)  # as a running Store holds it
    try:
        rc, _, stderr = cli_run("migrate", "--db", str(v1))
    finally:
        lock.release()
    assert rc == 2 and "already open for writing" in stderr
    assert sha(v1) == digest and user_version(v1) == 1 and not backups(v1)


# -- upcasters and the new fields -----------------------------------------------------------------

V1_SUBMIT = {
    "client_order_id": "c1",
    "symbol": "AAPL",
    "qty": 10.0,
    "order_type": "market",
    "limit_price": None,
    "strategy": "",
    "reason": "",
    "by": "runner",
}


def test_order_submitting_v1_is_upcast_to_v2_with_a_day_time_in_force():
    ev = decode("OrderSubmitting", 1, json.dumps(V1_SUBMIT), seq=1, ts=1.0)
    assert ev.version == 2 and ev.time_in_force == "day" and ev.qty == 10.0
    assert json.loads(ev.payload_json())["time_in_force"] == "day"
    with pytest.raises(InvalidEvent, match="newer"):
        decode("OrderSubmitting", 3, json.dumps(V1_SUBMIT))
    with pytest.raises(InvalidEvent, match="time_in_force"):
        OrderSubmitting(client_order_id="c", symbol="AAPL", qty=1.0, time_in_force="forever")
    assert OrderSubmitting(client_order_id="c", symbol="AAPL", qty=1.0, time_in_force="gtc").time_in_force == "gtc"


def test_positions_part_v1_is_upcast_with_no_opened_at():
    v1_part = {
        "by_symbol": {
            "AAPL": {
                "seq": 5,
                "updated_at": 1.0,
                "symbol": "AAPL",
                "qty": 3.0,
                "avg_price": 10.0,
                "realized_pnl": 0.0,
                "mark": 11.0,
            }
        }
    }
    up = Positions.upcast(v1_part, 1)
    assert up["by_symbol"]["AAPL"]["opened_at"] is None
    pos = Positions.decode(up)["by_symbol"]["AAPL"]
    assert (pos.qty, pos.avg_price, pos.opened_at) == (3.0, 10.0, None)
    with pytest.raises(ValueError, match="newer"):
        Positions.upcast(v1_part, 3)


def test_opened_at_is_the_ts_when_a_position_goes_from_flat(tmp_path):
    def fill(n, qty, ts):
        return OrderFilled(trade_id=f"T{n}", client_order_id="", symbol="AAPL", qty=qty, price=10.0, ts=ts)

    with Store(tmp_path / "s.db") as store:
        pos = lambda: store.state.positions.by_symbol["AAPL"]  # noqa: E731
        store.commit(fill(1, 5.0, 100.0))
        assert pos().opened_at == 100.0
        store.commit(fill(2, 5.0, 200.0))  # adding: still opened at 100
        assert pos().opened_at == 100.0
        store.commit(fill(3, -10.0, 300.0))  # flat
        assert pos().qty == 0 and pos().opened_at is None
        store.commit(fill(4, -2.0, 400.0))  # opened short
        assert pos().opened_at == 400.0
        store.commit(fill(5, 4.0, 500.0))  # through zero: a new position
        assert pos().qty == 2.0 and pos().opened_at == 500.0
        store.commit(PositionAdjusted(symbol="AAPL", qty=3.0, avg_price=10.0, reason="r", ts=600.0))
        assert pos().opened_at == 500.0  # same side: unchanged
        store.commit(PositionAdjusted(symbol="AAPL", qty=0.0, avg_price=0.0, reason="r", ts=700.0))
        assert pos().opened_at is None
        store.commit(PositionAdjusted(symbol="MSFT", qty=1.0, avg_price=5.0, reason="r", ts=800.0))
        assert store.state.positions.by_symbol["MSFT"].opened_at == 800.0
        store.commit(fill(6, 1.0, 900.0))
        store.snapshot()
    with Store(tmp_path / "s.db") as again:  # through a current snapshot, no upcast
        assert again.restored_upcast == 0
        assert again.state.positions.by_symbol["AAPL"].opened_at == 900.0
