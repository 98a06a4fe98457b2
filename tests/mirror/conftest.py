"""Fixtures for the mirror's tests: a real PostgreSQL (Debian's), started in a temp dir.

- ``postgres``: one server for the module; each test makes its own database (``database(name)``);
- ``own_postgres``: a server of the test's own, to kill and start again;
- ``poll``: the endpoints' tests' (tests/ops/conftest.py), re-exported;
- ``rows_of(url)``, ``sqlite_rows(db)``: every journal row, in seq order, from either side.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from seamless.bench.pg import Postgres
from seamless.mirror.pg import COLUMNS
from seamless.persist import journal

from ..ops.conftest import poll

__all__ = ["poll"]


def _server() -> Postgres:
    try:
        return Postgres().start()
    except RuntimeError as e:  # not installed: fail saying how (the Makefile installs it as root)
        pytest.fail(f"PostgreSQL: {e}")


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    server = _server()
    yield server
    server.close()


@pytest.fixture
def own_postgres() -> Iterator[Postgres]:
    server = _server()
    yield server
    server.close()


def rows_of(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT {COLUMNS} FROM seamless_journal ORDER BY seq").fetchall()


def max_seq(url: str) -> int:
    with psycopg.connect(url, connect_timeout=2) as conn:
        row = conn.execute("SELECT coalesce(max(seq), 0) FROM seamless_journal").fetchone()
        return int(row[0]) if row else 0


def sqlite_rows(db: str | Path) -> list[tuple]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(journal.SELECT + " ORDER BY seq").fetchall()
    finally:
        conn.close()
