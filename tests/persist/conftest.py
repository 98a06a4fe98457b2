"""Fixtures of the persist tests: the committed v1 store (``tests/fixtures/store-v1.db``,
made by running Seamless at schema version 1, see ``tests/fixtures/make_store_v1.sh``)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
STORE_V1 = FIXTURES / "store-v1.db"


@pytest.fixture
def v1(tmp_path) -> Path:
    """A copy of the committed v1 store, ``acct.db`` in the test's temp dir (the fixture itself
    is never opened)."""
    db = tmp_path / "acct.db"
    shutil.copy(STORE_V1, db)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    finally:
        conn.close()
    return db
