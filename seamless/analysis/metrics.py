"""Trading metrics from the journal: P&L and drawdown, fills and slippage, trades per
symbol, signal hit rate, reconciliation history.

Every function takes an events frame (:func:`~seamless.analysis.frames.events_frame`) or
a store path (read into one).  Figures that depend on the state at each moment (equity,
the quote a fill met, realized P&L) come from applying the journaled events with the
store's own planners (:class:`seamless.apply.Projection`), so they are what the live
store showed, not a second bookkeeping that could disagree with it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..apply import Projection
from ..events import Event, OrderFilled
from .frames import events_frame, to_datetime

Source = pd.DataFrame | str | Path

#: Quotes of the same symbol after a signal at which its outcome is judged (default).
HIT_HORIZON = 20


def _events(source: Source) -> pd.DataFrame:
    return source if isinstance(source, pd.DataFrame) else events_frame(source)


def _walk(events: pd.DataFrame) -> Iterator[tuple[Event, Projection, dict]]:
    """Apply the frame's events one by one; yields (event, projection before it, changes)
    — the projection is advanced after the consumer has looked at it."""
    seqs = events["seq"].to_numpy()
    if len(seqs) and (seqs[0] != 1 or (np.diff(seqs) != 1).any()):
        raise ValueError(
            "this metric replays the state: it needs the whole journal from seq 1 "
            "(an events_frame read without topics=)"
        )
    proj = Projection()
    for ev in events["event"]:
        changes = proj.plan(ev)
        yield ev, proj, changes
        proj.advance(ev, changes)


def _market_ts(events: pd.DataFrame) -> pd.Series:
    """Market time of each event: the latest exchange time journaled up to it."""
    return events["exchange_ts"].ffill()


def drawdown(equity: pd.Series) -> pd.Series:
    """How far below its running peak ``equity`` is at each point: ``equity -
    equity.cummax()`` (0 at a new high, negative below it, never positive)."""
    return equity - equity.cummax()


def equity_curve(source: Source) -> pd.DataFrame:
    """Equity and P&L after each event that changed the account, from the opening balance on.

    Columns: ``seq``, ``topic``, ``ts`` (wall clock), ``market_ts`` (latest exchange time
    by then), ``cash``, ``equity`` (cash plus positions at their marks), ``pnl`` (equity
    minus the first equity of the curve, the opening balance), ``daily_realized_pnl``,
    ``daily_unrealized_pnl``, ``drawdown`` (:func:`drawdown` of equity) and
    ``drawdown_pct`` (drawdown over the running peak).  A cash figure adopted from the
    broker by reconciliation shows as a step: it is what the account showed.
    """
    events = _events(source)
    market_ts = _market_ts(events).to_numpy()
    rows: list[tuple] = []
    for i, (ev, proj, changes) in enumerate(_walk(events)):
        acct = changes.get("account")
        if acct is None:
            continue
        a = {**proj.values["account"], **acct}
        rows.append(
            (
                ev.seq,
                ev.topic,
                ev.ts,
                market_ts[i],
                a["cash"],
                a["equity"],
                a["daily_realized_pnl"],
                a["daily_unrealized_pnl"],
            )
        )
    df = pd.DataFrame(
        rows,
        columns=["seq", "topic", "ts", "market_ts", "cash", "equity", "daily_realized_pnl", "daily_unrealized_pnl"],
    )
    df["ts"] = to_datetime(df["ts"].astype("float64"))
    df["market_ts"] = pd.to_datetime(df["market_ts"], utc=True)
    df.insert(6, "pnl", df["equity"] - (df["equity"].iloc[0] if len(df) else 0.0))
    df["drawdown"] = drawdown(df["equity"])
    peak = df["equity"].cummax()
    df["drawdown_pct"] = (df["drawdown"] / peak.where(peak > 0)).fillna(0.0)
    return df


def fills_frame(source: Source) -> pd.DataFrame:
    """One row per fill applied (a trade id reported again is counted once), with the
    quote of its symbol at that moment and the slippage.

    The quote of the moment is the last quote of the fill's symbol journaled before the
    fill (what the store showed when the fill arrived).  The reference price is the ask
    for a buy and the bid for a sell (``last`` when the quote has no bid/ask), and
    ``slippage = side * (price - reference)`` per share: positive is a cost (paid above
    the ask, sold below the bid), negative an improvement.  ``slippage_bps`` is it over
    the reference in basis points, ``slippage_cost`` times the filled quantity, and
    ``vs_last`` the same against ``last`` (half the spread included).  ``realized_pnl``
    is the P&L the fill realized, net of commission; ``strategy`` is the order's
    (``""`` for a trade made outside any order, such as one by hand at the broker).
    """
    events = _events(source)
    market_ts = _market_ts(events).to_numpy()
    rows: list[dict[str, Any]] = []
    for i, (ev, proj, changes) in enumerate(_walk(events)):
        if not isinstance(ev, OrderFilled) or not changes:
            continue  # a fill reported twice (same trade id) is journaled but applied once
        v = proj.values
        quote = v["market"]["quotes"].get(ev.symbol)
        before = v["positions"]["by_symbol"].get(ev.symbol)
        after = changes.get("positions", {}).get("by_symbol", {}).get(ev.symbol)
        realized = (after.realized_pnl if after is not None else 0.0) - (
            before.realized_pnl if before is not None else 0.0
        )
        order = v["orders"]["by_id"].get(ev.client_order_id)
        side = 1 if ev.qty > 0 else -1
        bid, ask, last = (quote.bid, quote.ask, quote.last) if quote is not None else (None, None, None)
        ref = ask if side > 0 else bid
        if ref is None:
            ref = last
        slip = side * (ev.price - ref) if ref is not None else math.nan
        rows.append(
            {
                "seq": ev.seq,
                "ts": ev.ts,
                "market_ts": market_ts[i],
                "trade_id": ev.trade_id,
                "client_order_id": ev.client_order_id,
                "strategy": order.strategy if order is not None else "",
                "symbol": ev.symbol,
                "qty": ev.qty,
                "side": side,
                "price": ev.price,
                "commission": ev.commission,
                "quote_seq": quote.seq if quote is not None else None,
                "bid": bid,
                "ask": ask,
                "last": last,
                "reference": ref,
                "slippage": slip,
                "slippage_bps": slip / ref * 1e4 if ref else math.nan,
                "slippage_cost": slip * abs(ev.qty),
                "vs_last": side * (ev.price - last) if last is not None else math.nan,
                "realized_pnl": realized,
            }
        )
    cols = [
        "seq",
        "ts",
        "market_ts",
        "trade_id",
        "client_order_id",
        "strategy",
        "symbol",
        "qty",
        "side",
        "price",
        "commission",
        "quote_seq",
        "bid",
        "ask",
        "last",
        "reference",
        "slippage",
        "slippage_bps",
        "slippage_cost",
        "vs_last",
        "realized_pnl",
    ]
    df = pd.DataFrame(rows, columns=cols)
    for c in ("bid", "ask", "last", "reference", "quote_seq"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    df["ts"] = to_datetime(df["ts"].astype("float64"))
    df["market_ts"] = pd.to_datetime(df["market_ts"], utc=True)
    return df


def trades_per_symbol(source: Source | None = None, *, fills: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per symbol: ``fills``, ``orders`` (distinct client order ids; a trade by hand has
    none), ``bought`` and ``sold`` (shares), ``net_qty``, ``notional`` (sum of |qty| x
    price), ``commission``, ``realized_pnl`` (net of commission), ``slippage_cost`` and
    the volume-weighted ``slippage_bps``.  Index: symbol, sorted.  Pass ``fills=`` a
    :func:`fills_frame` already made to avoid replaying twice."""
    if fills is not None:
        f = fills
    elif source is not None:
        f = fills_frame(_events(source))
    else:
        raise TypeError("trades_per_symbol needs a source or fills=")
    cols = [
        "fills",
        "orders",
        "bought",
        "sold",
        "net_qty",
        "notional",
        "commission",
        "realized_pnl",
        "slippage_cost",
        "slippage_bps",
    ]
    if f.empty:
        return pd.DataFrame(columns=cols, index=pd.Index([], name="symbol"))
    f = f.assign(
        notional=f["qty"].abs() * f["price"],
        bought=f["qty"].clip(lower=0),
        sold=(-f["qty"]).clip(lower=0),
        order=f["client_order_id"].where(f["client_order_id"] != ""),
        ref_notional=f["qty"].abs() * f["reference"],
    )
    g = f.groupby("symbol", sort=True)
    out = pd.DataFrame(
        {
            "fills": g.size(),
            "orders": g["order"].nunique(),
            "bought": g["bought"].sum(),
            "sold": g["sold"].sum(),
            "net_qty": g["qty"].sum(),
            "notional": g["notional"].sum(),
            "commission": g["commission"].sum(),
            "realized_pnl": g["realized_pnl"].sum(),
            "slippage_cost": g["slippage_cost"].sum(),
        }
    )
    out["slippage_bps"] = out["slippage_cost"] / g["ref_notional"].sum() * 1e4
    out.index.name = "symbol"
    return out[cols]


