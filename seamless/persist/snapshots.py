"""Snapshots of the whole state: versioned per part, checksummed, the last K kept."""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..apply import Projection
from ..errors import CorruptSnapshot
from ..params.state import PART_CLASSES
from .version import SCHEMA_VERSION

log = logging.getLogger("seamless.persist")

INSERT = "INSERT INTO snapshots (seq, schema_version, created_at, payload, checksum) VALUES (?,?,?,?,?)"


def prune_sql(keep: int) -> tuple[str, tuple[int]]:
    return (
        "DELETE FROM snapshots WHERE id NOT IN (SELECT id FROM snapshots ORDER BY seq DESC, id DESC LIMIT ?)",
        (keep,),
    )


def checksum(seq: int, schema_version: int, payload: str) -> str:
    return hashlib.sha256(f"{seq}|{schema_version}|{payload}".encode()).hexdigest()


def encode(proj: Projection) -> tuple[str, tuple[Any, ...]]:
    """The INSERT for a snapshot of this projection (values must not change meanwhile)."""
    parts = {
        name: {
            "version": PART_CLASSES[name].schema_version,
            "seq": proj.meta[name][0],
            "updated_at": proj.meta[name][1],
            "values": PART_CLASSES[name].encode(values),
        }
        for name, values in proj.values.items()
    }
    payload = json.dumps({"seq": proj.seq, "parts": parts}, separators=(",", ":"), allow_nan=False)
    return INSERT, (proj.seq, SCHEMA_VERSION, time.time(), payload, checksum(proj.seq, SCHEMA_VERSION, payload))


@dataclass
class Snapshot:
    id: int
    seq: int
    schema_version: int
    created_at: float
    payload: str
    checksum: str
    #: set by :meth:`load` when a part was upcast from an older version.
    upcast: bool = False

    def load(self) -> Projection:
        if checksum(self.seq, self.schema_version, self.payload) != self.checksum:
            raise CorruptSnapshot(f"snapshot id={self.id} at seq={self.seq} fails its checksum")
        if self.schema_version > SCHEMA_VERSION:
            raise CorruptSnapshot(
                f"snapshot id={self.id} has schema version {self.schema_version}, newer than {SCHEMA_VERSION}"
            )
        # An older database version is fine: each part records its own version and is upcast.
        try:
            data = json.loads(self.payload)
            values, meta = {}, {}
            for name, cls in PART_CLASSES.items():
                part = data["parts"][name]
                if part["version"] > cls.schema_version:
                    raise CorruptSnapshot(
                        f"snapshot id={self.id}: part {name} has version "
                        f"{part['version']}, newer than {cls.schema_version}"
                    )
                encoded = part["values"]
                if part["version"] < cls.schema_version:
                    encoded = cls.upcast(encoded, part["version"])
                    self.upcast = True
                values[name] = cls.decode(encoded)
                meta[name] = (part["seq"], part["updated_at"])
        except (KeyError, TypeError, ValueError) as e:
            raise CorruptSnapshot(f"snapshot id={self.id} at seq={self.seq} cannot be decoded: {e}") from e
        return Projection(values, meta, seq=self.seq)


def newest_first(conn: sqlite3.Connection, until: int | None = None) -> Iterator[Snapshot]:
    sql = "SELECT id, seq, schema_version, created_at, payload, checksum FROM snapshots"
    sql += (" WHERE seq <= ?" if until is not None else "") + " ORDER BY seq DESC, id DESC"
    for row in conn.execute(sql, () if until is None else (until,)).fetchall():
        yield Snapshot(*row)
