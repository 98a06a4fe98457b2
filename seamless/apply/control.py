"""Risk, runner lifecycle and reconciliation status."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import InvalidEvent
from ..events import (
    BreachReset,
    BrokerStatusChanged,
    DailyLossBreached,
    FeedStatusChanged,
    HistoryArchived,
    HistoryCorrupt,
    LossLimitSet,
    ReconcileCompleted,
    ReconcileMismatch,
    ReconcileStarted,
    RunnerStatus,
    RunnerStatusChanged,
    TradingState,
    TradingStateChanged,
)
from ..params.records import Mismatch
from ..params.state import RECENT_MISMATCHES, RECENT_RUNS, Values
from .projection import Changes, planner


@planner(LossLimitSet)
def _limit(values: Values, ev: LossLimitSet) -> Changes:
    return {"risk": {"daily_loss_limit": ev.daily_loss_limit}}


@planner(DailyLossBreached)
def _breached(values: Values, ev: DailyLossBreached) -> Changes:
    return {
        "risk": {
            "trading_state": TradingState.HALTED,
            "state_reason": f"daily loss {ev.loss:.2f} breached limit {ev.limit:.2f}",
            "breach": {
                "loss": ev.loss,
                "limit": ev.limit,
                "equity": ev.equity,
                "day": ev.day,
                "seq": ev.seq,
                "at": ev.ts,
            },
        }
    }


@planner(TradingStateChanged)
def _trading_state(values: Values, ev: TradingStateChanged) -> Changes:
    if values["risk"]["breach"] is not None and ev.state != TradingState.HALTED:
        raise InvalidEvent(
            f"trading stays HALTED after a daily-loss breach until the breach is reset "
            f"(asked for {ev.state} by {ev.by})"
        )
    return {"risk": {"trading_state": ev.state, "state_reason": ev.reason or f"set by {ev.by}"}}


@planner(BreachReset)
def _reset(values: Values, ev: BreachReset) -> Changes:
    if values["risk"]["breach"] is None:
        raise InvalidEvent("BreachReset: there is no daily-loss breach to reset")
    return {
        "risk": {
            "breach": None,
            "trading_state": TradingState.ACTIVE,
            "state_reason": f"breach reset by {ev.by}" + (f": {ev.reason}" if ev.reason else ""),
        }
    }


@planner(RunnerStatusChanged)
def _runner(values: Values, ev: RunnerStatusChanged) -> Changes:
    fields = {"status": ev.status, "since": ev.ts}
    if ev.status == RunnerStatus.ERROR or ev.error:
        fields["last_error"] = ev.error
    return {"runner": fields}


@planner(BrokerStatusChanged)
def _broker(values: Values, ev: BrokerStatusChanged) -> Changes:
    return {"runner": {"broker_connected": ev.connected, "broker_error": ev.error, "broker_since": ev.ts}}


@planner(FeedStatusChanged)
def _feed(values: Values, ev: FeedStatusChanged) -> Changes:
    return {"runner": {"feed_connected": ev.connected, "feed_error": ev.error, "feed_since": ev.ts}}


@planner(ReconcileStarted)
def _rec_started(values: Values, ev: ReconcileStarted) -> Changes:
    return {"reconcile": {"status": "running", "run_id": ev.run_id, "started_at": ev.ts}}


@planner(ReconcileMismatch)
def _rec_mismatch(values: Values, ev: ReconcileMismatch) -> Changes:
    if TYPE_CHECKING:  # planned events are stamped (seq, ts set): see projection.plan
        assert ev.seq is not None and ev.ts is not None
    m = Mismatch(
        seq=ev.seq,
        updated_at=ev.ts,
        run_id=ev.run_id,
        kind=ev.kind,
        subject=ev.subject,
        store_value=ev.store_value,
        broker_value=ev.broker_value,
        resolution=ev.resolution,
    )
    return {"reconcile": {"mismatches": (values["reconcile"]["mismatches"] + (m,))[-RECENT_MISMATCHES:]}}


@planner(ReconcileCompleted)
def _rec_completed(values: Values, ev: ReconcileCompleted) -> Changes:
    rec = values["reconcile"]
    keys = tuple(sorted({f"{m.kind}|{m.subject}" for m in rec["mismatches"] if m.run_id == ev.run_id}))
    return {
        "reconcile": {
            "status": "ok" if ev.ok else "mismatch",
            "run_id": ev.run_id,
            "recent_runs": (rec["recent_runs"] + ((ev.run_id, keys),))[-RECENT_RUNS:],
            "completed_at": ev.ts,
            "last_result": {
                "mismatches": ev.mismatches,
                "resolved": ev.resolved,
                "duration_s": ev.duration_s,
                "ok": ev.ok,
            },
        }
    }


@planner(HistoryArchived)
def _archived(values: Values, ev: HistoryArchived) -> Changes:
    return {}  # the store's own record: the state is unchanged (its rows are still in history)


@planner(HistoryCorrupt)
def _corrupt(values: Values, ev: HistoryCorrupt) -> Changes:
    return {}  # the finding itself; the halt, when the policy asks, is a TradingStateChanged with it
