"""How the reconciler resolves and when it escalates: :class:`ReconcilePolicy`."""

from __future__ import annotations

import param

from ..events import TradingState


class ReconcilePolicy(param.Parameterized):
    """What a reconciliation run does with what it finds."""

    interval_s = param.Number(
        30.0, bounds=(0, None), inclusive_bounds=(False, True), doc="Seconds between runs, for whoever schedules them"
    )
    persistent_runs = param.Integer(
        3, bounds=(1, None), doc="A mismatch (kind + subject) seen in this many consecutive runs escalates"
    )
    size_threshold = param.Number(
        10_000.0,
        bounds=(0, None),
        doc="Money (|qty| * price, or the cash difference): one finding above it escalates at once",
    )
    escalate_to: param.Selector[TradingState] = param.Selector(
        default=TradingState.HALTED,
        objects=[TradingState.HALTED, TradingState.REDUCING],
        doc="The trading state an escalation sets",
    )
    adopt_broker_positions = param.Boolean(True, doc="Set the store's positions to the broker's (PositionAdjusted)")
    adopt_external_orders = param.Boolean(True, doc="Adopt open broker orders the store lacks, as strategy 'external'")
