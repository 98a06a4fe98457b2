"""Each viewer's dashboard preferences (open tab, filters, bar size, columns, theme), kept in a
small SQLite file of their own beside the store (``acct.db`` -> ``acct.prefs.db``): they are not
account state, so never in the journal, and a broken or locked preferences file never touches
trading. Keyed by who is viewing: the logged-in user, else the browser (an id it keeps).

Reads are one primary-key lookup when a page opens; writes go to one background thread, the
latest per viewer winning, so neither the server's loop nor the push ever waits on them.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

log = logging.getLogger("seamless.service")


def prefs_path(db: str) -> Path:
    """Beside the store: ``acct.db`` -> ``acct.prefs.db``."""
    p = Path(db)
    return p.with_name(p.stem + ".prefs.db")


class Prefs:
    """``load(who) -> dict`` and ``save(who, dict)`` (in the background)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._pending: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seamless-prefs")
        self.errors = 0

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=1.0)
        conn.execute("CREATE TABLE IF NOT EXISTS prefs (who TEXT PRIMARY KEY, doc TEXT NOT NULL, updated_at REAL)")
        return conn

    def load(self, who: str) -> dict[str, Any]:
        """The preferences of ``who`` ({} for none, or when the file cannot be read)."""
        with self._lock:
            if who in self._pending:  # saved a moment ago, not yet written
                return dict(self._pending[who])
        if not self.path.exists():
            return {}
        try:
            conn = self._connect()
            try:
                row = conn.execute("SELECT doc FROM prefs WHERE who = ?", (who,)).fetchone()
            finally:
                conn.close()
            return json.loads(row[0]) if row else {}
        except (sqlite3.Error, ValueError) as e:
            self.errors += 1
            log.warning("preferences not read from %s: %s", self.path, e)
            return {}

    def save(self, who: str, doc: dict[str, Any]) -> None:
        """Keep ``doc`` for ``who``: written in the background (a burst of changes, once)."""
        with self._lock:
            first = who not in self._pending
            self._pending[who] = dict(doc)
        if first:
            self._pool.submit(self._write, who)

    def _write(self, who: str) -> None:
        while True:  # until what is written is the latest (a change while writing: once more)
            with self._lock:
                doc = self._pending.get(who)
            if doc is None:
                return
            try:
                conn = self._connect()
                try:
                    with conn:
                        conn.execute(
                            "INSERT INTO prefs (who, doc, updated_at) VALUES (?, ?, ?) ON CONFLICT(who) "
                            "DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at",
                            (who, json.dumps(doc, sort_keys=True), time.time()),
                        )
                finally:
                    conn.close()
            except sqlite3.Error as e:
                self.errors += 1
                log.warning("preferences not written to %s: %s", self.path, e)
            with self._lock:
                if self._pending.get(who) is doc:
                    del self._pending[who]
                    return

    def close(self) -> None:
        """Write what is pending, then stop."""
        self._pool.shutdown(wait=True)
