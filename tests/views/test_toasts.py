"""Toasts: a burst of alerts is one change holding every toast (Panel's hold() sends only the
last value of a property set several times in one message), ids never repeat."""

import json

from seamless.events.catalog import TradingStateChanged
from seamless.views.alerts import alert
from seamless.views.toasts import Toasts


def test_a_burst_is_one_change_with_every_toast_uncapped():
    toasts = Toasts()
    changes = []
    toasts.param.watch(lambda e: changes.append(json.loads(e.new)), "recent")
    toasts.show_many([("success", f"Fill #{i}", 5000) for i in range(150)])
    assert len(changes) == 1
    first = changes[0][0][0]
    assert [item[0] for item in changes[0]] == list(range(first, first + 150))
    assert changes[0][-1] == [first + 149, "success", "Fill #149", 5000]
    toasts.error("Halt failed")
    assert changes[-1] == [[first + 150, "error", "Halt failed", 0]], "later toasts go on from the last id"


def test_one_burst_shown_in_several_sessions_is_numbered_once_and_a_new_one_after_it():
    """A burst is described once for every session (views.alerts.described): each session's
    page gets the same toasts, the same numbers; the next burst is numbered after them."""
    sessions = [Toasts(), Toasts()]
    changes: list[list] = [[], []]
    for toasts, got in zip(sessions, changes):
        toasts.param.watch(lambda e, got=got: got.append(json.loads(e.new)), "recent")
    burst = [("success", "Fill #1", 5000), ("success", "Fill #2", 5000)]
    for toasts in sessions:
        toasts.show_many(burst)
    assert changes[0] == changes[1] and len(changes[0]) == 1
    next_burst = [("success", "Fill #3", 5000)]
    for toasts in sessions:
        toasts.show_many(next_burst)
    assert changes[0] == changes[1]
    assert changes[0][1][0][0] == changes[0][0][-1][0] + 1


def test_alerts_of_one_flush_are_shown_together(store):
    events = [store.commit(TradingStateChanged(state=s, reason="r", by="t")) for s in ("HALTED", "ACTIVE")]
    toasts = Toasts()
    changes = []
    toasts.param.watch(lambda e: changes.append(json.loads(e.new)), "recent")
    alert(toasts, events)
    assert len(changes) == 1
    assert [(kind, text.split(":")[0], key) for _id, kind, text, _d, key in changes[0]] == [
        ("error", f"Trading HALTED #{events[0].seq} by t", "trading"),
        ("info", f"Trading ACTIVE #{events[1].seq} by t", "trading"),
    ], "one key: ACTIVE replaces the standing HALTED toast in the page"


def test_an_event_it_cannot_describe_still_shows_and_spares_the_rest(store):
    """One odd event (here a fill without its fields) must not cost the burst its toasts."""
    import types

    good = store.commit(TradingStateChanged(state="HALTED", reason="r", by="t"))
    odd = types.SimpleNamespace(topic="order.filled", seq=7)
    toasts = Toasts()
    changes = []
    toasts.param.watch(lambda e: changes.append(json.loads(e.new)), "recent")
    alert(toasts, [odd, good])
    assert [item[2] for item in changes[0]] == ["order.filled #7", f"Trading HALTED #{good.seq} by t: r"]


def test_a_burst_of_fills_is_one_toast_with_the_net_per_symbol(store):
    from seamless.events.catalog import OrderFilled

    fills = [
        OrderFilled(client_order_id=f"o{i}", trade_id=f"t{i}", symbol=sym, qty=qty, price=100.0)
        for i, (sym, qty) in enumerate([("AAPL", 10), ("AAPL", 20), ("MSFT", -5), ("MSFT", -15), ("IBM", 3)])
    ]
    for i, f in enumerate(fills):
        object.__setattr__(f, "seq", 100 + i)
    halted = store.commit(TradingStateChanged(state="HALTED", reason="r", by="t"))
    toasts = Toasts()
    changes = []
    toasts.param.watch(lambda e: changes.append(json.loads(e.new)), "recent")
    alert(toasts, [*fills, halted])
    texts = [item[2] for item in changes[0]]
    assert texts == [f"Trading HALTED #{halted.seq} by t: r", "5 fills #100–#104: AAPL +30, IBM +3, MSFT −20"]
    alert(toasts, fills[:2])  # a few fills: one toast each
    assert [item[2].split(":")[0] for item in changes[1]] == ["Fill #100", "Fill #101"]
