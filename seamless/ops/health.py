"""Readiness: whether this process is fit to trade, one check per line of :data:`CHECKS`.

Each check is a name and a function of what the process holds (:class:`Probe`) returning
``(ok, reason, value)``: ``/readyz`` answers 200 only when every check is ok, and lists each
one with its status and reason; ``/metrics`` exports each as ``seamless_check_ok{check=...}``.
A viewer (``SEAMLESS_SOURCE``: no store, no runner of its own) has its own checks,
:data:`VIEWER_CHECKS`: the mirror reachable, the state restored, the mirror fresh.
The thresholds are settings (``ready_*``, see :class:`~seamless.config.Config`). Every check
reads what is already in memory (the store's state and counters) or asks the OS one
question (the disk): a readiness probe costs well under a millisecond.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from ..config import Config
from ..events import RunnerStatus, TradingState
from ..store import Store, WriterHealth

if TYPE_CHECKING:
    from ..engine.runner import Runner
    from ..notify.notifier import Notifier
    from ..push import Hub
    from .metrics import Metrics

OK, FAILED, UNKNOWN = "ok", "failed", "unknown"
MIB = 1024 * 1024


class Subject(Protocol):
    """What the endpoints look at: the dashboard's ``Service``, or ``seamless run``'s
    :class:`Target`."""

    @property
    def config(self) -> Config: ...

    @property
    def store(self) -> Store: ...

    @property
    def runner(self) -> Runner | None: ...

    @property
    def hub(self) -> Hub | None: ...


@dataclass
class Target:
    """A :class:`Subject` made of parts: ``seamless run``'s store and runner (no hub)."""

    config: Config
    store: Store
    runner: Runner | None = None
    hub: Hub | None = None
    notifier: Notifier | None = None
    mirror: Any = None  # a seamless.mirror.Mirror beside the runner (--mirror-to): its figures in /metrics


@dataclass(frozen=True)
class Source:
    """What the endpoints serve at one moment: a subject and its metrics, or why there is none.

    ``error``: why Seamless could not start (a setting, the store, the feed), as the
    dashboard's banner says it; neither ``subject`` nor ``error``: not started yet."""

    subject: Subject | None = None
    metrics: Metrics | None = None
    error: str | None = None
    checks: tuple[Check, ...] | None = None  # None: CHECKS, a process that holds the store


@dataclass(frozen=True)
class Probe:
    """What every check reads, gathered once per request."""

    subject: Subject
    config: Config
    now: float  # wall clock, epoch seconds (the state's times are)

    @cached_property
    def writer(self) -> WriterHealth:
        """The store's writer (read once, by the first check that asks: a viewer's never do)."""
        return self.subject.store.health()


class Followed(Protocol):
    """What a viewer's checks read of its replica (:class:`~seamless.mirror.PgSource`)."""

    error: str | None  # why the mirror cannot be read now (None: it can)
    seq: int
    snapshot_seq: int  # the snapshot it was restored from (0: none, the rows alone)
    last_ts: float | None  # the newest applied row's commit time (the runner's host's clock)


Outcome = tuple[bool, str, float | None]


@dataclass(frozen=True)
class Check:
    """One line of readiness: ``id`` names it in metrics, ``name`` in ``/readyz``."""

    id: str
    name: str
    fn: Callable[[Probe], Outcome]


@dataclass(frozen=True)
class Result:
    """One check's answer: ``status`` is ok, failed or unknown (could not be checked)."""

    check: str
    name: str
    status: str
    reason: str
    value: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == OK

    def line(self) -> str:
        """``store open and writable: failed, the last write failed: ...``"""
        return f"{self.name}: {self.status}, {self.reason}"


@dataclass(frozen=True)
class Readiness:
    """Every check's result; ready when all are ok."""

    results: tuple[Result, ...]

    @property
    def ready(self) -> bool:
        return all(r.ok for r in self.results)

    def failed(self) -> list[str]:
        """One line per check that is not ok."""
        return [r.line() for r in self.results if not r.ok]

    def document(self) -> dict[str, Any]:
        """The JSON ``/readyz`` answers."""
        return {
            "ready": self.ready,
            "failed": self.failed(),
            "checks": [
                {"check": r.check, "name": r.name, "status": r.status, "reason": r.reason, "value": _finite(r.value)}
                for r in self.results
            ],
        }


def _finite(v: float | None) -> float | None:
    return v if v is None or math.isfinite(v) else None


# -- the checks ------------------------------------------------------------------------------


def _s(seconds: float) -> str:
    return f"{seconds:.1f} s"


