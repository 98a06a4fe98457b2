"""Archives: non-critical journal rows moved out of the journal into Parquet files.

Layout: ``<store>.archive/<topic>/<UTC date>.parquet``, one file per topic and UTC day, written
once (a day is archived only once the whole day is older than the retention window). Each
file holds the rows' columns but their checksums (a row's own checksum and its chain value
follow from its columns and the row before: :mod:`.chain`), and is recorded in the store's
``archives`` table with its row count, seq range, the chain values at its first and last rows
and the SHA-256 of its bytes. A journal row may be deleted only while an archive of its topic
records its seq range (a trigger refuses any other DELETE).

Read with pyarrow; the store's readers merge archived rows back in seq order
(:mod:`.history`), so replay and analysis read across the boundary as if nothing moved.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CorruptArchive

SUFFIX = ".archive"
TMP = ".tmp"
COLUMNS = ("seq", "type", "version", "ts", "exchange_ts", "payload")

#: The table of archive files (also made by the migration to schema version 3).
TABLE = """CREATE TABLE IF NOT EXISTS archives (
    file TEXT PRIMARY KEY,
    topic TEXT NOT NULL,
    day TEXT NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    first_ts REAL NOT NULL,
    last_ts REAL NOT NULL,
    rows INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    chain_first INTEGER NOT NULL,
    chain_last INTEGER NOT NULL
)"""
INDEX = "CREATE INDEX IF NOT EXISTS archives_seq ON archives (last_seq, first_seq)"
#: Deleting a journal row is refused unless an archive of its topic covers its seq.
GUARD = (
    "CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal WHEN NOT EXISTS ("
    "SELECT 1 FROM archives a WHERE a.topic = old.topic AND old.seq BETWEEN a.first_seq AND a.last_seq) "
    "BEGIN SELECT RAISE(ABORT, 'the journal is append-only (only archived rows may leave it)'); END"
)


def directory(store_path: str | Path) -> Path:
    return Path(str(store_path) + SUFFIX)


def store_path(conn: sqlite3.Connection) -> Path:
    """The file of the database ``conn`` is connected to."""
    for _, name, file in conn.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return Path(file)
    raise ValueError("no main database")  # pragma: no cover - SQLite always has one


@dataclass(frozen=True)
class Archive:
    """One archive file as the store records it."""

    file: str  # relative to the archive directory: <topic>/<date>.parquet
    topic: str
    day: str
    first_seq: int
    last_seq: int
    first_ts: float
    last_ts: float
    rows: int
    sha256: str
    chain_first: int
    chain_last: int

    def record(self) -> tuple[str, tuple[Any, ...]]:
        """The INSERT that records this file (run in the transaction that journals it)."""
        cols = ", ".join(Archive.__dataclass_fields__)
        return f"INSERT INTO archives ({cols}) VALUES ({','.join('?' * 11)})", tuple(self.__dict__.values())


def recorded(conn: sqlite3.Connection, after: int = 0, until: int | None = None) -> list[Archive]:
    """Archives holding any seq in (after, until], by first seq; none in a store without archives."""
    cols = ", ".join(Archive.__dataclass_fields__)
    sql = f"SELECT {cols} FROM archives WHERE last_seq > ?" + (" AND first_seq <= ?" if until is not None else "")
    try:
        rows = conn.execute(sql + " ORDER BY first_seq", (after,) if until is None else (after, until)).fetchall()
    except sqlite3.OperationalError as e:
        if "no such table" in str(e):  # an older store: nothing archived
            return []
        raise
    return [Archive(*r) for r in rows]


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while b := f.read(chunk):
            h.update(b)
    return h.hexdigest()


# -- writing ---------------------------------------------------------------------------------


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            ("seq", pa.int64()),
            ("type", pa.string()),
            ("version", pa.int32()),
            ("ts", pa.float64()),
            ("exchange_ts", pa.float64()),
            ("payload", pa.string()),
        ]
    )


class Writer:
    """Writes one archive file from batches of journal rows, to a temporary name first."""

    def __init__(self, root: Path, topic: str, day: str) -> None:
        import pyarrow.parquet as pq

        self.rel = f"{topic}/{day}.parquet"
        self.final = root / self.rel
        self.final.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.final.with_name(self.final.name + TMP)
        self.topic, self.day = topic, day
        self.rows = 0
        self.first: tuple[int, float, int] | None = None  # seq, ts, chain value
        self.last: tuple[int, float, int] | None = None
        # seq grows by small steps: delta-encoded; times: byte-split floats; the rest dictionaries.
        self._w = pq.ParquetWriter(
            self.tmp,
            _schema(),
            compression="zstd",
            compression_level=9,
            use_dictionary=["type", "version"],
            column_encoding={
                "seq": "DELTA_BINARY_PACKED",
                "ts": "BYTE_STREAM_SPLIT",
                "exchange_ts": "BYTE_STREAM_SPLIT",
            },
            metadata_collector=None,
        )

    def add(self, rows: list[tuple[Any, ...]]) -> None:
        """``rows``: (seq, topic, type, version, ts, exchange_ts, payload, checksum) in seq order."""
        import pyarrow as pa

        from .chain import chained

        if not rows:
            return
        cols = list(zip(*rows))
        table = pa.table(
            {
                "seq": pa.array(cols[0], pa.int64()),
                "type": pa.array(cols[2], pa.string()),
                "version": pa.array(cols[3], pa.int32()),
                "ts": pa.array(cols[4], pa.float64()),
                "exchange_ts": pa.array(cols[5], pa.float64()),
                "payload": pa.array(cols[6], pa.string()),
            },
            schema=_schema(),
        )
        self._w.write_table(table, row_group_size=1 << 20)
        if self.first is None:
            self.first = (rows[0][0], rows[0][4], chained(rows[0][7]))
        self.last = (rows[-1][0], rows[-1][4], chained(rows[-1][7]))
        self.rows += len(rows)

    def finish(self, step: Callable[[str], None] | None = None) -> Archive:
        """Close, fsync and move the file into place; the :class:`Archive` to record.
        ``step("closed")`` is called before the move (the crash tests kill there)."""
        assert self.first is not None and self.last is not None
        self._w.add_key_value_metadata(
            {
                "seamless.topic": self.topic,
                "seamless.rows": str(self.rows),
                "seamless.first_seq": str(self.first[0]),
                "seamless.last_seq": str(self.last[0]),
                "seamless.chain_first": str(self.first[2]),
                "seamless.chain_last": str(self.last[2]),
            }
        )
        self._w.close()
        _fsync(self.tmp)
        if step is not None:
            step("closed")
        os.replace(self.tmp, self.final)
        _fsync(self.final.parent)
        return Archive(
            self.rel,
            self.topic,
            self.day,
            self.first[0],
            self.last[0],
            self.first[1],
            self.last[1],
            self.rows,
            sha256_of(self.final),
            self.first[2],
            self.last[2],
        )

    def abort(self) -> None:
        try:
            self._w.close()
        finally:
            self.tmp.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def unrecorded(conn: sqlite3.Connection, root: Path) -> list[Path]:
    """Files under ``root`` no archive record names: left by a compaction that died before
    its transaction (temporary files, or a file moved into place but never journaled)."""
    if not root.is_dir():
        return []
    known = {a.file for a in recorded(conn)}
    return [p for p in root.glob("*/*.parquet*") if p.relative_to(root).as_posix() not in known]


# -- reading ---------------------------------------------------------------------------------


def read(root: Path, a: Archive, after: int = 0, until: int | None = None) -> Iterator[tuple[Any, ...]]:
    """The archive's rows with after < seq <= until as (seq, topic, type, version, ts,
    exchange_ts, payload) tuples, in seq order. A file that is missing or does not hold what
    its record says is :class:`CorruptArchive`."""
    import pyarrow.parquet as pq

    path = root / a.file
    try:
        pf = pq.ParquetFile(path)
        for rg in range(pf.num_row_groups):
            stats = pf.metadata.row_group(rg).column(0).statistics
            if (
                stats is not None
                and stats.has_min_max
                and (stats.max <= after or (until is not None and stats.min > until))
            ):
                continue
            t = pf.read_row_group(rg, columns=list(COLUMNS))
            seq, type_, version, ts, xts, payload = (t.column(c).to_pylist() for c in COLUMNS)
            topic = a.topic
            for i, s in enumerate(seq):
                if s <= after or (until is not None and s > until):
                    continue
                yield (s, topic, type_[i], version[i], ts[i], xts[i], payload[i])
    except (OSError, ValueError) as e:  # missing, truncated, not Parquet
        raise CorruptArchive(str(path), f"cannot be read: {e}") from e


def verify_file(root: Path, a: Archive) -> None:
    """The file's bytes against its recorded SHA-256 (a missing file fails too)."""
    path = root / a.file
    try:
        digest = sha256_of(path)
    except OSError as e:
        raise CorruptArchive(str(path), f"cannot be read: {e}") from e
    if digest != a.sha256:
        raise CorruptArchive(str(path), f"fails its checksum (sha256 {digest[:12]}..., recorded {a.sha256[:12]}...)")
