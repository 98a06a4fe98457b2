"""Market: per symbol, a live candle chart at a chosen bar size with the strategy's signals, the
fills (buy and sell markers; quantity and price on hover) and the monitors' levels as lines;
then the quotes, the latest signals and the monitors as tables.

The bars, fills and signals are the hub's (``seamless.push.candles``), kept once for every
session. The chart is streamed: the bar still forming is patched, new bars, fills and signals
are streamed; the sources are set whole only when the symbol or the bar size changes.
"""

from __future__ import annotations

import time
from datetime import datetime

import pandas as pd
import panel as pn
from bokeh.models import ColumnDataSource, HoverTool, NumeralTickFormatter
from bokeh.plotting import figure

from .. import fmt
from ..events import Event, MonitorStatus
from ..push.candles import Candles
from ..store import StateSource
from .base import BaseView, sync_table, table, time_axis, unsynced_ranges
from .palette import AMBER, BLUE, GREEN, GREY, RED

BAR_SIZES = {"1 s": 1.0, "5 s": 5.0, "1 min": 60.0, "5 min": 300.0, "15 min": 900.0}
DEFAULT_BAR = "1 min"
MAX_BARS = 240  # shown; the hub keeps the last 4 hours at 1 s
_MONITOR_COLORS = {"stop_loss": RED, "take_profit": GREEN, "trailing_stop": AMBER, "price_alert": BLUE}


def _ms(t: float) -> float:
    """Exchange epoch seconds -> the chart's x: ms of the exchange's wall clock (the axis
    then reads in the exchange's zone, labelled ET)."""
    off = fmt.EXCHANGE_ZONE.utcoffset(datetime.fromtimestamp(t))
    return (t + (off.total_seconds() if off is not None else 0.0)) * 1000


def _bar_columns(bars: list[tuple[float, ...]], size_s: float) -> dict[str, list]:
    cols: dict[str, list] = {k: [] for k in ("t", "open", "high", "low", "close", "top", "bottom", "color")}
    for start, o, h, lo, c in bars:
        cols["t"].append(_ms(start + size_s / 2))
        cols["open"].append(o)
        cols["high"].append(h)
        cols["low"].append(lo)
        cols["close"].append(c)
        cols["top"].append(max(o, c))
        cols["bottom"].append(min(o, c))
        cols["color"].append(GREEN if c >= o else RED)
    return cols


def _mark_columns(marks, fills: bool) -> dict[str, list]:
    return {
        "t": [_ms(m.t) for m in marks],
        "price": [m.price for m in marks],
        "qty": [m.qty for m in marks],
        "side": ["BUY" if m.side > 0 else "SELL" if m.side < 0 else "FLAT" for m in marks],
        "marker": ["triangle" if m.side > 0 else "inverted_triangle" if m.side < 0 else "diamond" for m in marks],
        "color": [GREEN if m.side > 0 else RED if m.side < 0 else GREY for m in marks],
        "seq": [m.seq for m in marks],
        "text": [m.text for m in marks],
    }