def signal_outcomes(source: Source, horizon: int = HIT_HORIZON) -> pd.DataFrame:
    """Each signal and what its symbol's price did next.

    ``price`` is ``last`` of the symbol's latest quote at the signal, ``price_after`` that
    of the ``horizon``-th quote of the same symbol after it, ``move`` their difference.
    A buy (+1) or sell (-1) signal is a ``hit`` when ``direction * move > 0`` — the price
    went its way (an unchanged price is a miss).  A flat (0) signal predicts no direction,
    and a signal with fewer than ``horizon`` quotes after it (or none before it) cannot be
    judged yet: those have ``scored`` False and ``hit`` missing.
    Needs the ``market.quote`` and ``signal.emitted`` events (a frame filtered to them will do).
    """
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1 quote, not {horizon}")
    events = _events(source)
    quotes = events[events["topic"] == "market.quote"]
    signals = events[events["topic"] == "signal.emitted"]
    by_symbol = {
        s: (q["seq"].to_numpy(), q["last"].to_numpy(dtype="float64")) for s, q in quotes.groupby("symbol", sort=False)
    }
    rows = []
    for seq, ts, strategy, symbol, direction in zip(
        signals["seq"], signals["ts"], signals["strategy"], signals["symbol"], signals["direction"]
    ):
        qseq, last = by_symbol.get(symbol, (np.empty(0, dtype="int64"), np.empty(0)))
        i = int(np.searchsorted(qseq, seq, side="right")) - 1  # the latest quote at the signal
        price = last[i] if i >= 0 else math.nan
        j = i + horizon
        after = last[j] if i >= 0 and j < len(last) else math.nan
        scored = int(direction) != 0 and not math.isnan(price) and not math.isnan(after)
        move = after - price
        rows.append(
            {
                "seq": seq,
                "ts": ts,
                "strategy": strategy,
                "symbol": symbol,
                "direction": int(direction),
                "price": price,
                "price_after": after,
                "move": move,
                "scored": scored,
                "hit": bool(direction * move > 0) if scored else None,
            }
        )
    df = pd.DataFrame(
        rows, columns=["seq", "ts", "strategy", "symbol", "direction", "price", "price_after", "move", "scored", "hit"]
    )
    df["hit"] = df["hit"].astype("boolean")
    df["scored"] = df["scored"].astype(bool)
    return df


