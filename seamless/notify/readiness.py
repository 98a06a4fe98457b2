"""Whether the account is ready, from its state alone: the notifier's default readiness.

Not ready while the runner is in ERROR, the broker is disconnected or trading is HALTED. A
readiness of another source (a health check) replaces it: :class:`~.notifier.Notifier` takes
any ``ready() -> str | None`` (None when ready, else why not).
"""

from __future__ import annotations

from collections.abc import Callable

from ..events import RunnerStatus, TradingState
from ..params import State

#: ``ready() -> None`` when ready, else the reason it is not.
Readiness = Callable[[], "str | None"]


def not_ready(state: State) -> str | None:
    """Why the account is not ready, or None: each reason that holds, joined by ``; ``."""
    runner, risk = state.runner, state.risk
    reasons = []
    if runner.status == RunnerStatus.ERROR:
        reasons.append("runner ERROR" + (f": {runner.last_error}" if runner.last_error else ""))
    if not runner.broker_connected:
        reasons.append("broker disconnected" + (f": {runner.broker_error}" if runner.broker_error else ""))
    if risk.trading_state == TradingState.HALTED:
        reasons.append("trading HALTED" + (f": {risk.state_reason}" if risk.state_reason else ""))
    return "; ".join(reasons) or None


def from_state(state: State) -> Readiness:
    """The readiness of ``state`` (the store's live state), read each time it is asked."""
    return lambda: not_ready(state)
