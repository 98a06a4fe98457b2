"""The overview's KPI tiles: equity, daily P&L, the loss limit's use, exposure, open orders,
fills today, as one piece of HTML.

The equity, the daily P&L and the exposure move with every mark, in every session. As six
Panel indicators and a progress bar, each change went through Panel's watchers to its own
Bokeh model (a tenth of the server's loop at 50 sessions); here the tiles are rendered once per
change of the figures and set on the page's one model inside the push's hold
(:class:`~seamless.views.ages.LiveHTML`): an unchanged figure costs nothing, a changed one a
string.
"""

from __future__ import annotations

import html
from typing import Any

from .. import fmt
from .ages import LiveHTML
from .palette import AMBER, GREEN, INK, RED

_CSS = """
.seamless-kpis { display: flex; flex-wrap: wrap; gap: 8px; align-items: flex-start; }
.seamless-kpi { margin: 0 12px; min-width: 120px; }
.seamless-kpi-title { font-size: 10pt; }
.seamless-kpi-value { font-size: 18pt; white-space: nowrap; }
.seamless-loss-bar { width: 180px; height: 14px; margin: 6px 0 4px; border-radius: 4px; background: #e9ecef;
  overflow: hidden; }
.seamless-loss-bar > div { height: 100%; }
"""


def _tile(title: str, value: str, colour: str = INK) -> str:
    return (
        f'<div class="seamless-kpi"><div class="seamless-kpi-title" style="color: {colour}">{html.escape(title)}</div>'
        f'<div class="seamless-kpi-value" style="color: {colour}">{html.escape(value)}</div></div>'
    )


class KpiTiles:
    """The tiles, shown by :meth:`show` from the overview's figures."""

    def __init__(self) -> None:
        self.pane = LiveHTML("", stylesheets=[_CSS], sizing_mode="stretch_width", margin=0)
        self.shown: dict[str, Any] = {}  # the figures last shown (tests)

    def show(self, k: dict[str, float]) -> None:
        """``k``: equity, daily, limit, used (% of the limit lost), exposure, open_orders, fills_today."""
        shown = {
            "equity": round(k["equity"], 2),
            "daily": round(k["daily"], 2),
            "limit": k["limit"],
            "used": min(100.0, k["used"]),
            "exposure": round(k["exposure"]),
            "open_orders": int(k["open_orders"]),
            "fills_today": int(k["fills_today"]),
        }
        if shown == self.shown:
            return
        self.shown = shown
        daily, used, limit = shown["daily"], shown["used"], shown["limit"]
        sign, colour = ("−", RED) if daily < 0 else ("+", GREEN)
        bar = RED if used >= 80 else AMBER if used >= 50 else GREEN
        loss = (
            '<div class="seamless-kpi seamless-loss"><div class="seamless-kpi-title">Loss limit used</div>'
            f'<div class="seamless-loss-bar" role="progressbar" aria-valuenow="{used:.0f}" aria-valuemin="0" '
            f'aria-valuemax="100"><div style="width: {used:.0f}%; background: {bar}"></div></div>'
            f'<div class="seamless-loss-text">'
            f"{html.escape(f'{used:.0f}% of {fmt.money(limit)}' if limit else 'no limit')}</div></div>"
        )
        self.pane.set_text(
            '<div class="seamless-kpis">'
            + _tile("Equity", f"${shown['equity']:,.2f}")
            + _tile("Daily P&L", f"{sign}${abs(daily):,.2f}", colour)
            + loss
            + _tile("Exposure", f"${shown['exposure']:,.0f}")
            + _tile("Open orders", f"{shown['open_orders']:d}")
            + _tile("Fills today", f"{shown['fills_today']:d}")
            + "</div>"
        )
