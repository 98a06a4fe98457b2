"""The committed v1 store (made by running Seamless, see tests/fixtures/make_store_v1.sh) still opens:
read-only through upcasts (unchanged), and for writing after its automatic migration."""

import hashlib

from seamless.persist import SCHEMA_VERSION, journal, open_reader, restore
from seamless.store import Store


def test_v1_store_opens_and_equals_its_replay(v1):
    db = v1
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    conn = open_reader(db)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        for row in journal.read_rows(conn):
            journal.verify(row)
        full = restore(conn, use_snapshots=False)
    finally:
        conn.close()
    assert full.upcast > 0  # its OrderSubmitting rows are version 1
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest, "a read-only open modified the store"
    full = full.projection
    assert full.seq > 3000
    with Store(db) as store:  # migrates it to the current version
        values, meta, seq = store.values()
        assert seq == full.seq and values == full.values and meta == full.meta
        assert store.restored_from_snapshot > 0  # the runner's close wrote one
        assert store.state.runner.status == "STOPPED"
        assert [m for m in store.state.monitors.by_id.values() if m.status == "triggered"]
    conn = open_reader(db)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        conn.close()
    assert len(list(db.parent.glob(f"{db.name}.v1-*.bak"))) == 1