def signal_hit_rate(source: Source, horizon: int = HIT_HORIZON) -> float:
    """Hits over scored signals (see :func:`signal_outcomes`); NaN when none can be scored."""
    out = signal_outcomes(source, horizon)
    scored = out[out["scored"]]
    return float(scored["hit"].astype(bool).mean()) if len(scored) else math.nan


def reconcile_runs(source: Source) -> pd.DataFrame:
    """One row per reconciliation run, in order: ``run_id``, ``started_seq``, ``started``,
    ``completed`` (NaT while running or if the run never finished), ``duration_s``,
    ``mismatches`` (findings), ``resolved``, ``ok`` (store and broker agreed afterwards)
    and ``by`` (what started it, when journaled)."""
    events = _events(source)
    started = events[events["topic"] == "reconcile.started"]
    done = events[events["topic"] == "reconcile.completed"]
    cols = ["run_id", "started_seq", "started", "completed", "duration_s", "mismatches", "resolved", "ok", "by"]
    if started.empty and done.empty:
        return pd.DataFrame(columns=cols)
    runs = pd.DataFrame(
        {
            "run_id": started["run_id"],
            "started_seq": started["seq"],
            "started": started["ts"],
            "by": started["by"] if "by" in started.columns else None,
        }
    )
    ends = pd.DataFrame(
        {
            "run_id": done["run_id"],
            "completed": done["ts"],
            "duration_s": done["duration_s"],
            "mismatches": done["mismatches"],
            "resolved": done["resolved"],
            "ok": done["ok"],
        }
    )
    out = runs.merge(ends, on="run_id", how="outer", sort=False)
    out = out.sort_values(["started_seq"], kind="stable", na_position="last").reset_index(drop=True)
    for c in ("mismatches", "resolved"):
        out[c] = out[c].astype("Int64")
    out["ok"] = out["ok"].astype("boolean")
    out["started_seq"] = out["started_seq"].astype("Int64")
    return out[cols]


def reconcile_mismatches(source: Source) -> pd.DataFrame:
    """Every reconciliation finding with its resolution: ``seq``, ``ts``, ``run_id``,
    ``kind``, ``subject``, ``store_value``, ``broker_value``, ``resolution``."""
    events = _events(source)
    cols = ["seq", "ts", "run_id", "kind", "subject", "store_value", "broker_value", "resolution"]
    m = events[events["topic"] == "reconcile.mismatch"]
    if m.empty:
        return pd.DataFrame(columns=cols)
    return m[cols].reset_index(drop=True)
