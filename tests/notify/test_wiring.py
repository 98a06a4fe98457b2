"""Both places that run a runner notify: ``seamless run`` (a real process) and the dashboard's
``Service``; neither builds a notifier without a URL."""

from __future__ import annotations

import os

from seamless import wiring
from seamless.config import Config
from seamless.events import TradingState, TradingStateChanged
from seamless.service.service import Service


def test_no_urls_no_notifier(store):
    assert wiring.make_notifier(Config.load({}, []), store) is None


def test_seamless_run_notifies_and_prints_the_figures(tmp_path, receiver, seamless_run):
    # A loss limit of one cent: the first losing mark breaches it, trading HALTS.
    env = {
        **os.environ,
        "SEAMLESS_DB": str(tmp_path / "run.db"),
        "SEAMLESS_SPEED": "0",
        "SEAMLESS_MAX_TICKS": "3000",
        "SEAMLESS_SYMBOLS": "AAPL",
        "SEAMLESS_DAILY_LOSS_LIMIT": "0.01",
        "SEAMLESS_NOTIFY_URLS": receiver.url("/run", auth="ops:tok3n-S3CR3T"),
        "SEAMLESS_NOTIFY_EVENTS": "breach,trading",
    }
    proc = seamless_run("run", env=env)
    assert proc.returncode == 0, proc.stderr
    titles = [m["title"] for m in receiver.received]
    assert "Daily loss limit breached: trading HALTED" in "\n".join(titles), (titles, proc.stdout)
    line = proc.stdout.splitlines()[-1]
    assert line.startswith("notifications: sent ") and ", failed 0," in line, proc.stdout
    assert "S3CR3T" not in proc.stdout + proc.stderr


def test_the_dashboard_service_notifies_from_start_to_close(tmp_path, receiver):
    env = {
        "SEAMLESS_DB": str(tmp_path / "svc.db"),
        "SEAMLESS_NOTIFY_URLS": receiver.url("/svc"),
        "SEAMLESS_AUTOSTART": "0",
    }
    service = Service(Config.load(env, []))
    try:
        assert service.notifier is not None
        service.store.commit(TradingStateChanged(state=TradingState.HALTED, reason="by hand", by="alice"))
        assert receiver.wait_for(1)[0]["title"] == "Trading HALTED"
    finally:
        service.close()
    assert service.notifier._thread is not None and not service.notifier._thread.is_alive()
