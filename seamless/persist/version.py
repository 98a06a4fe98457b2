"""The store's schema version, kept in ``PRAGMA user_version``.

Versions: 1 the first; 2 adds the index ``journal_ts`` on journal(ts); 3 chains the journal's
checksums (table ``chain``) and adds ``archives`` and the scrubber's progress (``scrub``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..errors import NewerStoreVersion

SCHEMA_VERSION = 3


def check_version(conn: sqlite3.Connection, path: str | Path) -> int:
    """The version of the store on ``conn``; a newer one than this Seamless knows is refused."""
    found: int = conn.execute("PRAGMA user_version").fetchone()[0]
    if found > SCHEMA_VERSION:
        raise NewerStoreVersion(
            f"{path} has schema version {found}, written by a newer Seamless; this Seamless "
            f"knows version {SCHEMA_VERSION}. Upgrade Seamless; the file was not modified."
        )
    return found
