"""``seamless bench mirror``: the PostgreSQL mirror and a viewer on it, at the runner's full rate.

A throw-away PostgreSQL (:class:`~seamless.bench.pg.Postgres`); the runner's host, ``panel serve
app.py`` with ``SEAMLESS_MIRROR_TO`` (the simulated feed at ~1,000 ticks/s, the strategy, and
one trade a second at the paper broker for a steady stream of fills); a viewer, ``panel serve
app.py`` with ``SEAMLESS_SOURCE`` and no store; one headless Chromium tab on the viewer, noting
each toast's time in its DOM (as ``seamless bench push`` does). Once the tab is live, for
``duration_s``:

- ``mirror_lag_p50_ms``, ``mirror_lag_p99_ms``: every journal row committed meanwhile, from its
  commit (``ts``) to its insert in PostgreSQL (``mirrored_at``, PostgreSQL's clock: the same
  machine); ``mirror_rows`` and ``mirror_rows_per_s``;
- ``viewer_toast_p50_ms``, ``viewer_toast_p99_ms``: each critical event the dashboard toasts,
  from its commit on the runner's host to its toast in the viewer's tab; ``viewer_events`` and
  ``viewer_missed`` (events with no toast after a grace).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import print_figures
from .pg import Postgres
from .push import (
    PUSHED_JS,
    TOAST_OBSERVER_JS,
    JournalFollower,
    TradeDriver,
    _pct,
    alert_topics,
    launch_browser,
    serve,
    start_tab,
    toast_times,
    wait_live,
)


def _say(msg: str) -> None:
    print(f"[bench mirror] {msg}", file=sys.stderr, flush=True)


def run(duration_s: float = 60.0, directory: str | None = None, grace_s: float = 30.0) -> dict[str, Any]:
    import psycopg

    from ..brokers.paper import default_broker_db

    work = Path(tempfile.mkdtemp(prefix="seamless-bench-mirror-", dir=directory))
    pg = Postgres(directory).start()
    pw = browser = host = viewer = follower = None
    try:
        url = pg.database("bench")
        host = serve(
            work=work / "host",
            env={"SEAMLESS_MIRROR_TO": url, "SEAMLESS_SPEED": "1.0", "SEAMLESS_SIM_TICKS_PER_S": "1000"},
            timeout_s=120,
        )
        viewer = serve(work=work / "viewer", env={"SEAMLESS_SOURCE": url}, timeout_s=120)
        pw, browser = launch_browser()
        page = start_tab(browser, viewer.url, timeout_s=120.0, init_script=TOAST_OBSERVER_JS)
        wait_live(page, 120.0)
        page.wait_for_function(PUSHED_JS, timeout=120e3, polling=100)
        follower = JournalFollower(host.db, alert_topics())
        driver = TradeDriver(Path(default_broker_db(str(host.db)))).start()
        t_live = time.time()
        _say(f"viewer tab live; measuring for {duration_s:.0f} s")
        while time.time() - t_live < duration_s:
            time.sleep(1.0)
            follower.poll()
        driver.stop()
        t_cut = time.time()
        expected = {seq: ts for seq, ts in follower.poll() if t_live <= ts <= t_cut}
        seqs = sorted(expected)
        times = toast_times(page, seqs, grace_s)
        toast = [t - expected[s] * 1e3 for s, t in zip(seqs, times) if t is not None]
        with psycopg.connect(url) as conn:
            lags = [
                (m - ts) * 1e3
                for ts, m in conn.execute(
                    "SELECT ts, mirrored_at FROM seamless_journal WHERE ts >= %s AND ts <= %s", (t_live, t_cut)
                ).fetchall()
            ]
        r3 = lambda x: None if x is None else round(x, 3)  # noqa: E731
        return {
            "mirror_lag_p50_ms": r3(_pct(lags, 0.5)),
            "mirror_lag_p99_ms": r3(_pct(lags, 0.99)),
            "mirror_rows": len(lags),
            "mirror_rows_per_s": round(len(lags) / max(1e-9, t_cut - t_live), 1),
            "viewer_toast_p50_ms": r3(_pct(toast, 0.5)),
            "viewer_toast_p99_ms": r3(_pct(toast, 0.99)),
            "viewer_events": len(seqs),
            "viewer_missed": len(seqs) - len(toast),
            "run_s": round(t_cut - t_live, 1),
        }
    finally:
        if follower is not None:
            follower.close()
        if browser is not None:
            browser.close()
        if pw is not None:
            pw.stop()
        for served in (viewer, host):
            if served is not None:
                served.close()
        pg.close()
        shutil.rmtree(work, ignore_errors=True)


def main(as_json: bool = False, duration_s: float = 60.0, directory: str | None = None) -> int:
    return print_figures(run(duration_s, directory), as_json)
