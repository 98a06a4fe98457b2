"""The committed v1 store (made by running Seamless, see fixtures/make_store_v1.sh) still opens."""
import shutil
from pathlib import Path

from seamless.persist import journal, open_reader, restore
from seamless.store import Store

FIXTURE = Path(__file__).parent / "fixtures" / "store-v1.db"


def test_v1_store_opens_and_equals_its_replay(tmp_path):
    db = tmp_path / "v1.db"
    shutil.copy(FIXTURE, db)
    conn = open_reader(db)
    try:
        for row in journal.read_rows(conn):
            journal.verify(row)
        full = restore(conn, use_snapshots=False).projection
    finally:
        conn.close()
    assert full.seq > 3000
    with Store(db) as store:
        values, meta, seq = store.values()
        assert seq == full.seq and values == full.values and meta == full.meta
        assert store.restored_from_snapshot > 0  # the runner's close wrote one
        assert store.state.runner.status == "STOPPED"
        assert [m for m in store.state.monitors.by_id.values() if m.status == "triggered"]
