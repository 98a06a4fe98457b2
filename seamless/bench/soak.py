"""``seamless bench soak``: the dashboard server left running with faults injected, probed
like a monitor would.

A real ``panel serve app.py`` (the runner, the paper broker, the simulated feed at its real
pace) runs for ``minutes``; ``/healthz`` and ``/readyz`` are probed once a second from this
process. Faults, in this order over the run:

- **feed gaps**: the simulated feed goes quiet for ``gap_s`` seconds every ``gap_every_s``
  (``SEAMLESS_SIM_GAP_*``): ``/readyz`` must say the feed is stale;
- **a broker outage**: every call to the paper broker fails as disconnected for a while;
- **a kill -9** of the server, then a restart on the same store;
- **a full disk**: the store compacted (no free page inside it), then a restart with it capped
  at its size (``SEAMLESS_STORE_MAX_MB``), until ``/readyz`` says the store cannot be written
  (``disk_full_named_after_s``), then a kill -9 and a restart without the cap.

Out-of-band trades at the paper broker, one every second, give a steady stream of critical
events (fills the runner journals). Before each kill the journal's critical rows are read
(read-only); after the restart every one of them must still be there with the same checksum
(``acknowledged_lost``), and after each clean restart the runner's start-up reconciliation
must leave no mismatch (``restarts_store_equals_broker``).

Figures: ``healthz_availability`` (the share of probes answered 200 by ``/healthz``, outside
the restarts: from each kill until the new server answers), ``readyz_right`` (the share of
``/readyz`` answers that were right about the fault in force: 503 naming it while it lasts,
200 when none is; answers within ``grace_s`` of a fault's start or end are not judged),
``ready_after_restart_s`` (each clean restart: process start -> ``/readyz`` 200; its max),
``acknowledged_lost`` (must be 0), ``restarts``, ``restarts_store_equals_broker``,
``faults_named`` (each injected fault: did ``/readyz`` name its check while it lasted),
``feed_gaps_seen`` (episodes of ``/readyz`` naming the feed), ``readyz_wrong`` (the first
answers judged wrong, for a look), ``probes``. Targets: availability >= 0.999, time to ready < 5 s, nothing lost.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import sqlite3
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import print_figures
from .push import HOST, REPO, Served, TradeDriver, serve

#: Which readiness check each fault must fail (by the name /readyz gives it).
FAULT_CHECKS = {"feed_gap": "feed", "broker_outage": "broker", "disk_full": "store"}


@dataclass
class Probe:
    t: float
    healthz: int  # HTTP status, 0 when there was no answer
    readyz: int
    failing: tuple[str, ...]  # names of the readiness checks that failed


@dataclass
class Soak:
    """The run's record: probes, fault windows, restarts."""

    probes: list[Probe] = field(default_factory=list)
    faults: list[tuple[str, float, float]] = field(default_factory=list)  # (kind, start, end)
    down: list[tuple[float, float]] = field(default_factory=list)  # kill -> the new server answers
    ready_after_restart_s: list[float] = field(default_factory=list)
    lost: int = 0
    restarts_ok: int = 0
    full_named_after_s: float | None = None  # the capped start -> /readyz names the store (None: never)


def _get(port: int, path: str, timeout_s: float = 1.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout_s)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    except OSError:
        return 0, b""
    finally:
        conn.close()


def failing_checks(body: bytes) -> tuple[str, ...]:
    """The ids of the checks a /readyz answer says are not ok."""
    try:
        doc = json.loads(body)
    except ValueError:
        return ()
    return tuple(str(c.get("check")) for c in doc.get("checks", ()) if c.get("status") != "ok")


class Prober(threading.Thread):
    """Probes /healthz and /readyz once a second on whatever port the server has now."""

    def __init__(self, soak: Soak) -> None:
        super().__init__(name="soak-prober", daemon=True)
        self.soak, self.port = soak, 0
        self._done = threading.Event()

    def run(self) -> None:
        next_t = time.monotonic()
        while not self._done.is_set():
            t = time.time()
            health, _ = _get(self.port, "/healthz")
            ready, body = _get(self.port, "/readyz")
            self.soak.probes.append(Probe(t, health, ready, failing_checks(body) if ready else ()))
            next_t += 1.0
            self._done.wait(max(0.0, next_t - time.monotonic()))

    def stop(self) -> None:
        self._done.set()
        self.join(5)


