"""Migrations of the database from one schema version (``PRAGMA user_version``) to the next.

Each step is a named function taking the ``sqlite3.Connection``; it runs inside the one
transaction that runs every pending step and bumps ``user_version``, so it must not
COMMIT, ROLLBACK or change ``journal_mode``.  The journal is append-only: a step may add
tables, columns and indexes but never rewrites events -- old events and snapshots are
upcast on read instead (``seamless.events.base.upcaster``, ``seamless.params.base.part_upcaster``).

Opening an older store for writing (``open_writer``, hence ``Store``) migrates it: first a
backup made with the sqlite3 backup API (``<db>.v<old>-<UTC time>.bak``), then every step
and the version bump in ONE transaction.  A failing step rolls everything back, leaves the
original byte-identical, deletes the backup and raises :class:`MigrationFailed` naming the
step.  ``open_reader`` never migrates: it reads an older store through the upcasters unless
a pending step is marked ``read_compatible=False``, when it asks for ``seamless migrate``.

The registry is checked at import (:func:`check_registry`): a gap is a programming error.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import MigrationFailed, MigrationRegistryError
from .version import SCHEMA_VERSION

log = logging.getLogger("seamless.persist")

#: a migration step's work, run inside the migration's one transaction.
StepFn = Callable[[sqlite3.Connection], None]


@dataclass(frozen=True)
class Step:
    from_version: int
    name: str
    fn: StepFn
    #: False when a store not yet through this step cannot be read (a table layout change):
    #: read-only opens then ask for ``seamless migrate`` instead of reading through upcasts.
    read_compatible: bool = True

    @property
    def to_version(self) -> int:
        return self.from_version + 1

    def __str__(self) -> str:
        return f"{self.from_version}->{self.to_version} {self.name}"


#: every step, in order: STEPS[i] goes from version i + 1 to i + 2.
STEPS: list[Step] = []


def step(from_version: int, *, read_compatible: bool = True) -> Callable[[StepFn], StepFn]:
    """Decorator: register ``fn`` as the step from ``from_version`` to the next version."""

    def wrap(fn: StepFn) -> StepFn:
        STEPS.append(Step(from_version, fn.__name__, fn, read_compatible))
        return fn

    return wrap


# -- the steps -------------------------------------------------------------------------------


@step(1)
def add_journal_ts_index(conn: sqlite3.Connection) -> None:
    """v2: an index on journal(ts), for ``replay --until TIME``."""
    conn.execute("CREATE INDEX IF NOT EXISTS journal_ts ON journal (ts)")


@step(2)
def chain_journal(conn: sqlite3.Connection) -> None:
    """v3: the hash chain, archives and the scrubber's progress.

    The old rows stay as written: each is verified against its own checksum first (a bad
    one fails the migration, naming its seq), then their checksums are folded into the
    chain's value at its origin, so that the chain covers them too (:mod:`.chain`)."""
    from . import chain, history, journal

    h, seq = 0, 0
    for row in journal.read_rows(conn):
        journal.verify(row)
        h, seq = chain.link(chain.own(row[7]), h), row[0]
    conn.execute("DROP TRIGGER IF EXISTS journal_no_delete")
    for sql in history.TABLES:
        conn.execute(sql)
    conn.execute("INSERT INTO chain (start_seq, head) VALUES (?, ?)", (seq + 1, h))


# -- the registry check ------------------------------------------------------------------------


def check_registry(steps: Sequence[Step], current: int) -> None:
    """Raise :class:`MigrationRegistryError` unless ``steps`` go 1->2->...->current, in order."""
    found = [s.from_version for s in steps]
    expected = list(range(1, current))
    if found != expected:
        missing = sorted(set(expected) - set(found))
        extra = sorted({v for v in found if found.count(v) > 1 or v not in expected})
        raise MigrationRegistryError(
            f"migration steps go from versions {found}, expected {expected} (current version "
            f"{current})"
            + (f"; missing the step(s) from version {missing}" if missing else "")
            + (f"; duplicate, misplaced or out-of-range step(s) from version {extra}" if extra else "")
        )


check_registry(STEPS, SCHEMA_VERSION)


# -- planning and running ----------------------------------------------------------------------


