"""Snapshots of the whole state: versioned per part, checksummed, each with the journal's chain
value at its seq; kept on a schedule that thins with age (:func:`prune_sql`)."""

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


#: The schedule: every snapshot of the last hour, the newest of each 10 minutes for a day, the
#: newest of each UTC day after that, and always the newest ``keep``. A replay to any time then
#: starts from a snapshot at most 10 minutes (a day, past the first day) before it.
RECENT_S, DENSE_S, DENSE_STEP_S, SPARSE_STEP_S = 3600, 86_400, 600, 86_400


def prune_sql(keep: int, now: float | None = None) -> tuple[str, tuple[float, ...]]:
    now = time.time() if now is None else now
    return (
        "DELETE FROM snapshots WHERE created_at < ? "
        "AND id NOT IN (SELECT id FROM snapshots ORDER BY seq DESC, id DESC LIMIT ?) "
        "AND id NOT IN (SELECT max(id) FROM snapshots WHERE created_at >= ? "
        f"GROUP BY CAST(created_at / {DENSE_STEP_S} AS INTEGER)) "
        f"AND id NOT IN (SELECT max(id) FROM snapshots GROUP BY CAST(created_at / {SPARSE_STEP_S} AS INTEGER))",
        (now - RECENT_S, keep, now - DENSE_S),
    )


def checksum(seq: int, schema_version: int, payload: str) -> str:
    return hashlib.sha256(f"{seq}|{schema_version}|{payload}".encode()).hexdigest()


@dataclass(frozen=True)
class Encoded:
    """A snapshot's state, encoded; :meth:`insert` adds the chain value at its seq (known only
    once the rows up to it are encoded) and makes the INSERT."""

    seq: int
    parts_json: str

    def insert(self, chain: int | None) -> tuple[str, tuple[Any, ...]]:
        head = "" if chain is None else f',"chain":{int(chain)}'
        payload = f'{{"seq":{self.seq}{head},"parts":{self.parts_json}}}'
        return INSERT, (self.seq, SCHEMA_VERSION, time.time(), payload, checksum(self.seq, SCHEMA_VERSION, payload))


def encode(proj: Projection) -> Encoded:
    """A snapshot of this projection (values must not change meanwhile): the costly part,
    done outside the store's locks."""
    parts = {
        name: {
            "version": PART_CLASSES[name].schema_version,
            "seq": proj.meta[name][0],
            "updated_at": proj.meta[name][1],
            "values": PART_CLASSES[name].encode(values),
        }
        for name, values in proj.values.items()
    }
    return Encoded(proj.seq, json.dumps(parts, separators=(",", ":"), allow_nan=False))


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
    #: set by :meth:`load`: the journal's chain value at ``seq`` (None: written before the chain).
    chain: int | None = None

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
            self.chain = data.get("chain")
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
    """Snapshots at or before ``until``, nearest first; each payload read only when reached."""
    sql = "SELECT id FROM snapshots" + (" WHERE seq <= ?" if until is not None else "") + " ORDER BY seq DESC, id DESC"
    for (id_,) in conn.execute(sql, () if until is None else (until,)).fetchall():
        row = conn.execute(
            "SELECT id, seq, schema_version, created_at, payload, checksum FROM snapshots WHERE id = ?", (id_,)
        ).fetchone()
        if row is not None:
            yield Snapshot(*row)
