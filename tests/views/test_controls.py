"""Each control applies only in the states where its command makes sense; the runner's status
and the trading state are apart (seamless.views.controls.applies)."""

import pytest

from seamless.events.catalog import (
    BreachReset,
    DailyLossBreached,
    LossLimitSet,
    RunnerStatusChanged,
    TradingStateChanged,
)
from seamless.views.controls import RUNNER_COMMANDS, TRADING_COMMANDS, applies

# runner status -> the runner commands that apply
RUNNER = {
    "STOPPED": {"start"},
    "ERROR": {"start"},
    "STARTING": set(),
    "RECONCILING": set(),
    "RUNNING": {"pause", "stop"},
    "PAUSED": {"resume", "stop"},
    "STOPPING": set(),
}


@pytest.mark.parametrize("status", list(RUNNER))
def test_runner_buttons_follow_the_runner_status(store, status):
    store.commit(RunnerStatusChanged(status=status, by="t"))
    assert {c for c in RUNNER_COMMANDS if applies(c, store.state)} == RUNNER[status]


def test_trading_buttons_follow_the_trading_state_and_the_breach(store):
    def enabled() -> set[str]:
        return {c for c in TRADING_COMMANDS if applies(c, store.state)}

    store.commit(RunnerStatusChanged(status="RUNNING", by="t"))
    assert enabled() == {"halt"}, "ACTIVE and flat: only halting applies (flatten needs a position)"
    store.commit(TradingStateChanged(state="HALTED", reason="r", by="t"))
    assert enabled() == {"resume_trading"}
    assert store.state.runner.status == "RUNNING", "halting trading leaves the runner running"
    store.commit(TradingStateChanged(state="ACTIVE", reason="r", by="t"))
    store.commit(LossLimitSet(daily_loss_limit=100.0))
    store.commit(DailyLossBreached(loss=150.0, limit=100.0, equity=99_850.0))
    assert enabled() == {"reset_breach"}, "a standing breach: resume trading does not apply, reset does"
    store.commit(BreachReset(by="t"))
    assert enabled() == {"halt"}
    store.commit(RunnerStatusChanged(status="STOPPED", by="t"))
    store.commit(TradingStateChanged(state="HALTED", reason="r", by="t"))
    assert enabled() == set(), "no runner: nothing to resume"
