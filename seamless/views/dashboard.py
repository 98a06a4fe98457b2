"""The dashboard: one session's views, fed by the service's hub, in one template."""

from __future__ import annotations

from functools import partial
from zoneinfo import ZoneInfo

import panel as pn

from .. import fmt
from ..push import ServerDoc, SessionFeed
from ..push.ack import BrowserAck
from ..service import Access, Service, pauses
from ..store import StateSource
from .alerts import ALERT_TOPICS, ROUTINE_TOPICS, alert
from .controls import Controls
from .events import EventsView
from .guard import table_guard
from .market import MarketView
from .overview import OverviewView
from .palette import INK
from .prefs import COOKIE, ZONE_COOKIE, Kept, Viewer
from .reconciliation import ReconciliationView
from .status import StatusView
from .system import SystemView
from .toasts import CSS as TOASTS_CSS
from .toasts import Toasts

# Page-wide CSS: the toasts' place (with the sidebar's layout), and a narrow screen (a phone)
# stacking the sidebar above the content instead of squeezing both side by side; the header
# then wraps its states.
PAGE_CSS = (
    TOASTS_CSS
    + """
@media (max-width: 700px) {
  #content { flex-direction: column; height: auto; }
  #sidebar { min-width: 100%; max-width: 100%; box-sizing: border-box; height: auto; padding-bottom: 0; }
  #header { height: auto; flex-wrap: wrap; }
  #header-items { flex-wrap: wrap; }
  .main { height: auto; }
}
"""
)


def build_views(
    source: StateSource,
    hub,
    controls: Controls | None = None,
    *,
    stale_after: float = 5.0,
    reconcile_interval: float = 30.0,
    notifier=None,
) -> list:
    """The dashboard's views over ``source`` (a Store, or a Follower of one: any StateSource);
    ``notifier``: the service's, whose figures the System view shows."""
    views = [
        OverviewView(source, hub.equity, controls, hub.derived),
        MarketView(source, hub.candles, stale_after=stale_after),
        ReconciliationView(source, controls, interval_s=reconcile_interval),
        EventsView(source),
        SystemView(source, hub, notifier),
    ]
    for v in views:
        v.prefill()
    return views