def check_config(p: Probe) -> Outcome:
    return True, "the settings were loaded and checked", None


def check_store(p: Probe) -> Outcome:
    w, window = p.writer, p.config.ready_max_write_age_s
    if w.error is not None:
        return False, w.error, None
    # A small write may fit where a bigger one did not (a full disk): a failure stays named a while.
    age = w.last_failure_age_s
    if age is not None and age < window:
        why = f"a write failed {_s(age)} ago (within {_s(window)}), some succeeded since: {w.last_failure}"
        return False, why, None
    return True, f"open; durable through seq {w.durable_seq}", None


def check_runner(p: Probe) -> Outcome:
    runner, rs = p.subject.runner, p.subject.store.state.runner
    if runner is not None and runner.failure is not None:  # journaling it may have failed as well
        return False, f"stopped on an error: {runner.failure}", None
    if rs.status == RunnerStatus.ERROR:
        return False, f"ERROR: {rs.last_error or 'no reason given'}", None
    return True, str(rs.status), None


def check_journal_lag(p: Probe) -> Outcome:
    w, limit = p.writer, p.config.ready_max_journal_lag_s
    if not w.lag_events:
        return True, "every event is durable", 0.0
    why = f"{w.lag_events} event(s) not yet durable, the oldest waiting {_s(w.lag_s)} (limit {_s(limit)})"
    return w.lag_s <= limit, why, w.lag_s


def check_durable_write(p: Probe) -> Outcome:
    w, limit = p.writer, p.config.ready_max_write_age_s
    age = w.last_write_age_s
    if w.error is None and not w.lag_events:
        return True, f"{_s(age)} ago; nothing waits to be written", age
    waiting = "since the last write failed" if w.error is not None else f"while {w.lag_events} event(s) wait"
    if age > limit:
        return False, f"no write reached the disk for {_s(age)} (limit {_s(limit)}) {waiting}", age
    return True, f"{_s(age)} ago", age


def check_snapshot(p: Probe) -> Outcome:
    w, limit = p.writer, p.config.ready_max_snapshot_age_s
    since = w.seq - w.snapshot_seq
    if w.snapshot_age_s > limit and since > 0:
        why = f"the last snapshot (seq {w.snapshot_seq}) is {_s(w.snapshot_age_s)} old (limit {_s(limit)}), "
        return False, why + f"{since} event(s) since", w.snapshot_age_s
    return True, f"seq {w.snapshot_seq}, {_s(w.snapshot_age_s)} old, {since} event(s) since", w.snapshot_age_s


def check_history(p: Probe) -> Outcome:
    found = p.writer.history
    if found is not None:
        return False, f"failed verification at {found}", None
    return True, "no mismatch found (journal, hash chain, archives)", None


def check_feed(p: Probe) -> Outcome:
    limit = p.config.ready_feed_stale_s
    market = p.subject.store.state.market
    status = p.subject.store.state.runner.status
    if market.updated_at is None:
        return False, f"no quote yet (the runner is {status})", None
    age = max(0.0, p.now - market.updated_at)
    if age > limit:
        return False, f"no quote for {_s(age)} (limit {_s(limit)}; the runner is {status})", age
    return True, f"the last quote {_s(age)} ago", age


def check_broker(p: Probe) -> Outcome:
    rs = p.subject.store.state.runner
    if rs.broker_connected:
        return True, "connected", 1.0
    return False, f"disconnected: {rs.broker_error or 'no reason given'}", 0.0


def check_reconciliation(p: Probe) -> Outcome:
    if not p.config.reconcile:
        return True, "reconciliation is off (SEAMLESS_RECONCILE=0)", None
    rec = p.subject.store.state.reconcile
    last = rec.last_result
    if last is None:
        return False, f"no reconciliation has completed yet ({rec.status})", None
    left = max(0, int(last["mismatches"]) - int(last["resolved"]))
    run = rec.run_id or "the last run"
    if not last["ok"]:
        return False, f"{run}: {left} mismatch(es) left unresolved of {last['mismatches']} found", float(left)
    if last["mismatches"]:
        return True, f"{run}: {last['mismatches']} mismatch(es) found, each resolved", 0.0
    return True, f"{run}: store and broker agree", 0.0


def check_trading(p: Probe) -> Outcome:
    risk = p.subject.store.state.risk
    if risk.trading_state == TradingState.ACTIVE:
        return True, "ACTIVE", None
    return False, f"{risk.trading_state}: {risk.state_reason or 'no reason given'}", None