def critical_rows(db: Path) -> dict[int, int]:
    """seq -> checksum of every critical event in the journal (read-only)."""
    from ..events import REGISTRY

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        rows = conn.execute("SELECT seq, type, checksum FROM journal").fetchall()
    finally:
        conn.close()
    return {seq: checksum for seq, type_, checksum in rows if getattr(REGISTRY.get(type_), "critical", True)}


def startup_reconciled(db: Path, after_seq: int, timeout_s: float) -> bool:
    """The first reconciliation journaled after ``after_seq`` left no mismatch."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
        try:
            row = conn.execute(
                "SELECT payload FROM journal WHERE seq > ? AND topic = 'reconcile.completed' ORDER BY seq LIMIT 1",
                (after_seq,),
            ).fetchone()
        finally:
            conn.close()
        if row is not None:
            return bool(json.loads(row[0]).get("ok"))
        time.sleep(0.2)
    return False


def wait_ready(port: int, timeout_s: float) -> float | None:
    """Seconds until /readyz answers 200, or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if _get(port, "/readyz")[0] == 200:
            return time.monotonic() - t0
        time.sleep(0.05)
    return None


def run(
    minutes: float = 30.0,
    directory: str | None = None,
    gap_every_s: float = 60.0,
    gap_s: float = 8.0,
    grace_s: float = 6.0,
) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="seamless-bench-soak-", dir=directory))
    total_s = minutes * 60.0
    env = {
        "SEAMLESS_SIM_GAP_EVERY_S": str(gap_every_s),
        "SEAMLESS_SIM_GAP_S": str(gap_s),
        # Within the judging grace: the first run after a broker outage clears its failure.
        "SEAMLESS_RECONCILE_INTERVAL": str(max(1.0, grace_s - 1.0)),
        # The strategy on every tick: orders and fills all along, through every fault (the
        # demo's one-minute bars trade a few times an hour).
        "SEAMLESS_BAR_SECONDS": "0",
        "SEAMLESS_SIM_TICKS_PER_S": "1000",
        # A gap must read as a stale feed: the threshold well inside the gap.
        "SEAMLESS_READY_FEED_STALE_S": str(max(1.0, gap_s / 3)),
    }
    soak = Soak()
    prober = Prober(soak)
    db = work / "store.db"
    served: Served | None = None
    driver: TradeDriver | None = None

    def start(extra: dict[str, str] | None = None, *, ready: bool = True) -> Served:
        """Serve; ``ready``: wait for /readyz 200 and count the time (a clean restart)."""
        nonlocal served
        t0 = time.monotonic()
        served = serve(REPO / "app.py", work, env={**env, **(extra or {})}, cwd=REPO, timeout_s=120.0)
        prober.port = served.port
        if soak.down and soak.down[-1][1] == 0.0:
            soak.down[-1] = (soak.down[-1][0], time.time())
        if ready and wait_ready(served.port, 60.0) is not None:
            soak.ready_after_restart_s.append(time.monotonic() - t0)
        return served

    def kill() -> int:
        """kill -9 the server; returns the last journaled seq it had made durable."""
        assert served is not None
        before = critical_rows(db)
        soak.down.append((time.time(), 0.0))
        os.killpg(served.proc.pid, signal.SIGKILL)
        served.proc.wait(30)
        served.close()
        kill.before = before  # type: ignore[attr-defined]
        return max(before, default=0)

    def check_restart(last_seq: int, *, reconciled: bool = True) -> None:
        """Nothing acknowledged before the kill is lost; ``reconciled``: and the start-up
        reconciliation left no mismatch (a store that cannot be written journals none)."""
        before: dict[int, int] = kill.before  # type: ignore[attr-defined]
        after = critical_rows(db)
        soak.lost += sum(1 for seq, checksum in before.items() if after.get(seq) != checksum)
        if reconciled:
            soak.restarts_ok += startup_reconciled(db, last_seq, 60.0)

    try:
        start()
        soak.ready_after_restart_s.clear()  # the first start is not a restart
        prober.start()
        t_start = time.time()
        from ..brokers.paper import default_broker_db

        broker_db = Path(default_broker_db(str(db)))
        driver = TradeDriver(broker_db).start()

        def at(fraction: float) -> None:
            wait = t_start + fraction * total_s - time.time()
            if wait > 0:
                time.sleep(wait)

        # Broker outage: every call the runner makes to the venue fails for outage_s.
        at(0.15)
        from ..brokers import PaperBroker

        outage_s = max(10.0, 0.05 * total_s)
        outage_start = time.time()  # opening the broker's file may wait on the server's writes
        with PaperBroker(broker_db) as broker:
            broker.outage(outage_s)
        soak.faults.append(("broker_outage", outage_start, outage_start + outage_s))

        # kill -9 and restart.
        at(0.45)
        driver.stop()
        last = kill()
        start()
        check_restart(last)
        driver = TradeDriver(broker_db).start()

        # A full disk: restart with the store capped just above its size, until /readyz says so.
        at(0.65)
        driver.stop()
        last = kill()
        # No room to grow (a cap below its size keeps it at its size), and none inside: the file
        # compacted first, so the server's first write that needs a page fails, as on a full
        # disk (free pages inside it would take the writes for a while, longer on a slow run).
        conn = sqlite3.connect(db)
        conn.execute("VACUUM")
        conn.close()
        full_start = time.time()  # (it may be named before check_restart returns)
        start({"SEAMLESS_STORE_MAX_MB": "0.001"}, ready=False)
        check_restart(last, reconciled=False)
        deadline = time.time() + max(20.0, 0.1 * total_s)
        while time.time() < deadline:
            if soak.probes and "store" in soak.probes[-1].failing:
                soak.full_named_after_s = time.time() - full_start
                break
            time.sleep(0.2)
        soak.faults.append(("disk_full", full_start, time.time() + 1.0))
        last = kill()
        start()
        check_restart(last)
        driver = TradeDriver(broker_db).start()

        at(1.0)
    finally:
        prober.stop()
        if driver is not None:
            driver.stop()
        if served is not None:
            served.close()
        shutil.rmtree(work, ignore_errors=True)
    return figures(soak, grace_s=grace_s, gap_check=FAULT_CHECKS["feed_gap"])