class Dashboard:
    """Everything one browser session shows. Build it inside the session (``app.py``, which
    installs ``seamless.compat`` first: without it, Panel's and Bokeh's own paths, slower)."""

    def __init__(self, service: Service, access: Access | None = None) -> None:
        self.doc = doc = ServerDoc(pn.state.curdoc)  # built on the server's loop, for this session
        self.service = service
        self.access = service.identity(access or Access.of_session())  # a viewer's: relayed
        self.toasts = Toasts()  # this session's: alerts and command results
        store, cfg = service.store, service.config
        self.controls = Controls(service, self.access, doc, self.toasts)
        self.status = StatusView(store, self.controls, stale_after=cfg.stale_after)
        self.views = build_views(
            store,
            service.hub,
            self.controls,
            stale_after=cfg.stale_after,
            reconcile_interval=cfg.reconcile_interval,
            notifier=service.notifier,
        )
        # Flow control: the next update waits until the page took the last.
        self.ack = BrowserAck(lambda n: self.feed.acked(n))
        self.viewer = Viewer()  # which browser (for its preferences) and its time zone
        self.feed = SessionFeed(
            doc,
            [self.status, *self.views],
            notify=partial(alert, self.toasts),
            alert_topics=ALERT_TOPICS,
            routine_topics=ROUTINE_TOPICS,
            max_rate=cfg.max_rate,
            on_push=service.hub.push.add,
            on_flush=service.hub.flush.add,
            mark=self.ack.mark,
            live=False,
        )
        # Fed from now, pushed from when the page is live: an alert sent before the browser is
        # connected would come with the page and count as shown already. The server runs the
        # page's onload late when it is busy (25 tabs opening): a fill meanwhile would never
        # have shown in that tab. The first flush fills every view.
        service.hub.attach(self.feed)
        pn.state.onload(self._go_live)
        # A closed tab leaves nothing behind: its feed leaves the hub, its views go with it.
        pn.state.on_session_destroyed(self._destroyed)
        # dynamic: only the open tab's components exist in the browser, so hidden views cost
        # no messages (their widgets still follow the state, server side, for when they open).
        self.tabs = pn.Tabs(*[(v.title, v.panel) for v in self.views], dynamic=True, sizing_mode="stretch_width")
        for i, v in enumerate(self.views):
            v.shown = i == self.tabs.active
        self.tabs.param.watch(self._on_tab, "active")
        # Times in the tables: the exchange's zone (the default) or the viewer's, a preference.
        self.zone = self.status.zone = _zone(pn.state.cookies.get(ZONE_COOKIE))  # as of the last visit
        self.times = pn.widgets.Select(
            label="Times in", options=self._time_options(), value="exchange", css_classes=["seamless-times"]
        )
        self.times.param.watch(lambda _e: self._show_times(), "value")
        self.kept = self._preferences()
        self._show_times()
        who = pn.pane.Markdown(f"Signed in as **{self.access.who}**", margin=(0, 5), css_classes=["seamless-who"])
        # The helpers the page needs (the table fixes, the toasts' and the push's answers) are
        # invisible: they sit in the header, where they take no room, never in a card of their own.
        helpers = pn.Row(*table_guard(), self.toasts, self.ack.panel, self.viewer, width=0, height=0, margin=0)
        # No busy spinner: it turns on and off (two messages and a repaint) for every message
        # from the page, the push's answers included; commands show their own loading state.
        self.template = pn.template.FastListTemplate(
            title="Seamless",
            header=[self.status.panel, helpers],
            sidebar=[who, self.controls.panel, self.times, settings(cfg)],
            main=[self.tabs],
            header_background=INK,
            busy_indicator=None,
            raw_css=[PAGE_CSS],
            theme="dark" if self.kept.doc.get("theme") == "dark" else "default",
        )

    def _preferences(self) -> Kept:
        """This viewer's preferences restored, and kept as they change (seamless.service.prefs).
        Known at once for a logged-in user or a browser seen before (its cookie); else once
        the page has said which browser it is."""
        prefs = self.service.prefs
        who = f"user:{self.access.user}" if self.access.user else None
        if who is None and (cookie := pn.state.cookies.get(COOKIE)):
            who = f"browser:{cookie}"
        holder = {"who": who}

        def save(doc: dict) -> None:
            if holder["who"] is not None:
                prefs.save(holder["who"], doc)

        kept = Kept(save, prefs.load(who) if who else {})
        theme = (pn.state.session_args.get("theme") or [b""])[0].decode()
        if theme in ("dark", "default"):  # the template's toggle reloads the page with ?theme=
            kept.set("theme", theme)
        _overview, market, _recon, events, _system = self.views
        kept.bind("tab", self.tabs, "active")
        kept.bind("events.pattern", events.pattern)
        kept.bind("events.hide_quotes", events.hide_quotes)
        kept.bind("events.group_refusals", events.group_refusals)
        kept.bind("market.symbol", market.symbol)
        kept.bind("market.bar", market.bar_size)
        for v in self.views:
            for name, picker in v.columns.items():
                kept.bind(f"columns.{name}", picker)
        kept.bind("times", self.times)

        def zone(event) -> None:
            self.zone = _zone(event.new)
            self.status.zone = self.zone
            self.times.options = self._time_options()
            self._show_times()

        def browser(event) -> None:
            if holder["who"] is None and event.new:
                holder["who"] = who = f"browser:{event.new}"
                kept.restore(prefs.load(who))
                save(kept.doc)

        self.viewer.param.watch(zone, "zone")
        self.viewer.param.watch(browser, "browser")
        return kept

    def _time_options(self) -> dict[str, str]:
        mine = f"my zone ({fmt.zone_label(self.zone)})" if self.zone else "my zone"
        return {f"exchange ({fmt.EXCHANGE_LABEL})": "exchange", mine: "mine"}

    def _show_times(self) -> None:
        """Every table's times in the zone chosen (the viewer's until known: the exchange's)."""
        zone = self.zone if self.times.value == "mine" else None
        for v in self.views:
            v.times_in(zone)

    def _destroyed(self, _context) -> None:
        live = self.feed.live
        self.service.hub.detach(self.feed)
        self.doc.close()
        if live:  # not for a page never opened (a health check's request): no pause for it
            pauses.session_closed()

    def _on_tab(self, event) -> None:
        """Only the open tab's view is kept up to date; another one catches up when opened."""
        for i, v in enumerate(self.views):
            if i != event.new:
                v.shown = False
        self.feed.show(self.views[event.new])

    def _go_live(self) -> None:
        if not self.feed.closed:
            self.feed.go_live()
            pauses.session_live()

    def servable(self):
        return self.template.servable()


def _zone(name: str | None) -> str | None:
    """``name`` if it is a time zone this machine knows (a browser says it), else None."""
    try:
        return ZoneInfo(name).key if name else None
    except (KeyError, ValueError):
        return None


def settings(cfg) -> pn.Column:
    """The settings in force, read-only: what the runner trades and within which limits."""
    rows = [
        ("strategies", ", ".join(cfg.strategies)),
        ("ma_cross on", f"{fmt.duration(cfg.bar_seconds)} bars" if cfg.bar_seconds else "every tick"),
        ("symbols", ", ".join(cfg.symbols)),
        ("feed", cfg.feed + ("" if cfg.speed is None else f" at {cfg.speed:g}×")),
        ("daily loss limit", fmt.money(cfg.daily_loss_limit)),
        ("max position", f"{fmt.qty(cfg.max_position)} shares"),
        (
            "stop-loss / take-profit / trailing",
            " / ".join(
                "–" if v is None else fmt.pct(v * 100)
                for v in (cfg.stop_loss_pct, cfg.take_profit_pct, cfg.trailing_pct)
            ),
        ),
        ("reconcile every", f"{cfg.reconcile_interval:g} s"),
    ]
    table = "\n".join(["| setting | value |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)])
    return pn.Column(
        pn.pane.Markdown("**Settings in force**", margin=(8, 5, 0, 5)),
        pn.pane.Markdown(table, margin=(0, 5), css_classes=["seamless-settings"]),
        sizing_mode="stretch_width",
    )