def check_disk(p: Probe) -> Outcome:
    limit = p.config.ready_min_disk_free_mb
    folder = Path(p.subject.store.path).resolve().parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError as e:
        return False, f"cannot read the free space of {folder}: {e}", None
    why = f"{free / MIB:,.0f} MB free in {folder} (limit {limit:,.0f} MB)"
    return free >= limit * MIB, why, float(free)


#: The readiness checks, in the order ``/readyz`` lists them.
CHECKS: tuple[Check, ...] = (
    Check("config", "configuration valid", check_config),
    Check("store", "store open and writable", check_store),
    Check("journal_lag", "journal lag", check_journal_lag),
    Check("durable_write", "last durable write age", check_durable_write),
    Check("snapshot", "snapshot age", check_snapshot),
    Check("history", "history verified", check_history),
    Check("runner", "runner not failed", check_runner),
    Check("feed", "feed fresh", check_feed),
    Check("broker", "broker connected", check_broker),
    Check("reconciliation", "last reconciliation clean", check_reconciliation),
    Check("trading", "trading state", check_trading),
    Check("disk", "disk free", check_disk),
)


# -- a viewer's checks -------------------------------------------------------------------------

#: The runner's statuses in which rows keep coming (quotes): a mirror silent then has stopped.
LIVE = frozenset({RunnerStatus.RUNNING, RunnerStatus.HALTED})  # HALTED: stores from before the split


def _followed(p: Probe) -> Followed:
    return cast(Followed, p.subject.store)


def check_source(p: Probe) -> Outcome:
    src = _followed(p)
    if src.error is not None:
        return False, f"PostgreSQL cannot be reached: {src.error}", 0.0
    return True, f"connected, following the mirror at seq {src.seq}", 1.0


def check_restored(p: Probe) -> Outcome:
    src = _followed(p)
    if src.seq <= 0:
        return False, "the mirror holds no row yet: is the runner's host mirroring (SEAMLESS_MIRROR_TO)?", 0.0
    base = f"the snapshot at seq {src.snapshot_seq}" if src.snapshot_seq else "no snapshot"
    return True, f"from {base} and the rows after it; at seq {src.seq}", float(src.seq)


def check_mirror_fresh(p: Probe) -> Outcome:
    src, limit = _followed(p), p.config.ready_mirror_stale_s
    status = p.subject.store.state.runner.status
    if src.last_ts is None:
        return False, "no mirrored row yet", None
    age = max(0.0, p.now - src.last_ts)
    if status not in LIVE:
        return True, f"the runner is {status}: no rows expected; the newest is {_s(age)} old", age
    if age > limit:
        why = f"no row for {_s(age)} (limit {_s(limit)}) while the runner is {status}: "
        return False, why + "the runner's host or its mirror has stopped, or this viewer is behind", age
    return True, f"the newest row {_s(age)} old", age


#: A viewer's readiness checks: it holds no store, broker or runner; the runner's host answers for those.
VIEWER_CHECKS: tuple[Check, ...] = (
    Check("config", "configuration valid", check_config),
    Check("source", "mirror reachable", check_source),
    Check("restored", "state restored", check_restored),
    Check("mirror_fresh", "mirror fresh", check_mirror_fresh),
)


def not_ready(source: Source) -> str | None:
    """Why ``source`` is not ready (its failed checks' lines), or None when it is: the
    notifier's "not ready for longer than N s" watches this, so it agrees with ``/readyz``."""
    report = readiness(source)
    return None if report.ready else "; ".join(report.failed())


def readiness(source: Source) -> Readiness:
    """Run every check of ``source`` against it; a check that raises is failed, with its error."""
    checks = source.checks or CHECKS
    subject = source.subject
    if subject is None:  # nothing to probe: the configuration says why, the rest are unknown
        if source.error is not None:
            config, rest = (FAILED, source.error), "Seamless did not start"
        else:
            config, rest = (UNKNOWN, "not started yet: no session has opened (serve --warm)"), "not started yet"
        return Readiness(
            tuple(Result(c.id, c.name, *(config if c.id == "config" else (UNKNOWN, rest))) for c in checks)
        )
    probe = Probe(subject, subject.config, time.time())
    results = []
    for c in checks:
        try:
            ok, reason, value = c.fn(probe)
        except Exception as e:  # a check that cannot run says so; the others still answer
            ok, reason, value = False, f"the check could not run: {type(e).__name__}: {e}", None
        results.append(Result(c.id, c.name, OK if ok else FAILED, reason, value))
    return Readiness(tuple(results))
