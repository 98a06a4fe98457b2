"""System: events per second by topic, commit and dispatch latency, journal lag, snapshot
age, open sessions, push latency, the writer's fan-out cost, and the notifications: sent,
failed, retried, coalesced and the last error (targets and errors without their secrets)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pandas as pd
import panel as pn

from ..events import Event
from ..store import StateSource
from .base import BaseView, sync_table, table

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
        self.figures = table(["figure", "value"], css_classes=["seamless-system"], height=330)
        self.rates = table(["topic", "events_per_s:f1"], css_classes=["seamless-rates"], height=330)
        self._shown = 0.0
        self.section(pn.Row(self.figures, self.rates, sizing_mode="stretch_width"))

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