class MarketView(BaseView):
    title = "Market"
    topics = ("market.quote", "signal.*", "monitor.*", "order.filled")

    def __init__(
        self, store: StateSource, candles: Candles | None = None, stale_after: float = 5.0, spark_points: int = 300
    ) -> None:
        self.stale_after = stale_after
        super().__init__(store)
        self.candles = candles
        symbols = sorted(store.state.market.quotes) or list(getattr(candles, "symbols", list)())
        self.symbol = pn.widgets.Select(
            label="Symbol",
            options=symbols,
            value=symbols[0] if symbols else None,
            width=140,
            css_classes=["seamless-symbol"],
        )
        self.bar_size = pn.widgets.RadioButtonGroup(
            label="Bar size",
            options=list(BAR_SIZES),
            value=DEFAULT_BAR,
            css_classes=["seamless-bar-size"],
            color="light",
            margin=(22, 10, 5, 10),
        )
        self.bar_source = ColumnDataSource(_bar_columns([], 60.0))  # type: ignore[arg-type]
        self.fill_source = ColumnDataSource(_mark_columns([], True), name="seamless-fill-marks")  # type: ignore[arg-type]
        self.signal_source = ColumnDataSource(_mark_columns([], False))  # type: ignore[arg-type]
        self.monitor_source = ColumnDataSource({"level": [], "color": [], "kind": []})
        self.chart = pn.pane.Bokeh(self._figure(), sizing_mode="stretch_width", css_classes=["seamless-chart"])
        self._shown: tuple[str | None, float] | None = None  # (symbol, bar size) the sources hold
        self._last_bar: float = float("-inf")  # start of the last bar shown (exchange s)
        self._last_fill = 0
        self._last_signal = 0
        self.quotes = table(
            ["symbol", "last:f2", "bid:f2", "ask:f2", "exchange_time:t", "age_s:f0"],
            css_classes=["seamless-quotes"],
            height=150,
        )
        self.signals = table(
            ["key", "strategy", "symbol", "direction:f0", "strength:f2", "price:f2", "reason", "time:t"],
            css_classes=["seamless-signals"],
            height=150,
        )
        self.monitors = table(
            ["monitor", "symbol", "kind", "trigger:f2", "high_water:f2", "status"],
            css_classes=["seamless-monitors"],
            height=150,
            empty="no monitor",
        )
        self.symbol.param.watch(lambda _e: self._chart(rebuild=True), "value")
        self.bar_size.param.watch(lambda _e: self._chart(rebuild=True), "value")
        self.section(
            pn.FlexBox(self.symbol, self.bar_size, sizing_mode="stretch_width", align_items="end"),
            self.chart,
            self.titled_table("quotes", "Quotes", self.quotes),
            self.quotes,
            self.titled_table("signals", "Signals", self.signals),
            self.signals,
            self.titled_table("monitors", "Monitors", self.monitors),
            self.monitors,
        )

    def _figure(self):
        fig = figure(
            height=320,
            sizing_mode="stretch_width",
            x_axis_type="datetime",
            toolbar_location="right",
            tools="xpan,xwheel_zoom,reset",
            x_axis_label=f"exchange time ({fmt.EXCHANGE_LABEL})",
        )
        fig.segment("t", "high", "t", "low", source=self.bar_source, color="color")
        self._bars = fig.vbar("t", 1.0, "top", "bottom", source=self.bar_source, fill_color="color", line_color="color")
        fig.hspan(y="level", source=self.monitor_source, line_color="color", line_dash="dashed", line_width=1.5)
        signals = fig.scatter(
            "t", "price", source=self.signal_source, marker="circle", size=7, fill_color="white", line_color="color"
        )
        fills = fig.scatter("t", "price", source=self.fill_source, marker="marker", size=12, color="color")
        fig.add_tools(
            HoverTool(
                renderers=[fills],
                tooltips=[("fill", "@side @qty{0,0} @ @price{0,0.00}"), ("trade", "@text"), ("seq", "@seq")],
            ),
            HoverTool(renderers=[signals], tooltips=[("signal", "@side @price{0,0.00}"), ("why", "@text")]),
        )
        fig.yaxis.formatter = NumeralTickFormatter(format="$0,0.00")
        time_axis(fig)
        unsynced_ranges(fig)
        return fig

    def updated_at(self) -> float | None:
        return self.state.market.updated_at

    def update(self, events: list[Event]) -> None:
        if self.symbol.value is None and self.state.market.quotes:
            self.symbol.options = sorted(self.state.market.quotes)
            self.symbol.value = self.symbol.options[0]  # its watcher builds the chart
        self._chart()
        self._quotes(time.time())
        if self.moved("signals"):
            self._signals()
        if self.moved("monitors"):
            self._monitors()

    def _chart(self, rebuild: bool = False) -> None:
        """Stream what is new: patch the forming bar, append closed bars, fills and signals."""
        sym, size = self.symbol.value, BAR_SIZES[self.bar_size.value]
        if self.candles is None or sym is None:
            return
        if rebuild or self._shown != (sym, size):
            self._shown = (sym, size)
            bars = self.candles.bars(sym, size)[-MAX_BARS:]
            self._bars.glyph.width = size * 1000 * 0.7
            self.bar_source.data = _bar_columns(bars, size)  # type: ignore[assignment]
            self._last_bar = bars[-1][0] if bars else float("-inf")
            fills, signals = self.candles.fills(sym), self.candles.signals(sym)
            self.fill_source.data = _mark_columns(fills, True)  # type: ignore[assignment]
            self.signal_source.data = _mark_columns(signals, False)  # type: ignore[assignment]
            self._last_fill = fills[-1].seq if fills else 0
            self._last_signal = signals[-1].seq if signals else 0
            self._monitors_chart()
            return
        bars = self.candles.bars(sym, size, since=self._last_bar)
        if bars:
            n = len(self.bar_source.data["t"])
            if n and bars[0][0] == self._last_bar:
                cols = _bar_columns(bars[:1], size)
                self.bar_source.patch({k: [(n - 1, v[0])] for k, v in cols.items() if k != "t"})  # type: ignore[arg-type]
                bars = bars[1:]
            if bars:
                self.bar_source.stream(_bar_columns(bars, size), rollover=MAX_BARS)  # type: ignore[arg-type]
                self._last_bar = bars[-1][0]
        fills = self.candles.fills(sym, self._last_fill)
        if fills:
            self.fill_source.stream(_mark_columns(fills, True))  # type: ignore[arg-type]
            self._last_fill = fills[-1].seq
        signals = self.candles.signals(sym, self._last_signal)
        if signals:
            self.signal_source.stream(_mark_columns(signals, False))  # type: ignore[arg-type]
            self._last_signal = signals[-1].seq

    def _monitors_chart(self) -> None:
        """The active monitors' levels of the chart's symbol, as horizontal lines."""
        active = [
            m
            for m in self.state.monitors.by_id.values()
            if m.symbol == self.symbol.value and m.status == MonitorStatus.ACTIVE and m.trigger is not None
        ]
        self.monitor_source.data = {
            "level": [m.trigger for m in active],
            "color": [_MONITOR_COLORS.get(m.kind, GREY) for m in active],
            "kind": [m.kind for m in active],
        }

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
                "time": fmt.iso(s.updated_at),
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
        self._monitors_chart()

    def _quotes(self, now: float) -> None:
        rows = [
            {
                "symbol": sym,
                "last": q.last,
                "bid": q.bid,
                "ask": q.ask,
                "exchange_time": fmt.iso(q.exchange_ts),
                "age_s": int(now - q.updated_at),
            }
            for sym, q in sorted(self.state.market.quotes.items())
        ]
        sync_table(self.quotes, pd.DataFrame(rows, columns=list(self.quotes.value.columns)), "symbol")

    def show_age(self, now: float) -> None:
        super().show_age(now)
        self._quotes(now)  # per-symbol ages: one symbol's feed can stop alone