def figures(soak: Soak, grace_s: float, gap_check: str) -> dict[str, Any]:
    """The figures of a run: see the module's docstring. Feed gaps come with the feed's own
    clock, so /readyz naming the feed is never judged wrong; the gaps are counted instead
    (``feed_gaps_seen``, one per episode of probes naming it)."""

    def down(t: float) -> bool:
        return any(a <= t <= (b or float("inf")) for a, b in soak.down)

    def near_edge(t: float) -> bool:
        edges = [x for _, a, b in soak.faults for x in (a, b)]
        return any(abs(t - x) < grace_s for x in edges) or any(a - grace_s <= t <= b + grace_s for a, b in soak.down)

    up = [p for p in soak.probes if not down(p.t)]
    judged = right = 0
    wrong: list[str] = []
    for p in soak.probes:
        if down(p.t) or near_edge(p.t):
            continue
        in_force = {FAULT_CHECKS[k] for k, a, b in soak.faults if a <= p.t <= b}
        failing = set(p.failing)
        judged += 1
        if in_force:
            ok = p.readyz == 503 and in_force <= failing
        else:
            ok = (p.readyz == 200 and not failing) or (p.readyz == 503 and failing == {gap_check})
        right += ok
        if not ok:
            t0 = soak.probes[0].t
            wrong.append(f"+{p.t - t0:.0f}s {p.readyz} failing {sorted(failing)} expected {sorted(in_force)}")
    ready = soak.ready_after_restart_s
    return {
        "healthz_availability": round(sum(p.healthz == 200 for p in up) / len(up), 5) if up else None,
        "readyz_right": round(right / judged, 4) if judged else None,
        "readyz_judged": judged,
        "readyz_wrong": wrong[:8],
        "ready_after_restart_s": [round(x, 2) for x in ready],
        "ready_after_restart_max_s": round(max(ready), 2) if ready else None,
        "acknowledged_lost": soak.lost,
        "restarts": len(soak.down),
        "restarts_store_equals_broker": soak.restarts_ok,
        "faults_named": {
            kind: any(FAULT_CHECKS[kind] in p.failing for p in soak.probes if a <= p.t <= b + grace_s)
            for kind, a, b in soak.faults
        },
        "disk_full_named_after_s": None if soak.full_named_after_s is None else round(soak.full_named_after_s, 2),
        "feed_gaps_seen": _episodes([gap_check in p.failing for p in soak.probes]),
        "probes": len(soak.probes),
    }


def _episodes(flags: list[bool]) -> int:
    return sum(1 for a, b in zip([False, *flags], flags) if b and not a)


def main(minutes: float = 30.0, as_json: bool = False, directory: str | None = None) -> int:
    res = run(minutes=minutes, directory=directory, gap_every_s=max(20.0, min(60.0, minutes * 10.0)))
    return print_figures(res, as_json)
