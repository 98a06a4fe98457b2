"""What every view shares: a panel, the topics it shows, its age badge, table syncing.

A view reads the store's state (never writes it) when the push says something it shows
has changed, and shows how old that is; past ``stale_after`` seconds the badge turns
stale. Tables change by Tabulator ``patch`` and ``stream``; a table is re-sent whole only
when rows are removed (the page then deletes just those, see ``guard``) or reordered. (The
table class is ``seamless.compat.tabulator_table``'s: outside its tested Panel versions every
change re-sends the table whole.)
"""

from __future__ import annotations

import math
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import panel as pn
from bokeh.models import DatetimeTickFormatter, LinearColorMapper
from bokeh.models.widgets.tables import NumberFormatter
from bokeh.transform import transform

from .. import fmt
from ..compat import tabulator_js
from ..compat.tabulator_table import Table, table_class
from ..events import Event
from ..store import StateSource


def ago(seconds: float | None) -> str:
    return "no data yet" if seconds is None else f"updated {fmt.age(seconds)}"


def clock(ts: float | None) -> str:
    """A time in the exchange's zone, labelled (``09:31:02 ET``); empty for none."""
    return "" if ts is None else fmt.exchange_time(ts)


class AgeBadge:
    """'updated 3 s ago', or 'STALE · updated 40 s ago' past the threshold."""

    def __init__(self, stale_after: float | None) -> None:
        self.stale_after = stale_after
        self.pane = pn.pane.HTML(self._html(None, False), css_classes=["seamless-age"], margin=(0, 10))

    @staticmethod
    def _html(age: float | None, stale: bool) -> str:
        if stale:
            return (
                f'<span class="seamless-stale" style="color:#fff;background:#c0392b;padding:2px 6px;'
                f'border-radius:4px">STALE · {ago(age)}</span>'
            )
        return f'<span class="seamless-fresh" style="color:#666">{ago(age)}</span>'

    def show(self, updated_at: float | None, now: float) -> None:
        age = None if updated_at is None else max(0.0, now - updated_at)
        stale = self.stale_after is not None and age is not None and age > self.stale_after
        html = self._html(age, stale)
        if html != self.pane.object:
            self.pane.object = html


_SHARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # state part -> {builder: (seq, frame)}


