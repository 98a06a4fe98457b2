"""Real browser tests: the real Panel server (`panel serve app.py`) on a free port, driven by
Debian's headless Chromium through Playwright.

Fixtures:
- ``free_port``: a TCP port nobody listens on;
- ``dashboard``: a factory, ``dashboard(**env) -> Served``, serving app.py with its own store
  in a temp dir (``SEAMLESS_DB``); stopped with SIGTERM (SIGKILL after a timeout) at teardown,
  its stderr shown when the test failed;
- ``browser`` (tests/conftest.py): one headless Chromium per session;
- ``open_tab(browser, url)``: a page in a fresh context, returned once Panel is live.

The serving and browser helpers live in ``seamless.bench.push`` (the push benchmark drives
the same server and browser); these fixtures only add pytest's life cycle around them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from seamless.bench.push import Served, serve
from seamless.bench.push import free_port as _free_port
from seamless.bench.push import open_tab as _open_tab

REPO = Path(__file__).resolve().parents[2]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so fixtures can tell a failed test at teardown."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture
def free_port() -> int:
    return _free_port()


@pytest.fixture
def dashboard(request, tmp_path):
    """``dashboard(**env)`` serves app.py (env overrides, e.g. SEAMLESS_SPEED="0.1") and
    returns a ``Served`` (``.url``, ``.port``, ``.db``, ``.proc``, ``.stderr_text()``)."""
    started: list[Served] = []

    def start(app: str | os.PathLike = REPO / "app.py", timeout_s: float = 60.0, **env: str) -> Served:
        work = tmp_path / f"server{len(started)}"
        work.mkdir()
        served = serve(app, work, env={k: str(v) for k, v in env.items()}, cwd=REPO, timeout_s=timeout_s)
        started.append(served)
        return served

    yield start

    failed = any(getattr(getattr(request.node, f"rep_{w}", None), "failed", False) for w in ("setup", "call"))
    for served in started:
        served.stop()
        if failed:
            # Shown in pytest's report as captured output of the teardown.
            print(
                f"\n--- panel serve (port {served.port}) exited {served.proc.returncode}; stderr ---\n"
                f"{served.stderr_text()[-20_000:]}"
            )
        served.close()


def open_tab(browser, url: str, timeout_s: float = 30.0):
    """A page in a new context (its own cookies and storage), once Panel is live on it.
    Close it with ``page.context.close()``."""
    return _open_tab(browser, url, timeout_s=timeout_s)


@pytest.fixture
def tabs(browser):
    """``tabs(url)`` opens a tab (see ``open_tab``); every tab opened is closed at teardown."""
    opened = []

    def open_one(url: str, timeout_s: float = 30.0):
        page = open_tab(browser, url, timeout_s=timeout_s)
        opened.append(page)
        return page

    yield open_one
    for page in opened:
        try:
            page.context.close()
        except Exception:  # the browser may be gone already; nothing left to free
            pass
