"""Reconciliation: the last run, its result, every mismatch and how it was resolved."""

from __future__ import annotations

import pandas as pd
import panel as pn

from .. import fmt
from ..events import Event
from ..store import StateSource
from .base import BaseView, clock, sync_table, table
from .palette import BLUE, GREEN, GREY, RED


class ReconciliationView(BaseView):
    title = "Reconciliation"
    topics = ("reconcile.*",)

    def __init__(self, store: StateSource, controls=None, interval_s: float = 30.0) -> None:
        self.stale_after = 3 * interval_s  # three missed runs: the schedule is not running
        super().__init__(store)
        self.summary = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["seamless-reconcile-summary"])
        self.mismatches = table(
            ["seq:f0", "time:t", "run", "kind", "subject", "store", "broker", "resolution"],
            css_classes=["seamless-mismatches"],
            height=220,
            empty="no mismatch yet",
        )
        self.runs = table(["run", "findings"], css_classes=["seamless-runs"], height=200, empty="no run yet")
        self.controls = controls
        objects: list[pn.viewable.Viewable] = [self.summary]
        if controls is not None:
            self.button = pn.widgets.Button(
                label="Reconcile now", color="primary", css_classes=["seamless-cmd-reconcile"]
            )
            outcome = controls.outcome("seamless-reconcile-outcome")
            self.button.on_click(
                lambda _e: controls.run(
                    "reconcile", self.button, "Reconcile now", outcome=outcome, key=lambda s: s.reconcile.run_id
                )
            )
            objects[:0] = [self.button, outcome.pane]
        self.section(
            *objects,
            self.titled_table("mismatches", "Mismatches and resolutions", self.mismatches),
            self.mismatches,
            pn.pane.Markdown("**Recent runs**", margin=(0, 10)),
            self.runs,
        )

    def updated_at(self) -> float | None:
        r = self.state.reconcile
        return r.completed_at or r.started_at

    def update(self, events: list[Event]) -> None:
        r = self.state.reconcile
        res = r.last_result or {}
        color = {"ok": GREEN, "mismatch": RED, "running": BLUE}.get(r.status, GREY)
        self.summary.object = (
            f'<span class="seamless-reconcile-status" data-value="{r.status}">Status '
            f'<b style="color:#fff;background:{color};padding:2px 8px;border-radius:4px">{r.status}</b></span>'
            f" · last run {r.run_id or '–'} · started {clock(r.started_at) or '–'}"
            f" · completed {clock(r.completed_at) or '–'}"
            + (
                f" · {res.get('mismatches', 0)} mismatches, {res.get('resolved', 0)} resolved, "
                f"{res.get('duration_s', 0) * 1000:.0f} ms"
                if res
                else ""
            )
        )
        rows = [
            {
                "seq": m.seq,
                "time": fmt.iso(m.updated_at),
                "run": m.run_id,
                "kind": m.kind,
                "subject": m.subject,
                "store": m.store_value,
                "broker": m.broker_value,
                "resolution": m.resolution,
            }
            for m in reversed(r.mismatches)
        ]  # newest first
        sync_table(self.mismatches, pd.DataFrame(rows, columns=list(self.mismatches.value.columns)), "seq")
        runs = [{"run": rid, "findings": ", ".join(keys) or "none"} for rid, keys in reversed(r.recent_runs)]
        sync_table(self.runs, pd.DataFrame(runs, columns=list(self.runs.value.columns)), "run")
