"""The header: the account's equity, the runner, trading, broker and feed states with their
ages, and the exchange's clock beside the viewer's. Always shown (not a tab); it also keeps the
controls' enabled states and outcomes true to the state (:meth:`Controls.follow`)."""

from __future__ import annotations

import html
import time

import panel as pn

from .. import fmt
from ..events import Event, RunnerStatus, TradingState
from ..store import StateSource
from .ages import LiveHTML, since
from .base import BaseView
from .palette import AMBER, BLUE, GREEN, GREY, RED

_TRADING = {TradingState.ACTIVE: GREEN, TradingState.REDUCING: AMBER, TradingState.HALTED: RED}
_RUNNER = {
    RunnerStatus.RUNNING: GREEN,
    RunnerStatus.PAUSED: AMBER,
    RunnerStatus.HALTED: RED,
    RunnerStatus.ERROR: RED,
    RunnerStatus.STOPPED: GREY,
}

# The header is the template's: white text on its dark bar. Narrow screens drop the details
# (ages, clocks) and keep the states.
_CSS = """
:host { color: #fff; font-size: 13px; }
.st { display: inline-flex; align-items: center; gap: 4px; margin-right: 12px; white-space: nowrap; }
.st b { color: #fff; padding: 1px 7px; border-radius: 4px; }
.detail { opacity: .8; }
@media (max-width: 700px) { .detail { display: none; } .st { margin-right: 6px; } }
"""


def _badge(css: str, label: str, value: str, color: str, at: float | None = None, title: str = "") -> str:
    """A state's badge; ``at``: since when (its age, counted by the page, in the details)."""
    d = since(at, " ", css="detail") if at else ""
    t = f' title="{html.escape(title)}"' if title else ""
    return (
        f'<span class="st {css}" data-value="{html.escape(value)}"{t}>{label} '
        f'<b style="background:{color}">{html.escape(value)}</b>{d}</span>'
    )


class StatusView(BaseView):
    title = "Status"
    topics: tuple[str, ...] = (
        "runner.*",
        "risk.*",
        "broker.*",
        "account.*",
        "order.filled",
        "position.*",
        "reconcile.*",
    )

    def __init__(self, store: StateSource, controls=None, stale_after: float = 5.0) -> None:
        super().__init__(store)
        self.controls = controls
        self.feed_stale_after = stale_after
        self.zone: str | None = None  # the viewer's time zone, once the page says it (preferences)
        self.html = LiveHTML(
            "", stylesheets=[_CSS], css_classes=["seamless-status"], sizing_mode="stretch_width", margin=(0, 5)
        )
        self.panel = pn.Column(self.html, sizing_mode="stretch_width", margin=0)

    def updated_at(self) -> float | None:
        return self.state.runner.updated_at

    def refresh(self, events: list[Event]) -> None:
        self.update(events)
        self.filled = True

    def update(self, events: list[Event]) -> None:
        self._show(time.time())
        if self.controls is not None:
            self.controls.follow(self.state)

    def show_age(self, now: float) -> None:
        self._show(now)

    def _show(self, now: float) -> None:
        s = self.state
        runner, risk, acct = s.runner, s.risk, s.account
        parts = [
            _badge("seamless-equity", "Equity", fmt.money(acct.equity), BLUE),
            _badge("seamless-runner-status", "Runner", runner.status, _RUNNER.get(runner.status, BLUE), runner.since),
            _badge(
                "seamless-trading-state",
                "Trading",
                risk.trading_state,
                _TRADING.get(risk.trading_state, GREY),
                title=risk.state_reason,
            ),
        ]
        parts.append(
            _badge(
                "seamless-broker-status",
                "Broker",
                "connected" if runner.broker_connected else "UNREACHABLE",
                GREEN if runner.broker_connected else RED,
                runner.broker_since,
                title=runner.broker_error,
            )
        )
        last = s.market.updated_at
        feed_age = None if last is None else now - last
        stale = feed_age is None or feed_age > self.feed_stale_after
        parts.append(
            _badge(
                "seamless-feed-status",
                "Feed",
                "none yet" if feed_age is None else "STALE" if stale else "live",
                (GREY if feed_age is None else AMBER) if stale else GREEN,
                last if feed_age is not None and stale else None,
            )
        )
        # Ages counted by the page, clocks to the minute, the feed's age only once stale: a
        # steady header changes once a minute, not every second in every session (each change
        # is a message per session).
        exch = max((q.exchange_ts or 0 for q in s.market.quotes.values()), default=None)
        clock = f"market {fmt.exchange_time(exch, seconds=False)}" if exch else ""
        clock += f" · you {fmt.local_time(now, self.zone, seconds=False)}"
        parts.append(f'<span class="st detail seamless-clock">{html.escape(clock)}</span>')
        self.html.set_text("".join(parts))
