"""Fixtures for the mirror's tests: a real PostgreSQL (Debian's), started in a temp dir.

- ``postgres``: one server for the module; each test makes its own database (``database(name)``);
- ``own_postgres``: a server of the test's own, to kill and start again;
- ``poll(what, fn, timeout_s)``: ``fn()`` once truthy, or fail naming ``what``;
- ``runner_host``: the dashboard's service with ``SEAMLESS_MIRROR_TO`` (its runner, its mirror,
  the viewers' commands) on a database of ``postgres``; ``(service, url)``;
- ``rows_of(url)``, ``sqlite_rows(db)``: every journal row, in seq order, from either side;
- ``promtool``: Debian's, or the test fails saying how to install it.
"""

from __future__ import annotations

import itertools
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest

from seamless.bench.pg import Postgres
from seamless.config import Config, env_name
from seamless.mirror.pg import COLUMNS
from seamless.persist import journal
from seamless.service import Service

T = TypeVar("T")


def poll(what: str, fn: Callable[[], T], timeout_s: float = 20.0, every_s: float = 0.02) -> T:
    """``fn()`` once it is truthy; fails naming ``what`` and the last value after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(every_s)
    raise AssertionError(f"{what}: not within {timeout_s:.0f} s; last: {last!r}")


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


_HOSTS = itertools.count()


@pytest.fixture
def runner_host(postgres, tmp_path):
    """The dashboard's service with ``SEAMLESS_MIRROR_TO``: its runner, its mirror, the commands."""
    url = postgres.database(f"host{next(_HOSTS)}")  # one database per test: a module shares the server
    environ = {env_name("db"): str(tmp_path / "acct.db"), env_name("mirror_to"): url, env_name("reconcile"): "0"}
    service = Service(Config.load(environ=environ))
    service.start_runner(by="test")
    yield service, url
    service.close()


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


@pytest.fixture(scope="session")
def promtool() -> str:
    found = shutil.which("promtool")
    assert found, "promtool is missing: `apt-get install prometheus` (make test does it as root)"
    return found
