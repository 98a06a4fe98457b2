"""Fixtures shared by the tests of every package.

- ``seamless_cmd``: the installed ``seamless`` console script, as a command list;
- ``seamless_run(*args, **kw)``: run it to the end (output captured as text, 120 s timeout);
- ``db_path``: ``acct.db`` in the test's temp dir (not created);
- ``store``: a :class:`~seamless.store.Store` on ``db_path``, closed at teardown;
- ``open_account(db=None, ...)``: a store and its paper broker beside it, opened as the
  application opens them (``seamless.wiring``), closed at teardown unless the test closed them;
- ``browser``: one headless Chromium (Debian's) for the whole run, shared by every folder's
  browser tests (Playwright's sync API allows one at a time in a process).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# The suite's servers and `seamless run`s trade ma_cross on every tick (orders and fills within
# seconds), as they did before the demo moved to one-minute bars; tests/engine/test_demo.py
# holds the demo itself. A test may still set SEAMLESS_BAR_SECONDS for its own process.
os.environ.setdefault("SEAMLESS_BAR_SECONDS", "0")
# ... and on the simulated feed's pace of before as well: 1,000 ticks a second, not the demo's 100.
os.environ.setdefault("SEAMLESS_SIM_TICKS_PER_S", "1000")

from seamless import wiring
from seamless.brokers import PaperBroker
from seamless.config import Config
from seamless.engine.risk import RiskLimits
from seamless.engine.runner import Runner
from seamless.engine.strategies import MovingAverageCrossover
from seamless.feeds import Feed
from seamless.store import Store


@pytest.fixture
def seamless_cmd() -> list[str]:
    """The installed `seamless` console script (the one `make test` installed)."""
    script = Path(sys.executable).parent / "seamless"
    assert script.exists(), f"console script missing at {script}; run `make test` to install"
    return [str(script)]


@pytest.fixture
def seamless_run(seamless_cmd) -> Callable[..., subprocess.CompletedProcess]:
    """``seamless_run(*args, **kw)``: ``seamless ARGS`` as a real process, run to the end; its
    output captured as text. ``kw`` goes to :func:`subprocess.run` (``env=``, ``timeout=``)."""

    def run(*args: str, **kw: Any) -> subprocess.CompletedProcess:
        return subprocess.run([*seamless_cmd, *args], **{"capture_output": True, "text": True, "timeout": 120, **kw})

    return run


@pytest.fixture
def db_path(tmp_path) -> Path:
    """The store's file in the test's temp dir (not created)."""
    return tmp_path / "acct.db"


@pytest.fixture
def store(db_path):
    """A new store on ``db_path``, with the default options; closed at teardown."""
    s = Store(db_path)
    yield s
    s.close()


class OpenAccount:
    """A store and its paper broker beside it (``acct.db`` -> ``acct.broker.db``).

    ``close()`` closes the broker, then the store (which flushes and writes a snapshot), as
    :class:`seamless.wiring.Trading` does; closing twice is harmless. A context manager too.
    """

    def __init__(self, config: Config, store: Store, broker: PaperBroker) -> None:
        self.config = config
        self.db = Path(config.db)
        self.broker_db = Path(config.broker_path)
        self.store = store
        self.broker = broker

    def runner(self, feed: Feed, limits: RiskLimits | None = None, **kw: Any) -> Runner:
        """The tests' runner on this account: one ``MovingAverageCrossover(fast=5, slow=20)``,
        flat out (``speed=0``); ``limits`` and ``kw`` (``stop_loss_pct=``, ``resolve_every_s=``,
        ``reconcile=``, ``clock=`` ...) as :class:`~seamless.engine.runner.Runner` takes them.

        Built directly, not by ``wiring.make_runner``: the tests set what no setting does (a
        feed of their own, the resolve interval, the clock, every risk limit)."""
        return Runner(self.store, self.broker, feed, [MovingAverageCrossover(fast=5, slow=20)], limits, speed=0, **kw)

    def close(self) -> None:
        try:
            self.broker.close()
        finally:
            self.store.close()

    def __enter__(self) -> OpenAccount:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture
def open_account(tmp_path) -> Callable[..., OpenAccount]:
    """``open_account(db=None, broker=None, **broker_kw) -> OpenAccount``: the store at ``db``
    (default ``acct.db`` in the test's temp dir) and its paper broker beside it, opened by
    ``seamless.wiring`` from a ``Config(db=...)``. ``broker``: another PaperBroker class (a
    test double); ``broker_kw``: the broker's options (``partial_fills=True`` ...). Whatever
    the test left open is closed at teardown."""
    opened: list[OpenAccount] = []

    def open_(db: str | Path | None = None, broker: type[PaperBroker] | None = None, **broker_kw: Any) -> OpenAccount:
        config = Config(db=str(tmp_path / "acct.db" if db is None else db))
        store = wiring.open_store(config)
        try:
            if broker is None and not broker_kw:
                paper = wiring.open_broker(config)
            else:
                paper = (broker or PaperBroker)(config.broker_path, **broker_kw)
        except BaseException:
            store.close()
            raise
        opened.append(OpenAccount(config, store, paper))
        return opened[-1]

    yield open_
    for account in reversed(opened):
        account.close()


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session. No browser is a failure, not a skip: `make test`
    installs Debian's chromium when run as root."""
    from seamless.bench.push import CHROMIUM, launch_browser

    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium; "
            f"`make test` does it when run as root)",
            pytrace=False,
        )
    pw, chromium = launch_browser()
    try:
        yield chromium
    finally:
        try:
            chromium.close()
        finally:
            pw.stop()
