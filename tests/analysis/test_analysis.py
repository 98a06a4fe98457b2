"""The analysis API on its own: frames, replay, metrics, against real store files."""

from __future__ import annotations

import math
import sqlite3

import pandas as pd
import pytest

from seamless.analysis import (
    at,
    drawdown,
    equity_curve,
    events_frame,
    fills_frame,
    reconcile_mismatches,
    reconcile_runs,
    seeded_store,
    signal_hit_rate,
    signal_outcomes,
    state_frames,
    store_for_notebook,
    trades_per_symbol,
)
from seamless.apply import Projection
from seamless.events import CashSet, OrderFilled, OrderSubmitting, QuoteReceived, SignalEmitted
from seamless.params.state import PART_CLASSES
from seamless.store import Store

TICKS = 4000


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return seeded_store(tmp_path_factory.mktemp("analysis") / "seeded.db", seed=3, ticks=TICKS)


@pytest.fixture(scope="module")
def events(db):
    return events_frame(db)


def sql(db, query, *args):
    with sqlite3.connect(db) as c:
        return c.execute(query, args).fetchall()


def encoded(values):
    return {name: cls.encode(values[name]) for name, cls in PART_CLASSES.items()}


# -- the seeded store -------------------------------------------------------------------------


def test_seeded_store_has_what_the_notebooks_show(db):
    counts = dict(sql(db, "SELECT topic, count(*) FROM journal GROUP BY topic"))
    for topic in (
        "market.quote",
        "signal.emitted",
        "order.submitting",
        "order.filled",
        "monitor.set",
        "reconcile.mismatch",
    ):
        assert counts.get(topic, 0) > 0, topic
    assert counts["reconcile.started"] == counts["reconcile.completed"] == 2
    assert counts["market.quote"] == TICKS + TICKS // 4
    assert not (db.parent / "seeded.db.broker").exists() and (db.parent / "seeded.broker.db").exists()


def test_seeded_store_refuses_an_existing_file(db):
    with pytest.raises(FileExistsError):
        seeded_store(db)


def test_same_seed_same_events(tmp_path):
    def journal(path):
        out = []
        for topic, type_, payload in sql(path, "SELECT topic, type, payload FROM journal ORDER BY seq"):
            out.append((topic, type_, payload if topic != "reconcile.completed" else payload.split('"duration_s"')[0]))
        return out

    a = journal(seeded_store(tmp_path / "a.db", seed=1, ticks=1200))
    b = journal(seeded_store(tmp_path / "b.db", seed=1, ticks=1200))
    c = journal(seeded_store(tmp_path / "c.db", seed=2, ticks=1200))
    assert len(a) > 1200 and a == b and a != c


def test_store_for_notebook(tmp_path, monkeypatch, db):
    monkeypatch.setenv("SEAMLESS_DB", str(db))
    assert store_for_notebook() == db
    monkeypatch.setenv("SEAMLESS_DB", str(tmp_path / "missing.db"))
    with pytest.raises(FileNotFoundError, match="SEAMLESS_DB"):
        store_for_notebook()
    monkeypatch.delenv("SEAMLESS_DB")
    made = store_for_notebook(ticks=300)
    assert made.is_file() and made != db
    assert sql(made, "SELECT count(*) FROM journal WHERE topic='market.quote'")[0][0] == 300 + 300 // 4


# -- events_frame -----------------------------------------------------------------------------


def test_events_frame_has_one_row_per_journal_seq(db, events):
    ((n, top),) = sql(db, "SELECT count(*), max(seq) FROM journal")
    assert n > 0 and len(events) == n
    assert events["seq"].tolist() == list(range(1, top + 1))
    assert list(events.columns[:6]) == ["seq", "topic", "type", "version", "ts", "exchange_ts"]
    assert (
        str(events["ts"].dtype) == "datetime64[ns, UTC]" and str(events["exchange_ts"].dtype) == "datetime64[ns, UTC]"
    )
    assert events["ts"].notna().all()
    # payload columns carry the payload; the typed event is there too
    fills = events[events["topic"] == "order.filled"]
    assert len(fills) > 0
    row = fills.iloc[-1]
    (payload,) = sql(db, "SELECT payload FROM journal WHERE seq=?", int(row["seq"]))[0]
    import json

    p = json.loads(payload)
    assert (row["symbol"], row["qty"], row["price"], row["trade_id"]) == (
        p["symbol"],
        p["qty"],
        p["price"],
        p["trade_id"],
    )
    assert row["payload"] == p and row["event"].seq == row["seq"] and row["event"].price == p["price"]
    (ts,) = sql(db, "SELECT ts FROM journal WHERE seq=?", int(row["seq"]))[0]
    assert row["ts"].timestamp() == pytest.approx(ts, abs=1e-6)


