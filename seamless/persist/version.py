"""The store's schema version, kept in ``PRAGMA user_version``.

Versions: 1 the first; 2 adds the index ``journal_ts`` on journal(ts).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..errors import NewerStoreVersion

SCHEMA_VERSION = 2


def check_version(conn: sqlite3.Connection, path: str | Path) -> int:
    """The version of the store on ``conn``; a newer one than this Seamless knows is refused."""
    found: int = conn.execute("PRAGMA user_version").fetchone()[0]
    if found > SCHEMA_VERSION:
        raise NewerStoreVersion(
            f"{path} has schema version {found}, written by a newer Seamless; this Seamless "
            f"knows version {SCHEMA_VERSION}. Upgrade Seamless; the file was not modified."
        )
    return found