@dataclass
class Plan:
    path: Path
    from_version: int
    to_version: int
    steps: list[Step] = field(default_factory=list)
    backup: Path | None = None

    def describe(self) -> str:
        if not self.steps:
            return f"{self.path} is at schema version {self.from_version}: nothing to migrate"
        lines = [f"{self.path}: schema version {self.from_version} -> {self.to_version}"]
        lines += [f"  step {s}" for s in self.steps]
        lines.append(f"  backup: {self.backup}")
        return "\n".join(lines)


def backup_name(path: str | Path, version: int, now: float | None = None) -> Path:
    """``<db>.v<version>-<UTC yyyymmddThhmmss>.bak``; ``-2``, ``-3``... when taken already."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(time.time() if now is None else now))
    base = f"{path}.v{version}-{stamp}"
    out, n = Path(base + ".bak"), 1
    while out.exists():
        n += 1
        out = Path(f"{base}-{n}.bak")
    return out


def plan(
    path: str | Path,
    found: int,
    *,
    steps: Sequence[Step] | None = None,
    current: int | None = None,
    now: float | None = None,
) -> Plan:
    steps = STEPS if steps is None else steps
    current = SCHEMA_VERSION if current is None else current
    todo = [s for s in steps if found <= s.from_version < current]
    out = Plan(Path(path), found, current if todo else found, todo)
    if todo:
        out.backup = backup_name(path, found, now)
    return out


def migrate(
    conn: sqlite3.Connection,
    path: str | Path,
    found: int,
    *,
    steps: Sequence[Step] | None = None,
    current: int | None = None,
) -> Plan:
    """Back up, then run every step from ``found`` and bump the version in one transaction.

    ``conn`` is an autocommit (``isolation_level=None``) connection holding no transaction,
    opened by the one writer (the caller holds the writer lock).
    """
    p = plan(path, found, steps=steps, current=current)
    if not p.steps:
        return p
    assert p.backup is not None
    dst = sqlite3.connect(str(p.backup))
    try:
        conn.backup(dst)
    except BaseException as e:
        dst.close()
        p.backup.unlink(missing_ok=True)
        raise MigrationFailed(
            f"migrating {path}: the backup to {p.backup} failed ({e}); "
            f"nothing was migrated and the store was not modified"
        ) from e
    dst.close()
    try:
        conn.execute("BEGIN IMMEDIATE")
        for s in p.steps:
            try:
                s.fn(conn)
            except BaseException as e:
                raise MigrationFailed(
                    f"migrating {path} from schema version {found} to {p.to_version} failed at step "
                    f"{s} ({e}); everything was rolled back and the store was not modified"
                ) from e
        conn.execute(f"PRAGMA user_version = {int(p.to_version)}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        p.backup.unlink(missing_ok=True)  # the original is untouched: no copy needed
        raise
    _incremental_vacuum(conn, path)
    log.warning(
        "migrated %s from schema version %d to %d (steps: %s); backup at %s",
        path,
        found,
        p.to_version,
        ", ".join(s.name for s in p.steps),
        p.backup,
    )
    return p


def _incremental_vacuum(conn: sqlite3.Connection, path: str | Path) -> None:
    """Rebuild a store made before auto_vacuum=INCREMENTAL with it, once, so that retention can
    give freed pages back to the disk (a new store has it from the start). Offline, beside the
    backup; if it fails (it needs as much free disk again) the store is migrated all the same
    and retention reuses its freed pages instead."""
    if int(conn.execute("PRAGMA auto_vacuum").fetchone()[0]) == 2:
        return
    try:
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        conn.execute("VACUUM")
    except sqlite3.Error as e:
        log.warning("%s: not rebuilt for incremental vacuum (%s); freed pages are reused, not given back", path, e)


def check_readable(path: str | Path, found: int) -> None:
    """Raise :class:`MigrationNeeded` when a read-only open cannot read this older store."""
    from ..errors import MigrationNeeded

    blocking = [s for s in STEPS if found <= s.from_version < SCHEMA_VERSION and not s.read_compatible]
    if blocking:
        raise MigrationNeeded(
            f"{path} has schema version {found}; this Seamless reads version {SCHEMA_VERSION} and "
            f"cannot read it before step {blocking[0]}: run `seamless migrate --db {path}`"
        )
