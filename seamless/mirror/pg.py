"""The mirror's tables in PostgreSQL, and connecting to it.

One database (or schema, by the URL's ``options=-csearch_path=...``) per account. The journal's
columns are the SQLite journal's, with the same checksum: a reader checks every row as the
store does.
"""

from __future__ import annotations

import re

import psycopg

#: Channels: a new batch of journal rows (payload: its last seq); a new command (its id).
JOURNAL_CHANNEL = "seamless_journal"
COMMANDS_CHANNEL = "seamless_commands"
#: ``pg_advisory_lock`` key held by the one mirror writing a database ("seamless" in ASCII).
MIRROR_LOCK = 0x7365616D6C657373

DDL = """
CREATE TABLE IF NOT EXISTS seamless_journal (
    seq bigint PRIMARY KEY,
    topic text NOT NULL,
    type text NOT NULL,
    version integer NOT NULL,
    ts double precision NOT NULL,
    exchange_ts double precision,
    payload text NOT NULL,
    checksum bigint NOT NULL,
    mirrored_at double precision NOT NULL DEFAULT extract(epoch from clock_timestamp())
);
CREATE TABLE IF NOT EXISTS seamless_snapshots (
    seq bigint PRIMARY KEY,
    schema_version integer NOT NULL,
    created_at double precision NOT NULL,
    payload text NOT NULL,
    checksum text NOT NULL
);
CREATE TABLE IF NOT EXISTS seamless_commands (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    args jsonb NOT NULL,
    by_user text,
    remote_ip text NOT NULL,
    forwarded boolean NOT NULL,
    created_at double precision NOT NULL DEFAULT extract(epoch from clock_timestamp()),
    status text NOT NULL DEFAULT 'pending',
    result text,
    done_at double precision
);
CREATE INDEX IF NOT EXISTS seamless_commands_pending ON seamless_commands (id) WHERE status = 'pending';
"""

COLUMNS = "seq, topic, type, version, ts, exchange_ts, payload, checksum"

_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@|(password=)\S+")


def redact(url: str) -> str:
    """``url`` without its password (for messages and logs)."""
    return _PASSWORD.sub(lambda m: (m.group(1) or m.group(2)) + "***" + ("@" if m.group(1) else ""), url)


def connect(url: str, *, autocommit: bool = False, timeout_s: float = 5.0) -> psycopg.Connection:
    """A connection to the mirror's database, its tables made if new."""
    conn = psycopg.connect(url, autocommit=True, connect_timeout=max(1, int(timeout_s)))
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIRROR_LOCK - 1,))  # two makers of the tables at once
            conn.execute(DDL)
        conn.autocommit = autocommit
    except BaseException:
        conn.close()
        raise
    return conn