def test_events_frame_filters_by_topic(db, events):
    fills = events_frame(db, topics=["order.filled"])
    n_fills = sql(db, "SELECT count(*) FROM journal WHERE topic='order.filled'")[0][0]
    assert n_fills > 0 and len(fills) == n_fills and set(fills["topic"]) == {"order.filled"}
    rec = events_frame(db, topics="reconcile.*")
    n_rec = sql(db, "SELECT count(*) FROM journal WHERE topic LIKE 'reconcile.%'")[0][0]
    assert n_rec >= 5 and len(rec) == n_rec
    assert set(rec["topic"]) == {"reconcile.started", "reconcile.mismatch", "reconcile.completed"}
    assert events_frame(db, topics=["no.such.topic"]).empty


def test_events_frame_until_seq_and_time(db, events):
    n = len(events) // 3
    head = events_frame(db, until_seq=n)
    assert len(head) == n and head["seq"].iloc[-1] == n
    cut = events["ts"].iloc[len(events) // 2]
    by_time = events_frame(db, until_time=cut)
    expected = int(events.loc[events["ts"] <= cut, "seq"].max())
    assert len(by_time) > 0 and by_time["seq"].iloc[-1] == expected
    both = events_frame(db, until_seq=n, until_time=cut)
    assert both["seq"].iloc[-1] == min(n, expected)


# -- replay: at(), state_frames() -------------------------------------------------------------


def test_replay_to_seq_equals_state_from_events(db, events):
    last = int(events["seq"].iloc[-1])
    snapshots = [s for (s,) in sql(db, "SELECT seq FROM snapshots")]
    assert snapshots, "the seeded store should hold snapshots, so replay starts from one"
    for n in sorted({1, 57, last // 2, snapshots[0], snapshots[0] + 11, last - 3, last}):
        proj = Projection()
        for ev in events.loc[events["seq"] <= n, "event"]:
            proj.apply(ev)
        past = at(db, seq=n)
        assert past.seq == n == proj.seq
        assert encoded(past.values) == encoded(proj.values), f"seq {n}"


def test_at_a_time(db, events):
    cut = events["ts"].iloc[len(events) // 3]
    expected = int(events.loc[events["ts"] <= cut, "seq"].max())
    assert at(db, time=cut).seq == expected  # a frame's timestamp includes its own event
    raw = sql(db, "SELECT ts FROM journal WHERE seq=?", expected)[0][0]
    assert at(db, time=raw).seq == expected and at(db, time=raw - 1e-6).seq < expected
    assert at(db, time=cut.isoformat()).seq <= expected  # ISO strings: to the microsecond


def test_state_frames_match_the_state(db):
    past = at(db)
    v = past.values
    f = state_frames(past)
    pos = f["positions"]
    assert len(pos) > 0 and len(pos) == len(v["positions"]["by_symbol"])
    assert dict(zip(pos["symbol"], pos["qty"])) == {s: p.qty for s, p in v["positions"]["by_symbol"].items()}
    assert dict(zip(pos["symbol"], pos["unrealized_pnl"])) == {
        s: p.unrealized_pnl for s, p in v["positions"]["by_symbol"].items()
    }
    assert str(pos["updated_at"].dtype) == "datetime64[ns, UTC]"
    orders = f["orders"]
    assert len(orders) > 0 and set(orders["client_order_id"]) == set(v["orders"]["by_id"])
    assert orders["seq"].is_monotonic_increasing
    assert dict(zip(orders["client_order_id"], orders["status"])) == {
        k: o.status for k, o in v["orders"]["by_id"].items()
    }
    fills = f["fills"]
    assert len(fills) > 0 and fills["trade_id"].tolist() == [x.trade_id for x in v["orders"]["fills"]]
    quotes = f["quotes"]
    assert len(quotes) == 4 and dict(zip(quotes["symbol"], quotes["last"])) == {
        s: q.last for s, q in v["market"]["quotes"].items()
    }
    assert len(f["signals"]) > 0 and f["signals"]["seq"].tolist() == [s.seq for s in v["signals"]["history"]]
    assert len(f["monitors"]) > 0 and dict(zip(f["monitors"]["monitor_id"], f["monitors"]["status"])) == {
        k: m.status for k, m in v["monitors"]["by_id"].items()
    }
    assert len(f["mismatches"]) == len(v["reconcile"]["mismatches"]) > 0
    assert f["account"].loc[0, "equity"] == v["account"]["equity"]
    assert f["account"].loc[0, "cash"] == v["account"]["cash"]
    assert f["runner"].loc[0, "status"] == v["runner"]["status"] == "STOPPED"
    assert f["reconcile_runs"]["run_id"].tolist() == [r for r, _ in v["reconcile"]["recent_runs"]]


def test_state_frames_take_state_objects_and_values(db):
    past = at(db, seq=500)
    a, b, c = state_frames(past), state_frames(past.state()), state_frames(past.values)
    assert a.keys() == b.keys() == c.keys()
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
        pd.testing.assert_frame_equal(a[name], c[name])
    with pytest.raises(TypeError):
        state_frames(42)


def test_state_frames_of_an_empty_state_have_columns(tmp_path):
    with Store(tmp_path / "e.db"):
        pass
    f = state_frames(at(tmp_path / "e.db"))
    assert f["positions"].empty and {"symbol", "qty", "avg_price", "unrealized_pnl"} <= set(f["positions"].columns)
    assert f["orders"].empty and {"client_order_id", "status", "is_open"} <= set(f["orders"].columns)
    assert events_frame(tmp_path / "e.db").empty


# -- P&L and drawdown -------------------------------------------------------------------------


def test_equity_curve_and_drawdown(db, events):
    curve = equity_curve(events)
    assert len(curve) > 100
    assert curve["seq"].is_monotonic_increasing
    assert curve.loc[0, "topic"] == "account.cash_set" and curve.loc[0, "pnl"] == 0.0
    assert (curve["drawdown"] <= 0).all() and curve["drawdown"].min() < 0
    assert (curve["drawdown"] == curve["equity"] - curve["equity"].cummax()).all()
    assert (curve["pnl"] == curve["equity"] - curve["equity"].iloc[0]).all()
    end = at(db)
    assert curve["seq"].iloc[-1] == end.meta["account"][0]
    assert curve["equity"].iloc[-1] == end.values["account"]["equity"]
    mid = int(curve["seq"].iloc[len(curve) // 2])
    assert curve.set_index("seq").loc[mid, "equity"] == at(db, seq=mid).values["account"]["equity"]
    assert equity_curve(db)["equity"].tolist() == curve["equity"].tolist()  # a path works too


def test_drawdown_of_a_series():
    assert drawdown(pd.Series([100.0, 110.0, 105.0, 120.0, 90.0])).tolist() == [0.0, 0.0, -5.0, 0.0, -30.0]


def test_metrics_that_replay_refuse_a_filtered_frame(db):
    with pytest.raises(ValueError, match="whole journal"):
        equity_curve(events_frame(db, topics=["order.*", "market.quote"]))


# -- fills and slippage: a tiny store with exact figures --------------------------------------


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.db"
    with Store(path) as s:
        s.commit(CashSet(cash=10_000.0, reason="opening"))
        aapl = s.commit(QuoteReceived(symbol="AAPL", last=100.0, bid=99.9, ask=100.2, exchange_ts=1.0))
        s.commit(QuoteReceived(symbol="MSFT", last=50.0, bid=40.0, ask=60.0, exchange_ts=1.5))
        s.commit(OrderSubmitting(client_order_id="c1", symbol="AAPL", qty=10, strategy="s1"))
        s.commit(OrderFilled(trade_id="T1", client_order_id="c1", symbol="AAPL", qty=10, price=100.25))
        s.commit(OrderFilled(trade_id="T1", client_order_id="c1", symbol="AAPL", qty=10, price=100.25))  # again
        s.commit(QuoteReceived(symbol="AAPL", last=101.0, bid=100.8, ask=101.1, exchange_ts=2.0))
        s.commit(OrderSubmitting(client_order_id="c2", symbol="AAPL", qty=-4, strategy="s1"))
        s.commit(OrderFilled(trade_id="T2", client_order_id="c2", symbol="AAPL", qty=-4, price=100.7, commission=0.5))
        s.commit(QuoteReceived(symbol="AAPL", last=90.0, bid=89.0, ask=91.0, exchange_ts=3.0))  # after: unused
        s.commit(QuoteReceived(symbol="IBM", last=20.0, exchange_ts=3.0))  # no bid/ask: last is the reference
        s.commit(OrderFilled(trade_id="T3", client_order_id="", symbol="IBM", qty=-5, price=19.9))
    return path, aapl.seq


def test_slippage_against_the_quote_of_the_moment(tiny):
    path, aapl_quote_seq = tiny
    f = fills_frame(path)
    assert f["trade_id"].tolist() == ["T1", "T2", "T3"]  # T1 reported twice, counted once
    t1, t2, t3 = (f.iloc[i] for i in range(3))
    assert (t1["bid"], t1["ask"], t1["last"], t1["quote_seq"]) == (99.9, 100.2, 100.0, aapl_quote_seq)
    assert t1["reference"] == 100.2 and t1["slippage"] == pytest.approx(0.05)
    assert t1["slippage_bps"] == pytest.approx(0.05 / 100.2 * 1e4)
    assert t1["slippage_cost"] == pytest.approx(0.5) and t1["vs_last"] == pytest.approx(0.25)
    assert t1["realized_pnl"] == 0.0 and t1["strategy"] == "s1"
    assert t2["reference"] == 100.8 and t2["side"] == -1
    assert t2["slippage"] == pytest.approx(0.1) and t2["slippage_cost"] == pytest.approx(0.4)
    assert t2["realized_pnl"] == pytest.approx(4 * (100.7 - 100.25) - 0.5)
    assert t3["reference"] == 20.0 and math.isnan(t3["bid"]) and t3["slippage"] == pytest.approx(0.1)
    assert t3["strategy"] == ""

    per = trades_per_symbol(path)
    assert list(per.index) == ["AAPL", "IBM"]
    aapl = per.loc["AAPL"]
    assert (aapl["fills"], aapl["orders"], aapl["bought"], aapl["sold"], aapl["net_qty"]) == (2, 2, 10, 4, 6)
    assert aapl["notional"] == pytest.approx(10 * 100.25 + 4 * 100.7)
    assert aapl["commission"] == 0.5 and aapl["realized_pnl"] == pytest.approx(1.3)
    assert aapl["slippage_cost"] == pytest.approx(0.9)
    assert aapl["slippage_bps"] == pytest.approx(0.9 / (10 * 100.2 + 4 * 100.8) * 1e4)
    assert per.loc["IBM", "orders"] == 0 and per.loc["IBM", "fills"] == 1


def test_fills_of_the_seeded_store(events):
    f = fills_frame(events)
    n = int((events["topic"] == "order.filled").sum())
    assert 0 < len(f) <= n
    assert f["quote_seq"].notna().all() and (f["quote_seq"] < f["seq"]).all()
    # the paper broker fills at last: inside the spread, half of it better than the quote
    assert (f["slippage"] == f["side"] * (f["price"] - f["reference"])).all()
    assert f["realized_pnl"].sum() == pytest.approx(trades_per_symbol(fills=f)["realized_pnl"].sum())


# -- signal hit rate --------------------------------------------------------------------------


def test_signal_hit_rate_on_a_hand_built_sequence(tmp_path):
    path = tmp_path / "signals.db"
    t = iter(range(1, 1000))

    def quote(s, sym, last):
        s.commit(QuoteReceived(symbol=sym, last=last, exchange_ts=float(next(t))))

    def signal(s, direction, sym="AAPL"):
        s.commit(SignalEmitted(strategy="st", symbol=sym, direction=direction))

    with Store(path) as s:
        signal(s, 1)  # A: no quote before it: not scored
        quote(s, "AAPL", 100.0)
        signal(s, 1)  # B: 100 -> (2 AAPL quotes on) 102: hit
        quote(s, "AAPL", 101.0)
        quote(s, "MSFT", 1.0)  # another symbol's quotes do not count
        quote(s, "MSFT", 2.0)
        quote(s, "AAPL", 102.0)
        signal(s, -1)  # C: 102 -> 102: unchanged, a miss
        signal(s, 0)  # D: flat: not scored
        quote(s, "AAPL", 103.0)
        quote(s, "AAPL", 102.0)
        signal(s, -1)  # E: 102 -> 99: hit
        quote(s, "AAPL", 100.0)
        quote(s, "AAPL", 99.0)
        signal(s, 1)  # F: 99 -> 105: hit
        quote(s, "AAPL", 104.0)
        signal(s, -1)  # G: 104 -> ?: too recent at 2 quotes, not scored
        quote(s, "AAPL", 105.0)
        signal(s, 1, "IBM")  # H: no IBM quote at all: not scored
    out = signal_outcomes(path, horizon=2)
    assert len(out) == 8
    assert out["scored"].tolist() == [False, True, True, False, True, True, False, False]
    assert out["hit"].tolist() == [pd.NA, True, False, pd.NA, True, True, pd.NA, pd.NA]
    assert out.loc[1, "price"] == 100.0 and out.loc[1, "price_after"] == 102.0
    assert out.loc[4, "move"] == -3.0
    assert signal_hit_rate(path, horizon=2) == 3 / 4
    # one quote on: B 101 hit, C 103 miss, E 100 hit, F 104 hit, G 105 miss (now scored)
    assert signal_hit_rate(path, horizon=1) == 3 / 5
    assert math.isnan(signal_hit_rate(path, horizon=50))
    with pytest.raises(ValueError):
        signal_outcomes(path, horizon=0)


def test_signal_hit_rate_of_the_seeded_store(events):
    out = signal_outcomes(events)
    assert out["scored"].sum() > 10
    rate = signal_hit_rate(events)
    assert 0.0 <= rate <= 1.0
    assert rate == out.loc[out["scored"], "hit"].astype(bool).mean()
    filtered = events_frame_of(events, ("market.quote", "signal.emitted"))
    assert signal_hit_rate(filtered) == rate  # needs only quotes and signals


def events_frame_of(events, topics):
    return events[events["topic"].isin(topics)].reset_index(drop=True)


# -- reconciliation history -------------------------------------------------------------------


def test_reconcile_history(db, events):
    runs = reconcile_runs(events)
    assert len(runs) == 2
    assert runs["started_seq"].is_monotonic_increasing and runs["completed"].notna().all()
    assert runs["ok"].tolist() == [True, True] and runs["mismatches"].tolist() == [0, 1]
    assert runs["resolved"].tolist() == [0, 1] and set(runs["by"]) == {"startup"}
    mm = reconcile_mismatches(db)
    assert len(mm) == 1 and mm["run_id"].iloc[0] == runs["run_id"].iloc[1]
    assert (mm["kind"].iloc[0], mm["subject"].iloc[0]) == ("order_unknown_to_store", "by-hand-1")
    assert mm["resolution"].iloc[0] == "adopted as an external order"
    state = state_frames(at(db))["mismatches"]
    assert (
        state[["run_id", "kind", "subject", "resolution"]].values.tolist()
        == mm[["run_id", "kind", "subject", "resolution"]].values.tolist()
    )


def test_reconcile_history_of_a_store_without_runs(tiny):
    path, _ = tiny
    assert reconcile_runs(path).empty and "run_id" in reconcile_runs(path).columns
    assert reconcile_mismatches(path).empty and "resolution" in reconcile_mismatches(path).columns
