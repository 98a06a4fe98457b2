"""Market: live quotes with a sparkline per symbol, the latest signals, active monitors."""

from __future__ import annotations

import time

import pandas as pd
import panel as pn
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure

from ..events import Event
from ..store import StateSource
from .base import BaseView, clock, sync_table, table, unsynced_ranges


class MarketView(BaseView):
    title = "Market"
    topics = ("market.quote", "signal.*", "monitor.*")

    def __init__(self, store: StateSource, stale_after: float = 5.0, spark_points: int = 300) -> None:
        self.stale_after = stale_after
        super().__init__(store)
        self.quotes = table(
            ["symbol", "last:f4", "bid:f4", "ask:f4", "exchange_time", "age_s:f1"],
            css_classes=["seamless-quotes"],
            height=180,
        )
        self.signals = table(
            ["key", "strategy", "symbol", "direction:f", "strength:f2", "price:f4", "reason", "time"],
            css_classes=["seamless-signals"],
            height=180,
        )
        self.monitors = table(
            ["monitor", "symbol", "kind", "trigger:f4", "high_water:f4", "status"],
            css_classes=["seamless-monitors"],
            height=180,
        )
        self.spark_points = spark_points
        self.sparks: dict[str, ColumnDataSource] = {}
        self._spark_last: dict[str, int] = {}
        self.spark_row = pn.FlexBox(sizing_mode="stretch_width")
        self.section(
            self.spark_row,
            self.quotes,
            pn.pane.Markdown("**Signals**", margin=(0, 10)),
            self.signals,
            pn.pane.Markdown("**Monitors**", margin=(0, 10)),
            self.monitors,
        )

    def updated_at(self) -> float | None:
        return self.state.market.updated_at

    def _spark(self, symbol: str) -> ColumnDataSource:
        src = self.sparks.get(symbol)
        if src is None:
            src = self.sparks[symbol] = ColumnDataSource({"t": [], "last": []})
            fig = figure(height=90, width=220, toolbar_location=None, title=symbol, x_axis_type="datetime")
            fig.line("t", "last", source=src, line_width=1.5)
            unsynced_ranges(fig)
            fig.xaxis.visible = fig.yaxis.visible = False
            fig.grid.visible = False
            self.spark_row.append(pn.pane.Bokeh(fig))
        return src

    def update(self, events: list[Event]) -> None:
        for sym, q in sorted(self.state.market.quotes.items()):
            if self._spark_last.get(sym) != q.seq:  # one point per refresh: the latest price
                self._spark_last[sym] = q.seq
                self._spark(sym).stream(
                    {"t": [(q.exchange_ts or q.updated_at) * 1000], "last": [q.last]}, rollover=self.spark_points
                )
        self._quotes(time.time())
        if self.moved("signals"):
            self._signals()
        if self.moved("monitors"):
            self._monitors()

    def _signals(self) -> None:
        sig = [
            {
                "key": k,
                "strategy": s.strategy,
                "symbol": s.symbol,
                "direction": s.direction,
                "strength": s.strength,
                "price": s.price,
                "reason": s.reason,
                "time": clock(s.updated_at),
            }
            for k, s in sorted(self.state.signals.latest.items())
        ]
        sync_table(self.signals, pd.DataFrame(sig, columns=list(self.signals.value.columns)), "key")

    def _monitors(self) -> None:
        mons = [
            {
                "monitor": m.monitor_id,
                "symbol": m.symbol,
                "kind": m.kind,
                "trigger": m.trigger,
                "high_water": m.high_water,
                "status": m.status,
            }
            for m in sorted(self.state.monitors.by_id.values(), key=lambda m: m.monitor_id)
        ]
        sync_table(self.monitors, pd.DataFrame(mons, columns=list(self.monitors.value.columns)), "monitor")

    def _quotes(self, now: float) -> None:
        rows = [
            {
                "symbol": sym,
                "last": q.last,
                "bid": q.bid,
                "ask": q.ask,
                "exchange_time": clock(q.exchange_ts),
                "age_s": int(now - q.updated_at),
            }
            for sym, q in sorted(self.state.market.quotes.items())
        ]
        sync_table(self.quotes, pd.DataFrame(rows, columns=list(self.quotes.value.columns)), "symbol")

    def show_age(self, now: float) -> None:
        super().show_age(now)
        self._quotes(now)  # per-symbol ages: one symbol's feed can stop alone
