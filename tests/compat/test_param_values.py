"""seamless.compat.param_values: the store's fast write leaves the state, and what its watchers
see, the same as param's public ``param.update``; outside the tested param, the store uses that."""

from __future__ import annotations

import itertools
import warnings

import pytest

from seamless import compat
from seamless.compat import check, param_values
from seamless.events import (
    CashSet,
    DayStarted,
    OrderAccepted,
    OrderFilled,
    OrderSubmitting,
    QuoteReceived,
    RunnerStatusChanged,
)
from seamless.params.base import store_writes
from seamless.params.records import FrozenDict
from seamless.params.state import Account
from seamless.store import Store
from seamless.store import store as store_module


def run(path, setter) -> tuple:
    """A day's trading through a store whose writes go through ``setter``: its state, and what
    watchers of two parts saw."""
    store_module._set_values = setter
    seen = []
    ticks = itertools.count(1_700_000_000)
    with Store(path, clock=lambda: float(next(ticks))) as store:
        state = store.state
        state.account.param.watch(
            lambda *evs: seen.extend(("account", e.name, e.old, e.new, e.type) for e in evs), ["cash", "equity"]
        )
        state.orders.param.watch(lambda *evs: seen.extend(("orders", e.name, len(e.new)) for e in evs), ["by_id"])
        store.commit(CashSet(cash=10_000.0, reason="opening"))
        store.commit(DayStarted(day="2026-11-25"))
        store.commit(RunnerStatusChanged(status="RUNNING"))
        for i in range(20):
            store.commit(QuoteReceived(symbol="AAPL", last=100.0 + i / 10, exchange_ts=1.0 + i))
        store.commit(OrderSubmitting(client_order_id="c1", symbol="AAPL", qty=5))
        store.commit(OrderAccepted(client_order_id="c1"))
        store.commit(OrderFilled(trade_id="t1", client_order_id="c1", symbol="AAPL", qty=5, price=101.0))
        store.commit(QuoteReceived(symbol="AAPL", last=103.0, exchange_ts=30.0))
        return state.values(), {p: seq for p, (seq, _) in state.meta().items()}, seen


def test_the_fast_write_leaves_the_state_param_update_would(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "_set_values", store_module._set_values)  # put back after
    assert param_values.PATCH.installed  # the store's own choice at import
    fast = run(tmp_path / "fast.db", param_values.fast_setter(trusted=(FrozenDict,)))
    public = run(tmp_path / "public.db", param_values.public_set)
    assert fast == public
    assert fast[2], "the watchers saw the changes"
    assert fast[0]["positions"]["by_symbol"]["AAPL"].qty == 5


@pytest.mark.parametrize("setter", ["fast", "public"])
def test_an_invalid_value_is_refused_either_way(setter):
    account = Account()
    write = param_values.fast_setter() if setter == "fast" else param_values.public_set
    with store_writes(), pytest.raises(ValueError):
        write(account, {"cash": "lots"})


def test_outside_the_tested_param_the_store_is_handed_param_update(monkeypatch):
    monkeypatch.setitem(check.VERSIONS, "param", lambda: "2.5.0")
    param_values.uninstall()
    with pytest.warns(compat.CompatFallbackWarning, match=r"param_values.*param 2\.5\.0.*>=2\.4,<2\.5"):
        assert param_values.setter() is param_values.public_set
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert param_values.setter() is param_values.public_set  # decided once, warned once
