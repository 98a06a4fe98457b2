"""A viewer's controls, as rows of the mirror's commands table, applied on the runner's host.

A viewer cannot write the store (one writer per account): :meth:`Commands.submit` inserts the
command with who pressed it (the viewer's user, address, whether through a proxy) and a
``NOTIFY``; the runner's host (the dashboard's service with ``SEAMLESS_MIRROR_TO``) takes the
rows in order with :meth:`Commands.serve` and applies each through a function it is given —
``Service.command`` with that identity, which journals it as that person or refuses it as for
a click on its own page. The result (``done``, ``refused``, ``failed``, ``expired``) is written
back on the row; the state it changed reaches the viewer through the mirror.

At most once: a row is marked ``applying`` (committed) before it is applied, so a runner's
host that dies while applying one never applies it again (it is marked ``unknown`` at the
next start: the journal says whether it happened). A command older than ``expire_s`` when
taken (the runner's host was down) is not applied (``expired``): a flatten pressed an hour
ago is not what anyone wants now.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg

from .copier import RETRYABLE
from .pg import COMMANDS_CHANNEL, connect, redact

log = logging.getLogger("seamless.mirror")

PENDING, APPLYING, DONE, REFUSED, FAILED, EXPIRED, UNKNOWN = (
    "pending",
    "applying",
    "done",
    "refused",
    "failed",
    "expired",
    "unknown",
)
FINAL = frozenset({DONE, REFUSED, FAILED, EXPIRED, UNKNOWN})
_FIELDS = "id, name, args, by_user, remote_ip, forwarded, created_at, status, result"


@dataclass(frozen=True)
class Command:
    """One row of the commands table."""

    id: int
    name: str
    args: dict[str, Any]
    user: str | None
    remote_ip: str
    forwarded: bool
    created_at: float
    status: str
    result: str | None


class Commands:
    """The commands table of the mirror at ``url``."""

    #: What becomes of a command taken on the runner's host (``taken``'s keys, ``/metrics``' labels).
    STATUSES = (DONE, REFUSED, FAILED, EXPIRED, UNKNOWN)

    def __init__(self, url: str, *, expire_s: float = 30.0, interval_s: float = 1.0, retry_s: float = 1.0) -> None:
        self.url, self.expire_s, self.interval_s, self.retry_s = url, expire_s, interval_s, retry_s
        self.applied = 0
        self.taken: Counter[str] = Counter()  # commands taken here, by status
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- a viewer's side -------------------------------------------------------------------------

    def submit(self, name: str, args: dict[str, Any], *, user: str | None, remote_ip: str, forwarded: bool) -> int:
        """Queue command ``name`` for the runner's host; its id."""
        with connect(self.url) as conn:
            row = conn.execute(
                "INSERT INTO seamless_commands (name, args, by_user, remote_ip, forwarded) "
                "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                (name, json.dumps(args), user, remote_ip, forwarded),
            ).fetchone()
            assert row is not None
            conn.execute("SELECT pg_notify(%s, %s)", (COMMANDS_CHANNEL, str(row[0])))
            conn.commit()
        return int(row[0])

    def get(self, command_id: int, conn: psycopg.Connection | None = None) -> Command | None:
        if conn is None:
            with connect(self.url, autocommit=True) as own:
                return self.get(command_id, own)
        row = conn.execute(f"SELECT {_FIELDS} FROM seamless_commands WHERE id = %s", (command_id,)).fetchone()
        return _command(row) if row else None

    def wait(self, command_id: int, timeout_s: float = 30.0, every_s: float = 0.02) -> Command | None:
        """The command once the runner's host has finished with it (None: not within ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        with connect(self.url, autocommit=True) as conn:
            while True:
                cmd = self.get(command_id, conn)
                if cmd is not None and cmd.status in FINAL:
                    return cmd
                if time.monotonic() > deadline:
                    return None
                time.sleep(every_s)

    # -- the runner's host's side ----------------------------------------------------------------

    def serve(self, apply: Callable[[Command], Any]) -> None:
        """Take and apply commands, in order, until :meth:`close`. ``apply(command)`` returns
        the result (shown to the viewer) or raises: ``PermissionError`` (``NotAllowed``) marks the
        row refused, any other error failed, both with the message."""
        while not self._stop.is_set():
            listener: psycopg.Connection | None = None
            try:
                listener = connect(self.url, autocommit=True)
                listener.execute(f"LISTEN {COMMANDS_CHANNEL}")
                with connect(self.url) as conn:
                    self._settle_interrupted(conn)
                    while not self._stop.is_set():
                        while not self._stop.is_set() and self._take_one(conn, apply):
                            pass
                        for _ in listener.notifies(timeout=self.interval_s, stop_after=1):
                            pass
            except RETRYABLE as e:
                log.warning(
                    "viewers' commands at %s cannot be read (%s); retrying every %.1f s",
                    redact(self.url),
                    e,
                    self.retry_s,
                )
                self._stop.wait(self.retry_s)
            finally:
                if listener is not None:
                    listener.close()

    def _settle_interrupted(self, conn: psycopg.Connection) -> None:
        n = conn.execute(
            "UPDATE seamless_commands SET status = %s, done_at = extract(epoch from clock_timestamp()), result = %s "
            "WHERE status = %s",
            (UNKNOWN, "the runner's host stopped while applying it: the journal says whether it happened", APPLYING),
        ).rowcount
        conn.commit()
        self.taken[UNKNOWN] += n
        if n:
            log.warning("%d command(s) were being applied when the runner's host stopped; marked unknown", n)

    def _take_one(self, conn: psycopg.Connection, apply: Callable[[Command], Any]) -> bool:
        row = conn.execute(
            f"UPDATE seamless_commands SET status = %s WHERE id = (SELECT id FROM seamless_commands "
            f"WHERE status = %s ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING {_FIELDS}",
            (APPLYING, PENDING),
        ).fetchone()
        conn.commit()  # at most once: marked before it is applied
        if row is None:
            return False
        cmd = _command(row)
        age = time.time() - cmd.created_at
        if age > self.expire_s:
            status, result = EXPIRED, f"not applied: pressed {age:.0f} s ago, older than {self.expire_s:g} s"
        else:
            try:
                out = apply(cmd)
                status, result = DONE, "" if out is None else str(out)
            except PermissionError as e:
                status, result = REFUSED, str(e)
            except Exception as e:
                status, result = FAILED, f"{type(e).__name__}: {e}"
        conn.execute(
            "UPDATE seamless_commands SET status = %s, result = %s, done_at = extract(epoch from clock_timestamp()) "
            "WHERE id = %s",
            (status, result, cmd.id),
        )
        conn.commit()
        self.applied += 1
        self.taken[status] += 1
        return True

    def start(self, apply: Callable[[Command], Any]) -> Commands:
        """:meth:`serve` on a thread of its own."""
        if self._thread is None:
            self._thread = threading.Thread(target=self.serve, args=(apply,), name="seamless-commands", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)


def _command(row: tuple[Any, ...]) -> Command:
    id_, name, args, user, remote_ip, forwarded, created_at, status, result = row
    return Command(
        int(id_),
        name,
        args if isinstance(args, dict) else json.loads(args),
        user,
        remote_ip,
        bool(forwarded),
        float(created_at),
        status,
        result,
    )
