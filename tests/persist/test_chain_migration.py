"""Migration 2 -> 3 on the committed v1 store: its old rows are verified with their own
checksums first, then folded into the chain's origin; the chain covers them from then on."""

from __future__ import annotations

import sqlite3

import pytest

from seamless.errors import MigrationFailed
from seamless.events import QuoteReceived
from seamless.persist import chain, history, journal, open_reader
from seamless.store import Store


def rows_of(db):
    conn = open_reader(db)
    try:
        return list(journal.read_rows(conn))
    finally:
        conn.close()


def test_the_v1_store_migrates_into_the_chain(v1):
    old = rows_of(v1)
    assert all(chain.chained(r[7]) == 0 for r in old)  # written before the chain
    with Store(v1) as store:
        first_new = store.commit(QuoteReceived(symbol="AAPL", last=101.0)).seq
    conn = open_reader(v1)
    try:
        start, head = conn.execute("SELECT start_seq, head FROM chain").fetchone()
        progress, finding = history.verify(conn)
        new = conn.execute(journal.SELECT + " WHERE seq = ?", (first_new,)).fetchone()
    finally:
        conn.close()
    h = 0
    for r in old:
        h = chain.link(chain.own(r[7]), h)
    assert start == len(old) + 1 == first_new and head == h  # the origin covers every old row
    assert rows_of(v1)[: len(old)] == old  # not rewritten
    assert chain.chained(new[7]) == chain.link(chain.own(new[7]), head)
    assert finding is None and progress.seq == first_new
    conn = sqlite3.connect(v1)
    try:  # rebuilt once so that retention gives freed pages back to the disk
        assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
    finally:
        conn.close()


def test_an_old_row_removed_after_the_migration_breaks_the_chain(v1):
    Store(v1).close()
    conn = sqlite3.connect(v1, isolation_level=None)
    conn.execute("DROP TRIGGER journal_no_delete")
    conn.execute("DROP TRIGGER journal_no_update")
    last = conn.execute("SELECT max(seq) FROM journal").fetchone()[0]
    # the old row 10 removed and the rest renumbered, each with a correct own checksum
    rows = conn.execute(journal.SELECT + " WHERE seq > 10 ORDER BY seq").fetchall()
    conn.execute("DELETE FROM journal WHERE seq >= 10")
    for r in rows:
        seq = r[0] - 1
        conn.execute(journal.INSERT, (seq, *r[1:7], journal.row_checksum(seq, *r[1:7])))
    conn.close()
    conn = open_reader(v1)
    try:
        _, finding = history.verify(conn)
    finally:
        conn.close()
    assert finding is not None and finding.seq == last and "origin" in finding.reason


def test_a_damaged_old_row_fails_the_migration_untouched(v1):
    conn = sqlite3.connect(v1, isolation_level=None)
    conn.execute("DROP TRIGGER journal_no_update")
    conn.execute("UPDATE journal SET payload = payload || ' ' WHERE seq = 7")
    conn.close()
    before = v1.read_bytes()
    with pytest.raises(MigrationFailed, match=r"step 2->3 chain_journal .*seq=7 is corrupt"):
        Store(v1)
    assert v1.read_bytes() == before
