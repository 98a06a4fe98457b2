"""Overview: runner and trading state, daily P&L against the loss limit, equity, positions,
open orders and recent fills."""

from __future__ import annotations

import math

import pandas as pd
import panel as pn
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure

from ..events import Event, RunnerStatus, TradingState
from ..push.history import EquityHistory, columns
from ..store import StateSource
from .base import BaseView, append_rows, clock, money, sync_table, table, unsynced_ranges

_STATE_COLORS = {TradingState.ACTIVE: "#1e8449", TradingState.REDUCING: "#b9770e", TradingState.HALTED: "#c0392b"}
_RUNNER_COLORS = {
    RunnerStatus.RUNNING: "#1e8449",
    RunnerStatus.PAUSED: "#b9770e",
    RunnerStatus.HALTED: "#c0392b",
    RunnerStatus.ERROR: "#c0392b",
    RunnerStatus.STOPPED: "#555",
}


def badge(label: str, value: str, color: str, css: str) -> str:
    return (
        f'<span class="{css}" data-value="{value}" style="margin-right:14px">{label} '
        f'<b style="color:#fff;background:{color};padding:2px 8px;border-radius:4px">{value}</b></span>'
    )


class OverviewView(BaseView):
    title = "Overview"
    topics = ("runner.*", "risk.*", "account.*", "broker.*", "position.*", "order.*", "market.quote")
    stale_after = None  # positions may rightly stay unchanged for hours; the market view shows feed age
    RECENT_FILLS = 50  # the fills table holds at least these, newest first (see append_rows)

    def __init__(self, store: StateSource, history: EquityHistory, controls=None) -> None:
        super().__init__(store)
        self.status = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["seamless-status"])
        # P&L and the loss-limit bar in one pane: one change, one layout in the browser.
        self.pnl = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["seamless-pnl"])
        # The day's curve is the hub's (push/history.py), mirrored: one for every session.
        self.history = history
        self._curve_gen, points, _ = history.since(-1, 0)  # no generation yet: every point
        self._curve_len = len(points)  # points of that generation shown
        # Bokeh types ``data`` as an (invariant) dict of its own value union: a dict of lists,
        # which is what it takes, does not match it (here and below).
        self.equity_source = ColumnDataSource(columns(points))  # type: ignore[arg-type]
        fig = figure(
            height=180, sizing_mode="stretch_width", x_axis_type="datetime", toolbar_location=None, title="Equity"
        )
        fig.line("t", "equity", source=self.equity_source, line_width=2)
        unsynced_ranges(fig)
        self.equity_plot = pn.pane.Bokeh(fig, sizing_mode="stretch_width")
        self.positions = table(
            ["symbol", "qty:f", "avg_price:f4", "mark:f4", "unrealized:f2", "realized:f2"],
            buttons={"close": "<b>Close</b>"} if controls is not None else {},
            css_classes=["seamless-positions"],
            height=200,
        )
        self.orders = table(
            ["order", "symbol", "qty:f", "filled:f", "status", "type", "strategy", "by_reason"],
            css_classes=["seamless-orders"],
            height=180,
        )
        self.fills = table(
            ["seq:f0", "time", "symbol", "qty:f", "price:f4", "commission:f2", "trade_id", "order"],
            sorters=[{"field": "seq", "dir": "desc"}],
            css_classes=["seamless-fills"],
            height=200,
        )
        self._fill_keys: set[str] = set()
        if controls is not None:
            self.positions.on_click(self._on_click)
        self.controls = controls
        self.section(
            self.status,
            controls.panel if controls is not None else pn.Spacer(height=0),
            self.pnl,
            self.equity_plot,
            pn.pane.Markdown("**Open positions**", margin=(0, 10)),
            self.positions,
            pn.pane.Markdown("**Open orders**", margin=(0, 10)),
            self.orders,
            pn.pane.Markdown("**Recent fills**", margin=(0, 10)),
            self.fills,
        )

    def _on_click(self, event) -> None:
        if event.column == "close" and self.controls is not None:
            symbol = self.positions.value.iloc[event.row]["symbol"]
            self.controls.run("close", self.positions, f"Close {symbol}", symbol=symbol)

    def updated_at(self) -> float | None:
        s = self.state
        times = [
            t
            for t in (
                s.account.updated_at,
                s.positions.updated_at,
                s.orders.updated_at,
                s.runner.updated_at,
                s.risk.updated_at,
            )
            if t is not None
        ]
        return max(times) if times else None

    def update(self, events: list[Event]) -> None:
        s = self.state
        runner, risk, acct = s.runner, s.risk, s.account
        broker = "connected" if runner.broker_connected else f"UNREACHABLE: {runner.broker_error}"
        self.status.object = (
            badge("Runner", runner.status, _RUNNER_COLORS.get(runner.status, "#2471a3"), "seamless-runner-status")
            + badge(
                "Trading", risk.trading_state, _STATE_COLORS.get(risk.trading_state, "#555"), "seamless-trading-state"
            )
            + f'<span style="margin-right:14px">since {clock(runner.since)}</span>'
            + f'<span style="margin-right:14px">broker {broker}</span>'
            + (
                f'<div class="seamless-state-reason" style="color:#666">{risk.state_reason}</div>'
                if risk.state_reason
                else ""
            )
            + (f'<div style="color:#c0392b">last error: {runner.last_error}</div>' if runner.last_error else "")
        )
        daily = acct.equity - acct.day_start_equity if acct.day_start_equity else 0.0
        limit = risk.daily_loss_limit
        used = max(0.0, -daily) / limit * 100 if limit else 0.0
        bar_width = f"{min(100.0, used):.0f}"
        bar = "#c0392b" if used >= 80 else "#b9770e" if used >= 50 else "#1e8449"
        self.pnl.object = (
            f'<span class="seamless-daily-pnl">Daily P&L <b style="color:'
            f'{"#1e8449" if daily >= 0 else "#c0392b"}">{money(daily)}</b></span> · equity '
            f"{money(acct.equity)} · cash {money(acct.cash)} · loss limit {money(limit)} "
            f"({used:.0f}% used)"
            f'<div class="seamless-loss-bar" data-used="{bar_width}" title="daily loss '
            f'against its limit" style="width:260px;height:8px;background:#e5e8e8;border-radius:4px;'
            f'margin-top:4px"><div style="width:{bar_width}%;height:100%;background:{bar};'
            f'border-radius:4px"></div></div>'
        )
        # The hub's new points, at most once a second (each redraws the plot); the whole curve
        # again only when the hub thinned it.
        h = self.history
        if (h.generation != self._curve_gen or len(h) > self._curve_len) and self.due("equity", 1.0):
            gen, points, whole = h.since(self._curve_gen, self._curve_len)
            if whole:
                self.equity_source.data = columns(points)  # type: ignore[assignment]
                self._curve_len = len(points)
            elif points:
                self.equity_source.stream(columns(points))  # type: ignore[arg-type]
                self._curve_len += len(points)
            self._curve_gen = gen
        # Each table only when its part moved: a quote moves marks, not orders or fills.
        if self.moved("positions"):
            self._positions()
        if self.moved("orders"):
            self._orders()
            self._fills()

    def _positions(self) -> None:
        sync_table(self.positions, self.shared("positions", self._positions_frame), "symbol")

    def _positions_frame(self) -> pd.DataFrame:
        rows = []
        for sym, p in sorted(self.state.positions.by_symbol.items()):
            if p.qty == 0:
                continue
            # NaN, not None, for no mark: the column stays numbers (see sync_table)
            unreal = round((p.mark - p.avg_price) * p.qty, 2) if p.mark is not None else math.nan
            rows.append(
                {
                    "symbol": sym,
                    "qty": p.qty,
                    "avg_price": round(p.avg_price, 4),
                    "mark": math.nan if p.mark is None else p.mark,
                    "unrealized": unreal,
                    "realized": round(p.realized_pnl, 2),
                }
            )
        return pd.DataFrame(rows, columns=list(self.positions.value.columns))

    def _orders(self) -> None:
        sync_table(self.orders, self.shared("orders", self._orders_frame), "order")

    def _orders_frame(self) -> pd.DataFrame:
        rows = [
            {
                "order": o.client_order_id,
                "symbol": o.symbol,
                "qty": o.qty,
                "filled": o.filled_qty,
                "status": o.status,
                "type": o.order_type,
                "strategy": o.strategy,
                "by_reason": o.reason,
            }
            for o in self.state.orders.by_id.values()
            if o.is_open
        ]
        return pd.DataFrame(rows, columns=list(self.orders.value.columns))

    def _fills(self) -> None:
        new = [f for f in self.state.orders.fills if f.trade_id not in self._fill_keys]
        if not new:
            return
        self._fill_keys.update(f.trade_id for f in new)
        rows = pd.DataFrame(
            [
                {
                    "seq": float(f.seq),
                    "time": clock(f.updated_at),
                    "symbol": f.symbol,
                    "qty": f.qty,
                    "price": f.price,
                    "commission": f.commission,
                    "trade_id": f.trade_id,
                    "order": f.client_order_id,
                }
                for f in new
            ],
            columns=list(self.fills.value.columns),
        )
        append_rows(self.fills, rows, self.RECENT_FILLS)
