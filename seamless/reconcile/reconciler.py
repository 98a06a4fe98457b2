"""The reconciler: make the store agree with the broker, journaling every step.

A run journals ``ReconcileStarted``, catches up the broker fills the store missed
(``OrderFilled``, as the order manager would), compares again and resolves what is left
as the :class:`~.policy.ReconcilePolicy` says: the broker is the truth for positions
(``PositionAdjusted``), cash (``CashSet``) and open orders (an unknown broker order is
adopted as ``external``; a store order the broker never got is cancelled).  Each finding is
journaled as one ``ReconcileMismatch`` with its resolution; a finding seen in
``persistent_runs`` consecutive runs, or larger than ``size_threshold``, escalates the
trading state.  ``ReconcileCompleted`` says whether store and broker agree afterwards.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field

from ..brokers import Broker
from ..errors import InvalidEvent
from ..events import (
    CashSet,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderSubmitting,
    PositionAdjusted,
    PositionClosed,
    ReconcileCompleted,
    ReconcileMismatch,
    ReconcileStarted,
    TradingState,
    TradingStateChanged,
)
from ..store import StateSource, Store
from .findings import Finding, compare, fill_text, missing_fills
from .policy import ReconcilePolicy

log = logging.getLogger("seamless.reconcile")

_SEVERITY = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


@dataclass
class Report:
    """The outcome of one run. ``resolutions[i]`` says what was done about ``findings[i]``."""

    run_id: str
    findings: list[Finding]
    resolutions: list[str]
    ok: bool
    escalated: bool = False
    duration_s: float = 0.0
    dry_run: bool = False
    remaining: list[Finding] = field(default_factory=list)  # what still differs after the run

    def to_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "escalated": self.escalated,
            "duration_s": self.duration_s,
            "findings": [{**f.to_dict(), "resolution": r} for f, r in zip(self.findings, self.resolutions)],
            "resolutions": list(self.resolutions),
            "remaining": [f.to_dict() for f in self.remaining],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))


class Reconciler:
    """Reconciles ``store`` with ``broker``. One at a time per store (it writes through it).

    ``store`` may be any :class:`~seamless.store.StateSource`: a read-only one (a
    ``Follower`` of a store another process writes) can only :meth:`compare` and
    ``run(dry_run=True)``, which write nothing; a run that resolves needs the ``Store``.
    """

    def __init__(
        self,
        store: StateSource,
        broker: Broker,
        policy: ReconcilePolicy | None = None,
        *,
        price_tolerance: float = 1e-6,
        cash_tolerance: float = 0.01,
        qty_tolerance: float = 1e-9,
    ) -> None:
        self.store, self.broker = store, broker
        self._writer: Store | None = store if isinstance(store, Store) else None
        self.policy = policy or ReconcilePolicy()
        self.tolerances = {
            "price_tolerance": price_tolerance,
            "cash_tolerance": cash_tolerance,
            "qty_tolerance": qty_tolerance,
        }
        #: (run_id, {(kind, subject)}) of past runs, oldest first; survives restarts through the store.
        self.history: list[tuple[str, frozenset[tuple[str, str]]]] = self._history_from_store()

    def _history_from_store(self) -> list[tuple[str, frozenset[tuple[str, str]]]]:
        """The last completed runs with what each found (``reconcile.recent_runs``); a store
        from before that field falls back on the ``reconcile.mismatches`` records."""
        recent = self.store.state.reconcile.recent_runs
        if recent:
            return [(rid, frozenset(tuple(k.split("|", 1)) for k in keys)) for rid, keys in recent]
        runs: dict[str, set[tuple[str, str]]] = {}
        for m in self.store.state.reconcile.mismatches:
            runs.setdefault(m.run_id, set()).add((m.kind, m.subject))
        history = [(rid, frozenset(keys)) for rid, keys in runs.items()]
        last = self.store.state.reconcile.run_id
        if last and last not in runs:  # the last run found nothing: it breaks every streak
            history.append((last, frozenset()))
        return history

    def compare(self) -> list[Finding]:
        return compare(self.store, self.broker, **self.tolerances)

    # -- the run -------------------------------------------------------------------------------

    def run(self, dry_run: bool = False, by: str = "reconciler") -> Report:
        t0 = time.monotonic()
        run_id = f"r{self.store.seq + 1}"
        if dry_run:
            findings = self.compare()
            return Report(
                run_id=run_id,
                findings=findings,
                resolutions=["dry run: nothing done"] * len(findings),
                ok=not findings,
                duration_s=time.monotonic() - t0,
                dry_run=True,
                remaining=findings,
            )

        store = self._store()
        store.commit(ReconcileStarted(run_id=run_id, by=by))
        found: list[tuple[Finding, str, bool]] = []  # finding, resolution, resolved
        for fill in missing_fills(self.store, self.broker):
            found.append(
                (
                    Finding(
                        "fill_missing_in_store", fill.trade_id, "absent", fill_text(fill), abs(fill.qty) * fill.price
                    ),
                    *self._catch_up(fill),
                )
            )
        for f in self.compare():
            if f.kind == "fill_missing_in_store":  # appeared since the catch-up: the next run takes it
                found.append((f, "not resolved: the fill arrived during the run; the next run journals it", False))
                continue
            found.append((f, *self._resolve(f, by)))

        for f, resolution, _ in found:
            store.commit(
                ReconcileMismatch(
                    run_id=run_id,
                    kind=f.kind,
                    subject=f.subject,
                    store_value=f.store_value,
                    broker_value=f.broker_value,
                    resolution=resolution,
                )
            )
        findings = [f for f, _, _ in found]
        self.history.append((run_id, frozenset(f.key for f in findings)))
        escalated = self._escalate(findings, by)
        remaining = self.compare()
        duration = time.monotonic() - t0
        store.commit(
            ReconcileCompleted(
                run_id=run_id,
                mismatches=len(found),
                resolved=sum(1 for *_, ok in found if ok),
                duration_s=duration,
                ok=not remaining,
            )
        )
        return Report(
            run_id=run_id,
            findings=findings,
            resolutions=[r for _, r, _ in found],
            ok=not remaining,
            escalated=escalated,
            duration_s=duration,
            remaining=remaining,
        )

    def _store(self) -> Store:
        """The store to journal through; a read-only state source has none."""
        if self._writer is None:
            raise TypeError(
                f"a reconciliation that resolves needs the writing Store, not a read-only "
                f"{type(self.store).__name__}: run(dry_run=True) only compares"
            )
        return self._writer

    # -- resolving --------------------------------------------------------------------------------

    def _catch_up(self, fill) -> tuple[str, bool]:
        """Journal a broker fill the store missed (the order manager's rule: a fill whose
        order the store lacks, or that contradicts it, is journaled as external)."""
        if fill.trade_id in self.store.state.orders.trade_ids:
            return "already journaled meanwhile", True
        by_id = self.store.state.orders.by_id
        coid = fill.client_order_id if fill.client_order_id in by_id else ""
        ev = dict(
            trade_id=fill.trade_id,
            symbol=fill.symbol,
            qty=fill.qty,
            price=fill.price,
            commission=fill.commission,
            cursor=fill.cursor,
        )
        try:
            self._store().commit(OrderFilled(client_order_id=coid, **ev))
        except InvalidEvent as e:
            log.error(
                "fill %s does not fit order %s (%s); journaled as an external fill",
                fill.trade_id,
                fill.client_order_id,
                e,
            )
            coid = ""
            self._store().commit(OrderFilled(client_order_id="", **ev))
        of = f"order {coid}" if coid else "no order (external)"
        return f"journaled the broker's fill {fill.trade_id} (cursor {fill.cursor}) against {of}", True

    def _resolve(self, f: Finding, by: str) -> tuple[str, bool]:
        p = self.policy
        if f.kind in ("position_missing_in_store", "position_missing_at_broker", "qty_differs", "avg_price_differs"):
            if not p.adopt_broker_positions:
                return "not resolved: adopt_broker_positions is off", False
            bp = self.broker.positions().get(f.subject)
            qty, avg = (bp.qty, bp.avg_price) if bp is not None else (0.0, 0.0)
            reason = (
                f"reconciliation {f.kind}: store {f.store_value}, broker {f.broker_value}; "
                f"adopted the broker's position"
            )
            self._store().commit(PositionAdjusted(symbol=f.subject, qty=qty, avg_price=avg, reason=reason))
            if qty == 0:
                self._store().commit(PositionClosed(symbol=f.subject, reason=reason))
                return "adopted the broker's position: flat, closed in the store", True
            return f"adopted the broker's position: qty {qty:.10g} avg {avg:.10g}", True
        if f.kind == "cash_differs":
            cash = self.broker.account().cash
            self._store().commit(
                CashSet(
                    cash=cash,
                    reason=f"reconciliation cash_differs: store {f.store_value}, "
                    f"broker {f.broker_value}; adopted the broker's cash",
                )
            )
            return f"adopted the broker's cash {cash:.10g}", True
        if f.kind == "order_unknown_to_store":
            if not p.adopt_external_orders:
                return "not resolved: adopt_external_orders is off", False
            bo = self.broker.order(f.subject)
            if bo is None or not bo.is_open:
                return "not resolved: the order is no longer open at the broker", False
            self._store().commit(
                OrderSubmitting(
                    client_order_id=bo.client_order_id,
                    symbol=bo.symbol,
                    qty=bo.qty,
                    order_type=bo.order_type,
                    limit_price=bo.limit_price,
                    strategy="external",
                    by=by,
                    reason="open at the broker, unknown to the store: adopted at reconciliation",
                )
            )
            self._store().commit(OrderAccepted(client_order_id=bo.client_order_id, broker_order_id=bo.broker_order_id))
            return "adopted as an external order", True
        if f.kind == "order_unknown_to_broker":
            self._store().commit(
                OrderCancelled(client_order_id=f.subject, reason="unknown to the broker at reconciliation")
            )
            return "cancelled in the store: the broker never received it", True
        if f.kind == "order_status_differs":
            return self._resolve_status(f)
        return f"not resolved: no rule for {f.kind}", False

    def _resolve_status(self, f: Finding) -> tuple[str, bool]:
        so = self.store.state.orders.by_id.get(f.subject)
        bo = self.broker.order(f.subject)
        if so is None or bo is None:
            return "not resolved: the order is gone", False
        if so.is_open and bo.is_open and so.status == "submitting":
            self._store().commit(OrderAccepted(client_order_id=bo.client_order_id, broker_order_id=bo.broker_order_id))
            return "accepted in the store, as at the broker", True
        if so.is_open and bo.status == "cancelled":
            self._store().commit(
                OrderCancelled(client_order_id=f.subject, reason=bo.reason or "cancelled at the broker")
            )
            return "cancelled in the store, as at the broker", True
        if so.is_open and bo.status == "rejected":
            self._store().commit(OrderRejected(client_order_id=f.subject, reason=bo.reason or "rejected by the broker"))
            return "rejected in the store, as at the broker", True
        if not so.is_open and bo.is_open:
            return (
                f"not resolved: closed ({so.status}) in the store but working at the broker; cancel it at the broker"
            ), False
        return f"not resolved: store {so.status}, broker {bo.status}", False

    # -- escalation ---------------------------------------------------------------------------------

    def persistent(self) -> set[tuple[str, str]]:
        """Mismatches (kind, subject) seen in each of the last ``persistent_runs`` runs."""
        n = self.policy.persistent_runs
        if len(self.history) < n:
            return set()
        keys = set(self.history[-1][1])
        for _, run_keys in self.history[-n:]:
            keys &= run_keys
        return keys

    def _escalate(self, findings: list[Finding], by: str) -> bool:
        reasons = [f"{k} {s} in {self.policy.persistent_runs} runs in a row" for k, s in sorted(self.persistent())]
        reasons += [
            f"{f.kind} {f.subject} of size {f.size:.2f} above {self.policy.size_threshold:g}"
            for f in findings
            if f.size > self.policy.size_threshold
        ]
        if not reasons:
            return False
        target = self.policy.escalate_to
        risk = self.store.state.risk
        if _SEVERITY[risk.trading_state] >= _SEVERITY[target]:
            log.warning(
                "reconciliation would escalate to %s (%s); trading is already %s",
                target,
                "; ".join(reasons),
                risk.trading_state,
            )
            return True
        reason = "reconciliation: " + "; ".join(reasons)
        self._store().commit(TradingStateChanged(state=target, reason=reason[:500], by=by))
        log.warning("trading %s: %s", target, reason)
        return True
