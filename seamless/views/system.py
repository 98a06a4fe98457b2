"""System, a monitoring page: the last 15 minutes of events per second by topic, commit /
write / push latency p50 and p99, journal lag and open sessions as charts (the hub's series,
streamed); then the figures now — dispatch latency, snapshot age, the writer's fan-out cost,
and the notifications: sent, failed, retried, coalesced and the last error (targets and
errors without their secrets) — and events per second by topic."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pandas as pd
import panel as pn
from bokeh.models import ColumnDataSource, NumeralTickFormatter
from bokeh.plotting import figure

from ..events import Event
from ..push.series import COLUMNS, GROUPS
from ..store import StateSource
from .base import ROW_HEIGHT, BaseView, sync_table, table, time_axis, unsynced_ranges
from .palette import AMBER, GREEN, GREY, INK, PURPLE, RED

_COLORS = (INK, GREEN, AMBER, PURPLE, RED, GREY)

if TYPE_CHECKING:
    from ..notify.notifier import Notifier


def _ms(v: float | None) -> str:
    return "–" if v is None else f"{v:.2f} ms"


class SystemView(BaseView):
    title = "System"
    topics = ()  # figures, not events: refreshed with the heartbeat, once a second

    def __init__(self, store: StateSource, hub=None, notifier: Notifier | None = None) -> None:
        super().__init__(store)
        self.hub = hub
        self.notifier = notifier
        # Tall enough for every row: a monitoring page is read at a glance, not scrolled.
        self.figures = table(
            ["figure", "value"], css_classes=["seamless-system"], height=ROW_HEIGHT * 20 + 40, min_width=340
        )
        self.rates = table(
            ["topic", "events_per_s:f1"], css_classes=["seamless-rates"], height=ROW_HEIGHT * 20 + 40, min_width=260
        )
        self._shown = 0.0
        self.series = getattr(hub, "series", None)
        self._count = 0
        self.source = ColumnDataSource({c: [] for c in COLUMNS})
        charts = [
            self._chart("Events per second", [(f"eps_{g}", g) for g in GROUPS], "0,0"),
            self._chart(
                "Latency (ms)",
                [
                    ("commit_p50", "commit p50"),
                    ("commit_p99", "commit p99"),
                    ("write_p99", "write p99"),
                    ("push_p50", "push p50"),
                    ("push_p99", "push p99"),
                ],
                "0,0.[0]",
            ),
            self._chart("Journal lag (events not yet durable)", [("lag", "lag")], "0,0"),
            self._chart("Open sessions", [("sessions", "sessions")], "0.[0]"),
        ]
        self.section(
            pn.pane.Markdown("**Last 15 minutes** (time in UTC)", margin=(0, 10)),
            pn.GridBox(*charts, ncols=2, sizing_mode="stretch_width", css_classes=["seamless-system-charts"]),
            pn.FlexBox(self.figures, self.rates, sizing_mode="stretch_width"),
        )

    def _chart(self, title: str, lines: list[tuple[str, str]], number: str) -> pn.pane.Bokeh:
        fig = figure(
            height=200, sizing_mode="stretch_width", x_axis_type="datetime", toolbar_location=None, title=title
        )
        for (col, label), color in zip(lines, _COLORS):
            fig.line("t", col, source=self.source, line_width=1.5, color=color, legend_label=label)
        fig.legend.location = "top_left"
        fig.legend.label_text_font_size = "8pt"
        fig.legend.background_fill_alpha = 0.5
        fig.yaxis.formatter = NumeralTickFormatter(format=number)
        time_axis(fig)
        unsynced_ranges(fig)
        return pn.pane.Bokeh(fig, sizing_mode="stretch_width", min_width=300)

    def _stream(self) -> None:
        """The samples taken since the last refresh, streamed (15 minutes kept)."""
        if self.series is None:
            return
        count, cols = self.series.since(self._count)
        if cols["t"]:
            self.source.stream(cols, rollover=900)  # type: ignore[arg-type]
        self._count = count

    def updated_at(self) -> float | None:
        return self._shown or None

    def update(self, events: list[Event]) -> None:
        self._show(time.time())

    def show_age(self, now: float) -> None:
        if now - self._shown >= 1.0:
            self._show(now)
        super().show_age(now)

    def _show(self, now: float) -> None:
        self._shown = now
        self._stream()
        st = self.store.stats()
        bus = st["bus"]
        figures = [
            ("seq (last event)", str(st["seq"])),
            ("journal lag (events not yet durable)", str(st["seq"] - st["durable_seq"])),
            ("commit p50 / p99", f"{_ms(st['commit']['p50_ms'])} / {_ms(st['commit']['p99_ms'])}"),
            ("write p50 / p99", f"{_ms(st['write']['p50_ms'])} / {_ms(st['write']['p99_ms'])}"),
            ("dispatch p50 / p99", f"{_ms(bus['dispatch']['p50_ms'])} / {_ms(bus['dispatch']['p99_ms'])}"),
            ("subscriber errors", str(bus["subscriber_errors"])),
            ("bus subscribers / state watchers", f"{bus['subscribers']} / {self.store.bus.watcher_count()}"),
            ("snapshot age", f"{st['snapshot_age_s']:.0f} s (seq {st['snapshot_seq']})"),
        ]
        if self.hub is not None:
            h = self.hub.stats()
            fan = h["fanout_ms_per_event"]
            figures += [
                ("open sessions", str(h["sessions"])),
                (
                    "push p50 / p99 (critical, server side)",
                    f"{_ms(h['push_ms']['p50_ms'])} / {_ms(h['push_ms']['p99_ms'])}",
                ),
                ("fan-out per event mean / p99", f"{_ms(fan['mean'])} / {_ms(fan['p99'])}"),
                (
                    "session update p50 / p99 (one burst)",
                    f"{_ms(h['flush_ms']['p50_ms'])} / {_ms(h['flush_ms']['p99_ms'])}",
                ),
            ]
        figures += notification_figures(self.notifier)
        sync_table(self.figures, pd.DataFrame(figures, columns=["figure", "value"]), "figure")
        rates = [{"topic": t, "events_per_s": round(r, 1)} for t, r in sorted(bus["events_per_s"].items())]
        sync_table(self.rates, pd.DataFrame(rates, columns=["topic", "events_per_s"]), "topic")


def notification_figures(notifier: Notifier | None) -> list[tuple[str, str]]:
    """The notifier's rows: its figures, the last error (when) and its targets, all masked."""
    if notifier is None:
        return [("notifications", "off (no SEAMLESS_NOTIFY_URLS)")]
    n = notifier.stats()
    error = "none"
    if n["last_error"]:
        at = n["last_error_at"]
        when = time.strftime("%H:%M:%S", time.localtime(at)) if isinstance(at, float) else "?"
        error = f"{n['last_error']} (at {when})"
    return [
        (
            "notifications sent / failed / pending",
            f"{n['sent']} / {n['failed']} / {n['pending']}",
        ),
        ("notifications retried / coalesced", f"{n['retried']} / {n['coalesced']}"),
        ("notifications last error", error),
        ("notification targets", ", ".join(n["targets"])),
    ]
