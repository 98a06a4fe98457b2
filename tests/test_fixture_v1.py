"""The committed v1 store (made by running Seamless, see fixtures/make_store_v1.sh) still opens:
read-only through upcasts (unchanged), and for writing after its automatic migration."""
import hashlib
import shutil
from pathlib import Path

from seamless.persist import SCHEMA_VERSION, journal, open_reader, restore
from seamless.store import Store

FIXTURE = Path(__file__).parent / "fixtures" / "store-v1.db"


def test_v1_store_opens_and_equals_its_replay(tmp_path):
    db = tmp_path / "v1.db"
    shutil.copy(FIXTURE, db)
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
    assert len(list(tmp_path.glob("v1.db.v1-*.bak"))) == 1