class BaseView:
    """A dashboard section: ``panel`` to lay out, ``refresh`` when what it shows changed."""

    title = ""
    shown = True  # the dashboard clears it while the view's tab is closed
    topics: tuple[str, ...] = ()
    wants_events = False
    stale_after: float | None = None

    def __init__(self, store: StateSource) -> None:
        self.store = store
        self.state = store.state
        self.badge = AgeBadge(self.stale_after)
        self.filled = False
        self.deferred = False  # set when a part was held back: the push refreshes it again later
        self._seen: dict[str, int] = {}  # part -> seq last shown
        self._last: dict[str, float] = {}  # component -> monotonic time last updated
        self.tables: dict[str, Table] = {}  # name -> its table (see titled_table)
        self.columns: dict[str, pn.widgets.MultiChoice] = {}  # name -> its table's column picker

    def updated_at(self) -> float | None:
        """When what this view shows last changed (wall clock)."""
        return None

    def moved(self, part: str) -> bool:
        """True once per change of state part ``part``: a table need not be rebuilt otherwise."""
        seq = getattr(self.state, part).seq
        if self._seen.get(part) == seq:
            return False
        self._seen[part] = seq
        return True

    def shared(self, part: str, build: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """``build()`` of state part ``part`` as it is now, made once per change of the part
        and shared by the views of every session (which read it, never change it): with ten
        tabs open, an order filled built the same open-orders frame ten times. (Positions
        change with every quote, so sessions refreshing apart rarely share theirs.)"""
        obj = getattr(self.state, part)
        seq = obj.seq  # read first: what is built is at least this new
        memo = _SHARED.setdefault(obj, {})
        key = build.__qualname__
        hit = memo.get(key)
        if hit is None or hit[0] != seq:
            hit = memo[key] = (seq, build())
        return hit[1]

    def due(self, component: str, every_s: float) -> bool:
        """True if ``component`` may update now (at most once per ``every_s``); if not, the view
        is marked deferred, so the push comes back for it when its interval is up."""
        now = time.monotonic()
        if now - self._last.get(component, -1e9) >= every_s:
            self._last[component] = now
            return True
        self.deferred = True
        return False

    def prefill(self) -> None:
        """Fill with the state as it is, before the page renders: a table's first rows then
        come with the page, not as a re-sent value racing the table's build in the browser.
        The loading state stays until the session's first push."""
        self.update([])

    def refresh(self, events: list[Event]) -> None:
        self.update(events)
        if not self.filled:
            self.filled = True
            self.panel.loading = False
            self.show_age(time.time())  # its age with its first data, not at the next heartbeat

    def update(self, events: list[Event]) -> None:
        raise NotImplementedError

    def show_age(self, now: float) -> None:
        self.badge.show(self.updated_at(), now)

    def titled_table(self, name: str, title: str, widget: Table, hidden: Sequence[str] = ()) -> pn.FlexBox:
        """``widget``'s title and column picker (see :func:`column_picker`); the table is the
        view's ``name``, whose hidden columns the dashboard keeps per viewer."""
        self.tables[name] = widget
        self.columns[name] = picker = column_picker(widget, name, hidden)
        return titled(title, picker)

    def times_in(self, zone: str | None) -> None:
        """Show every table's times in ``zone`` (an IANA name; None: the exchange's)."""
        for widget in self.tables.values():
            times_in(widget, zone)

    def section(self, *objects: Any) -> pn.Column:
        """The view's panel: title and age badge over ``objects``, loading until first filled."""
        header = pn.Row(pn.pane.Markdown(f"### {self.title}", margin=(0, 10)), self.badge.pane, align="center")
        self.panel = pn.Column(
            header,
            *objects,
            loading=True,
            sizing_mode="stretch_width",
            css_classes=[f"seamless-{type(self).__name__.lower()}"],
        )
        return self.panel


def unsynced_ranges(fig) -> None:
    """A streaming plot's auto-ranges move in the browser with every point; synced back, each
    move is a message to the server (measured: ~16 a second per tab). Nobody reads them here."""
    for r in (fig.x_range, fig.y_range):
        r.syncable = False


def time_axis(fig) -> None:
    """A datetime axis that reads as a clock (no date on every tick)."""
    fig.xaxis.formatter = DatetimeTickFormatter(
        seconds="%H:%M:%S", minsec="%H:%M:%S", minutes="%H:%M", hourmin="%H:%M", hours="%H:%M"
    )


# Tabulator's own row height: fixed, so a changed cell never makes the page measure its row
# (see seamless/compat/tabulator_js.py).
ROW_HEIGHT = 28


def table(columns: Sequence[str], *, height: int = 220, empty: str = "none yet", **kwargs: Any) -> Table:
    """A read-only table. A column named ``name:f`` holds numbers shown as they are, ``name:fN``
    numbers shown with N decimals, ``name:$`` money (``$1,234.56``), ``name:pnl`` money
    coloured by its sign (a gain green, a loss red), ``name:t`` times (``fmt.iso``) shown in
    the exchange's zone until :func:`times_in` says otherwise, any other name text.
    Tabulator formats the cells itself ("money", "datetime", "plaintext": text is never
    HTML; the P&L's is the page's own, ``seamless.compat.tabulator_js``): Panel's default
    formatters render each cell to HTML and parse it back, a fifth of a tab's time when a
    burst of fills redraws the tables.
    ``empty``: what the table says while it has no rows (never a blank box)."""
    kinds = dict(c.partition(":")[::2] for c in columns)
    numbers = [name for name, kind in kinds.items() if kind.startswith("f") or kind in ("$", "pnl")]
    frame = pd.DataFrame({name: pd.Series(dtype=float if name in numbers else object) for name in kinds})
    formatters: dict[str, Any] = {name: {"type": "plaintext"} for name in kinds}
    titles = {}
    for name, kind in kinds.items():
        if kind == "$":
            formatters[name] = {"type": "money", "precision": 2, "symbol": fmt.CURRENCY}
        elif kind == "pnl":
            formatters[name] = _pnl_formatter(name)
        elif kind == "t":
            formatters[name] = _time_formatter(EXCHANGE_ZONE)
            titles[name] = f"{name} ({fmt.EXCHANGE_LABEL})"
        elif kind.startswith("f"):
            formatters[name] = {"type": "money", "precision": int(kind[1:]) if kind[1:] else False}
    return table_class()(
        frame,
        disabled=True,
        show_index=False,
        formatters=formatters,
        titles=titles,
        text_align={name: "right" for name in numbers},
        sizing_mode="stretch_width",
        height=height,
        layout="fit_data_fill",
        configuration={"rowHeight": ROW_HEIGHT, "renderVerticalBuffer": ROW_HEIGHT * 2, "placeholder": empty},
        **kwargs,
    )


EXCHANGE_ZONE = fmt.EXCHANGE_ZONE.key
GAIN, LOSS, NEUTRAL = "#1e8449", "#c0392b", "#1f3a5f"


def _pnl_formatter(name: str) -> dict[str, Any] | NumberFormatter:
    """Money coloured by its sign, in the page (from half a cent down red, up green, between
    ink): the page's own Tabulator formatter (``seamless.compat.tabulator_js``); without it,
    Bokeh's colour mapper on the cell's value (a Bokeh model: Panel sends the table's columns
    again with each value set whole)."""
    if tabulator_js.PATCH.installed:
        colours = {"gain": GAIN, "loss": LOSS, "neutral": NEUTRAL}
        return {"type": "seamlessPnl", "symbol": fmt.CURRENCY, "dash": fmt.DASH, **colours}
    sign = LinearColorMapper(
        palette=[NEUTRAL], low=-0.005, high=0.005, low_color=LOSS, high_color=GAIN, nan_color=NEUTRAL
    )
    return NumberFormatter(
        format="$0,0.00",
        nan_format=fmt.DASH,
        null_format=fmt.DASH,
        text_color=transform(name, sign),
    )


def _time_formatter(zone: str) -> dict[str, Any]:
    """Tabulator's own: an ISO instant shown as a clock in ``zone`` (luxon, which Panel ships)."""
    return {
        "type": "datetime",
        "inputFormat": "iso",
        "outputFormat": "HH:mm:ss",
        "timezone": zone,
        "invalidPlaceholder": fmt.DASH,
    }


def times_in(widget: Table, zone: str | None) -> None:
    """Show ``widget``'s time columns in ``zone`` (an IANA name; None: the exchange's), each
    column's title naming it (``time (CET)``). The data stays as it is: only the columns'
    formatters and titles change (one message)."""
    zone = zone or EXCHANGE_ZONE
    times = [c for c, f in widget.formatters.items() if isinstance(f, dict) and f.get("type") == "datetime"]
    if not times or all(widget.formatters[c].get("timezone") == zone for c in times):
        return
    label = fmt.zone_label(zone)
    widget.param.update(
        formatters={**widget.formatters, **{c: _time_formatter(zone) for c in times}},
        titles={**widget.titles, **{c: f"{c} ({label})" for c in times}},
    )


def column_picker(widget: Table, name: str, hidden: Sequence[str] = ()) -> pn.widgets.MultiChoice:
    """The columns of ``widget`` hidden by choice (empty: all shown): a column picked from the
    list hides, its chip removed shows it again. The dashboard keeps each picker's value as
    a preference of the viewer (``columns.<name>``, seamless.views.prefs)."""
    cols = list(widget.value.columns)
    picker = pn.widgets.MultiChoice(
        options=cols,
        value=list(hidden),
        placeholder="hide columns…",
        width=200,
        margin=(0, 10),
        css_classes=["seamless-columns", f"seamless-{name}-columns"],
    )
    picker.param.watch(lambda e: setattr(widget, "hidden_columns", [c for c in cols if c in e.new]), "value")
    widget.hidden_columns = list(hidden)
    return picker


def titled(title: str, picker: pn.widgets.MultiChoice) -> pn.FlexBox:
    """A table's title with its column picker beside it (wrapping under it on a phone)."""
    return pn.FlexBox(
        pn.pane.Markdown(f"**{title}**", margin=(0, 10)), picker, align_items="center", sizing_mode="stretch_width"
    )


def _typed_like(new: pd.DataFrame, old: pd.DataFrame) -> pd.DataFrame:
    """``new`` with the number columns of ``old`` kept numbers (an empty or all-None column
    comes as objects): Panel sends the page a new configuration when a column's type changes,
    and the page then builds the whole table again."""
    if new.empty and list(new.columns) == list(old.columns):
        return old.iloc[:0]
    numbers = {col for col, dt in zip(old.columns, old.dtypes) if dt.kind == "f"}
    cast = {col: float for col, dt in zip(new.columns, new.dtypes) if dt.kind != "f" and col in numbers}
    if not cast:
        return new
    try:
        return new.astype(cast)
    except (TypeError, ValueError):
        return new  # text in a number column: shown as it is (casting costs ~2 ms: build numbers as NaN)


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise equality where NaN equals NaN (a patch for NaN -> NaN is noise)."""
    eq = a == b
    if a.dtype.kind in "fc" or b.dtype.kind in "fcO":
        try:
            eq |= pd.isna(a) & pd.isna(b)
        except TypeError:
            pass
    return eq


def sync_table(widget: Table, new: pd.DataFrame, key: str) -> str:
    """Bring ``widget`` to ``new`` (rows identified by column ``key``) by the least it can
    send: ``patch`` changed cells, ``stream`` appended rows; when rows went away and the rest
    kept their order, the new value whole with each row under its old label (``remove``: the
    page then deletes, updates and adds rows rather than redrawing); else a ``replace``.
    Returns what it did (for tests): 'none', 'patch', 'stream', 'patch+stream', 'remove' or
    'replace'."""
    old = widget.value
    new = _typed_like(new.reset_index(drop=True), old)
    if old.empty and new.empty:
        return "none"
    if old.empty or list(old.columns) != list(new.columns):
        widget.value = new
        return "replace"
    labels = dict(zip(old[key], old.index))
    kept = [k for k in new[key] if k in labels]
    survivors = set(kept)
    if kept != [k for k in old[key] if k in survivors] or list(new[key].iloc[: len(kept)]) != kept:
        widget.value = new  # reordered, or an old row after a new one
        return "replace"
    start = int(old.index.max()) + 1  # new rows: labels never used in this table
    new.index = [labels[k] for k in kept] + list(range(start, start + len(new) - len(kept)))
    if len(kept) < len(old):
        widget.value = new
        return "remove"
    done = []
    n = len(old)
    if n:
        patch: dict[str, list[tuple[int, Any]]] = {}
        for col in new.columns:
            a, b = old[col].to_numpy(), new[col].iloc[:n].to_numpy()
            diff = np.flatnonzero(~_same(a, b))
            if len(diff):
                patch[col] = [(int(i), _plain(b[i])) for i in diff]
        if patch:
            widget.patch_to(new.iloc[:n], patch)
            done.append("patch")
    if len(new) > n:
        widget.append(new.iloc[n:])
        done.append("stream")
    return "+".join(done) or "none"


def append_rows(widget: Table, rows: pd.DataFrame, keep: int, slack: int | None = None) -> None:
    """Add ``rows`` (oldest first) to a tail table: it holds the newest ``keep`` rows and up to
    ``slack`` more (default a fifth of ``keep``); past that it is cut back to ``keep`` at once.
    Why the slack: rolling a row off at each append moves every row in the browser, which then
    redraws the whole table in every tab; this way most appends only add rows."""
    slack = max(1, keep // 5) if slack is None else slack
    rows = _typed_like(rows, widget.value)
    index = widget.value.index
    if not len(index):  # the first rows set the columns' types
        widget.value = rows.iloc[-keep:].reset_index(drop=True)
        return
    start = int(index.max()) + 1  # a tail rolls over: labels must not repeat
    rows.index = pd.RangeIndex(start, start + len(rows))
    if len(index) + len(rows) > keep + slack:
        widget.value = pd.concat([widget.value, rows]).iloc[-keep:]
    else:
        widget.append(rows)


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def money(v: float | None) -> str:
    return fmt.money(v)
