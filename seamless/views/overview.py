"""Overview: KPI tiles (equity, daily P&L, the loss limit's use, exposure, open orders, fills
today), the equity curve over its drawdown, positions with their P&L, open orders, recent fills.
The runner's and trading's states are the header's (seamless.views.status)."""

from __future__ import annotations

import math
from datetime import datetime

import pandas as pd
import panel as pn
from bokeh.models import ColumnDataSource, NumeralTickFormatter
from bokeh.plotting import figure

from .. import fmt
from ..events import Event
from ..push import Derived
from ..push.history import EquityHistory, columns
from ..store import StateSource
from .base import BaseView, append_rows, rows_from, sync_table, table, time_axis, unsynced_ranges
from .kpis import KpiTiles
from .palette import INK, RED

# The critical events that change each shared build (other changes, a quote's mark, wait their turn).
POSITIONS = ("order.filled", "position.*")
ORDERS = ("order.*",)
FIGURES = ("order.*", "position.*", "risk.*", "account.*")


class OverviewView(BaseView):
    title = "Overview"
    topics = ("risk.*", "account.*", "position.*", "order.*", "market.quote")
    stale_after = None  # positions may rightly stay unchanged for hours; the market view shows feed age
    RECENT_FILLS = 50  # the fills table holds at least these, newest first (see append_rows)

    def __init__(
        self, store: StateSource, history: EquityHistory, controls=None, derived: Derived | None = None
    ) -> None:
        super().__init__(store, derived)
        self.kpis = KpiTiles()
        # The day's curve is the hub's (push/history.py), mirrored: one for every session.
        self.history = history
        self._peak = -math.inf
        self._curve_gen, points, _ = history.since(-1, 0)  # no generation yet: every point
        self._curve_len = len(points)  # points of that generation shown
        # Bokeh types ``data`` as an (invariant) dict of its own value union: a dict of lists,
        # which is what it takes, does not match it (here and below).
        self.equity_source = ColumnDataSource(self._columns(points))  # type: ignore[arg-type]
        self.equity_plot = self._figures()
        self.positions = table(
            ["symbol", "qty:f0", "avg_price:f2", "mark:f2", "unrealized:pnl", "realized:pnl"],
            buttons={"close": "<b>Close</b>"} if controls is not None else {},
            css_classes=["seamless-positions"],
            height=180,
        )
        self.orders = table(
            ["order", "symbol", "qty:f0", "filled:f0", "status", "type", "strategy", "by_reason"],
            css_classes=["seamless-orders"],
            height=180,
        )
        self.fills = table(
            ["seq:f0", "time:t", "symbol", "qty:f0", "price:f2", "commission:$", "trade_id", "order"],
            sorters=[{"field": "seq", "dir": "desc"}],
            css_classes=["seamless-fills"],
            height=180,
        )
        self._fills_seq = -1.0  # the last fill shown
        self._synced: dict[str, pd.DataFrame] = {}  # table -> the shared frame it shows
        self.controls = controls
        self.close_outcome = controls.outcome("seamless-close-outcome") if controls is not None else None
        if controls is not None:
            self.positions.on_click(self._on_click)
        positions: list = [self.titled_table("positions", "Open positions", self.positions), self.positions]
        if self.close_outcome is not None:
            positions.append(self.close_outcome.pane)
        self.section(
            self.kpis.pane,
            self.equity_plot,
            pn.FlexBox(
                pn.Column(*positions, sizing_mode="stretch_width", min_width=340, styles={"flex": "1 1 340px"}),
                pn.Column(
                    self.titled_table("orders", "Open orders", self.orders),
                    self.orders,
                    sizing_mode="stretch_width",
                    min_width=340,
                    styles={"flex": "1 1 340px"},
                ),
                sizing_mode="stretch_width",
            ),
            self.titled_table("fills", "Recent fills", self.fills, hidden=("trade_id", "order")),
            self.fills,
        )

    def _columns(self, points: list[tuple[float, float]]) -> dict[str, list[float]]:
        """The curve's points with each one's drawdown from the peak before it (kept across
        streams: the new points go on from the last peak)."""
        cols = columns(points)
        dd = []
        for e in cols["equity"]:
            self._peak = max(self._peak, e)
            dd.append(e - self._peak)
        cols["drawdown"] = dd
        return cols

    def _figures(self):
        """Equity over its drawdown on one time axis; money on the y axes, ranged on the data
        (from the account's first value, not from 0), in plain numbers."""
        eq = figure(
            height=170,
            sizing_mode="stretch_width",
            x_axis_type="datetime",
            toolbar_location=None,
            title="Equity (time in UTC)",
        )
        eq.line("t", "equity", source=self.equity_source, line_width=2, color=INK)
        dd = figure(
            height=110,
            sizing_mode="stretch_width",
            x_axis_type="datetime",
            toolbar_location=None,
            title="Drawdown",
            x_range=eq.x_range,
        )
        dd.varea("t", y1="drawdown", y2=0, source=self.equity_source, color=RED, alpha=0.35)
        dd.yaxis.ticker.desired_num_ticks = 3
        for f in (eq, dd):
            f.yaxis.formatter = NumeralTickFormatter(format="$0,0.[00]")
            time_axis(f)
            unsynced_ranges(f)
        return pn.Column(
            pn.pane.Bokeh(eq, sizing_mode="stretch_width"),
            pn.pane.Bokeh(dd, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
            margin=0,
        )

    def _on_click(self, event) -> None:
        if event.column == "close" and self.controls is not None:
            symbol = self.positions.value.iloc[event.row]["symbol"]
            self.controls.run(
                "close",
                self.positions,
                f"Close {symbol}",
                outcome=self.close_outcome,
                key=lambda s, sym=symbol: getattr(s.positions.by_symbol.get(sym), "seq", None),
                symbol=symbol,
            )

    def updated_at(self) -> float | None:
        s = self.state
        times = [
            t
            for t in (s.account.updated_at, s.positions.updated_at, s.orders.updated_at, s.risk.updated_at)
            if t is not None
        ]
        return max(times) if times else None

    def _fills_today(self) -> int:
        """Fills since the exchange's midnight (among the state's recent ones)."""
        midnight = datetime.now(fmt.EXCHANGE_ZONE).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        return sum(1 for f in self.state.orders.fills if f.updated_at >= midnight)

    def _figures_now(self) -> dict[str, float]:
        """The KPI tiles' figures (shared by every session: see BaseView.shared)."""
        s = self.state
        risk, acct = s.risk, s.account
        daily = acct.equity - acct.day_start_equity if acct.day_start_equity else 0.0
        limit = risk.daily_loss_limit
        return {
            "equity": acct.equity,
            "daily": daily,
            "limit": limit,
            "used": max(0.0, -daily) / limit * 100 if limit else 0.0,
            "exposure": sum(
                abs(p.qty * (p.mark if p.mark is not None else p.avg_price)) for p in s.positions.by_symbol.values()
            ),
            "open_orders": sum(1 for o in s.orders.by_id.values() if o.is_open),
            "fills_today": self._fills_today(),
        }

    def update(self, events: list[Event]) -> None:
        k = self.shared(self._figures_now, "account", "positions", "orders", "risk", topics=FIGURES)
        self.kpis.show(k)
        # The hub's new points, at most once a second (each redraws the plot); the whole curve
        # again only when the hub thinned it.
        h = self.history
        if (h.generation != self._curve_gen or len(h) > self._curve_len) and self.due("equity", 1.0):
            gen, points, whole = h.since(self._curve_gen, self._curve_len)
            if whole:
                self._peak = -math.inf
                self.equity_source.data = self._columns(points)  # type: ignore[assignment]
                self._curve_len = len(points)
            elif points:
                self.equity_source.stream(self._columns(points))  # type: ignore[arg-type]
                self._curve_len += len(points)
            self._curve_gen = gen
        # Each table only when its frame is a new one: a quote moves marks, not orders or fills.
        self._sync(self.positions, self.shared(self._positions_frame, "positions", topics=POSITIONS), "symbol")
        self._sync(self.orders, self.shared(self._orders_frame, "orders", topics=ORDERS), "order")
        self._fills(self.shared(self._fills_frame, version=self._last_fill))

    def _sync(self, widget, frame: pd.DataFrame, key: str) -> None:
        if self._synced.get(key) is not frame:
            sync_table(widget, frame, key)
            self._synced[key] = frame

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

    def _last_fill(self) -> int:
        """The seq of the last fill: the fills frame's version (orders move far more often)."""
        fills = self.state.orders.fills
        return fills[-1].seq if fills else 0

    def _fills_frame(self) -> pd.DataFrame:
        """The state's recent fills, oldest first (their seqs rise)."""
        return pd.DataFrame(
            [
                {
                    "seq": float(f.seq),
                    "time": fmt.iso(f.updated_at),
                    "symbol": f.symbol,
                    "qty": f.qty,
                    "price": f.price,
                    "commission": f.commission,
                    "trade_id": f.trade_id,
                    "order": f.client_order_id,
                }
                for f in self.state.orders.fills
            ],
            columns=list(self.fills.value.columns),
        )

    def _fills(self, frame: pd.DataFrame) -> None:
        """The fills after the last one shown, appended."""
        if frame is self._synced.get("fills") or frame.empty:
            return
        self._synced["fills"] = frame
        new = int(frame["seq"].searchsorted(self._fills_seq, side="right"))
        if new == len(frame):
            return
        self._fills_seq = float(frame["seq"].to_numpy()[-1])
        append_rows(self.fills, rows_from(frame, new), self.RECENT_FILLS, key="seq")
