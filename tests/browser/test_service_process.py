"""`panel serve app.py`: one runner per process however many sessions open, also under
--autoreload; a clean stop on SIGTERM. Sessions are opened by plain HTTP GETs here (Bokeh
creates a session, and runs app.py, for each page request)."""

from __future__ import annotations

import os
import signal
import time
import urllib.request
from pathlib import Path

import pytest

from seamless.analysis import events_frame
from seamless.bench.push import serve
from seamless.replay import replay

REPO = Path(__file__).resolve().parents[2]


def runner_starts(db) -> list[str]:
    df = events_frame(db, topics=["runner.status"])
    return [by for status, by in zip(df["status"], df["by"]) if status == "STARTING"]


def wait_until(condition, timeout_s: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)  # another process's journal: nothing to await
    return value


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as r:
        assert r.status == 200
        return r.read().decode()


@pytest.fixture
def served_with(tmp_path):
    started = []

    def start(*extra_args: str, **env: str):
        s = serve(
            REPO / "app.py", tmp_path / f"s{len(started)}", env={"SEAMLESS_SPEED": "0.1", **env}, extra_args=extra_args
        )
        started.append(s)
        return s

    yield start
    for s in started:
        s.close()


def test_one_runner_however_many_sessions_and_under_autoreload(served_with, tmp_path):
    s = served_with("--autoreload")
    wait_until(lambda: runner_starts(s.db), what="the runner to start")
    for _ in range(3):
        assert "Seamless" in get(s.url)
    # A source change makes --autoreload re-import the app's modules: still the same runner.
    service_py = REPO / "seamless" / "service" / "service.py"
    os.utime(service_py)
    os.utime(REPO / "app.py")
    for _ in range(2):
        assert "Seamless" in get(s.url)
    assert s.alive()
    assert runner_starts(s.db) == ["server start"], "exactly one runner started in this process"
    assert "StoreLocked" not in s.stderr_text(), "a second store was opened on the file"


def test_sigterm_closes_the_store_cleanly(served_with):
    s = served_with()
    wait_until(lambda: replay(s.db).values["runner"]["status"] == "RUNNING", what="RUNNING")
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(30) == 0, s.stderr_text()[-3000:]
    final = replay(s.db)
    assert final.values["runner"]["status"] == "STOPPED"
    assert runner_starts(s.db) == ["server start"]
