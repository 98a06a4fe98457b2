"""What every view shares: a panel, the topics it shows, its age badge, table syncing.

A view reads the store's state (never writes it) when the push says something it shows
has changed, and shows how old that is; past ``stale_after`` seconds the badge turns
stale. Tables change by Tabulator ``patch`` and ``stream``; a table is re-sent whole only
when rows are removed (the page then deletes just those, see ``guard``) or reordered. (The
table class is ``seamless.compat.tabulator_table``'s: outside its tested Panel versions every
change re-sends the table whole.)
"""

from __future__ import annotations

import collections
import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

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
from ..push import Derived
from ..store import StateSource
from .ages import LiveHTML, since
from .palette import GREEN, INK, RED


def clock(ts: float | None) -> str:
    """A time in the exchange's zone, labelled (``09:31:02 ET``); empty for none."""
    return "" if ts is None else fmt.exchange_time(ts)


class AgeBadge:
    """'updated just now' while the data flows; once it stops, its age counted by the page
    ('updated 40 s ago', 'STALE · updated 40 s ago' past the threshold): a change when the
    data stops and when it comes back, none each second (see :mod:`seamless.views.ages`)."""

    def __init__(self, stale_after: float | None) -> None:
        self.stale_after = stale_after
        self.pane = LiveHTML(self._html(None, 0.0), css_classes=["seamless-age"], margin=(0, 10))

    def _html(self, updated_at: float | None, now: float) -> str:
        if updated_at is None:
            return '<span class="seamless-fresh">no data yet</span>'
        if now - updated_at < 1.0:
            return '<span class="seamless-fresh">updated just now</span>'
        at = fmt.exchange_time(updated_at)
        return since(updated_at, "updated ", css="seamless-fresh", stale_after=self.stale_after, text=f"updated {at}")

    def show(self, updated_at: float | None, now: float) -> None:
        self.pane.set_text(self._html(updated_at, now))


class BaseView:
    """A dashboard section: ``panel`` to lay out, ``refresh`` when what it shows changed."""

    title = ""
    shown = True  # the dashboard clears it while the view's tab is closed
    topics: tuple[str, ...] = ()
    wants_events = False
    stale_after: float | None = None

    def __init__(self, store: StateSource, derived: Derived | None = None) -> None:
        self.store = store
        self.state = store.state
        # The hub's (every session's views share what they derive); alone, one of its own that
        # builds whenever the state moved (a notebook's or a test's view).
        self.derived = derived or Derived(lambda: store.seq, max_age_s=0.0)
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

    def shared(
        self,
        build: Callable[[], Any],
        *parts: str,
        version: Callable[[], Any] | None = None,
        topics: tuple[str, ...] = (),
    ) -> Any:
        """``build()`` of the state's ``parts`` (or what ``version()`` names; or the whole state),
        built once and shared by this view in every session (which read it, never change it):
        see :class:`~seamless.push.Derived` (``topics``: the critical events that bear on it,
        default all). If the state moved on since that build, the view is marked deferred: the
        push comes back for the rest at its next turn."""
        if version is None and parts:
            version = lambda: tuple(getattr(self.state, p).seq for p in parts)  # noqa: E731
        value, behind = self.derived.get(build.__qualname__, build, version, topics)
        if behind:
            self.deferred = True
        return value

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


def _pnl_formatter(name: str) -> dict[str, Any] | NumberFormatter:
    """Money coloured by its sign, in the page (from half a cent down red, up green, between
    ink): the page's own Tabulator formatter (``seamless.compat.tabulator_js``); without it,
    Bokeh's colour mapper on the cell's value (a Bokeh model: Panel sends the table's columns
    again with each value set whole)."""
    if tabulator_js.PATCH.installed:
        colours = {"gain": GREEN, "loss": RED, "neutral": INK}
        return {"type": "seamlessPnl", "symbol": fmt.CURRENCY, "dash": fmt.DASH, **colours}
    sign = LinearColorMapper(palette=[INK], low=-0.005, high=0.005, low_color=RED, high_color=GREEN, nan_color=INK)
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


class TablePlan(NamedTuple):
    """How a table goes from one frame to the next: the same for every session whose table
    shows ``old``, so it is worked out once (:func:`sync_table`)."""

    old: pd.DataFrame
    new: pd.DataFrame  # as the caller gave it
    kind: str  # 'none', 'patch', 'stream', 'patch+stream', 'remove' or 'replace'
    value: pd.DataFrame  # the table's value after it (labelled; the same object for every session)
    patch: dict[str, list[tuple[int, Any]]]  # changed cells by row position (patch)
    head: pd.DataFrame  # the rows the table had, as they are now (patch)
    tail: pd.DataFrame  # the rows added (stream)


class FrameMemo:
    """The last results of a function of frames, by the frames' identities: every session's
    table that shows the same frame and is given the same one gets the same result, worked out
    once. The frames are kept alive here while their result is (an id is never reused
    meanwhile); an empty frame with no rows counts by its columns (every new table's)."""

    def __init__(self, fn: Callable[..., Any], kept: int = 64) -> None:
        self.fn = fn
        self.kept = kept
        self.calls = 0  # results worked out (tests)
        self._memo: collections.OrderedDict[tuple, tuple[tuple, Any]] = collections.OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(a: Any) -> Any:
        if isinstance(a, pd.DataFrame):
            if a.empty and not len(a.index):
                return ("empty", tuple(a.columns), tuple(map(str, a.dtypes)))
            return id(a)
        return a

    def __call__(self, *args: Any) -> Any:
        key = tuple(self._key(a) for a in args)
        with self._lock:
            hit = self._memo.get(key)
            if hit is not None and all(
                k is a or not isinstance(a, pd.DataFrame) or a.empty for k, a in zip(hit[0], args)
            ):
                self._memo.move_to_end(key)
                return hit[1]
        result = self.fn(*args)
        self.calls += 1
        with self._lock:
            self._memo[key] = (args, result)
            while len(self._memo) > self.kept:
                self._memo.popitem(last=False)
        return result


def sync_table(widget: Table, new: pd.DataFrame, key: str) -> str:
    """Bring ``widget`` to ``new`` (rows identified by column ``key``) by the least it can
    send: ``patch`` changed cells, ``stream`` appended rows; when rows went away and the rest
    kept their order, the new value whole with each row under its old label (``remove``: the
    page then deletes, updates and adds rows rather than redrawing); else a ``replace``.
    Returns what it did (for tests): 'none', 'patch', 'stream', 'patch+stream', 'remove' or
    'replace'.

    The plan is worked out once for every table showing the same frame and given the same
    one (every session's, when ``new`` is shared: :meth:`BaseView.shared`); each table then
    holds the plan's value, the same frame, so the next plan is shared too."""
    old = widget.value
    if old.empty and new.empty:  # most often the open orders: nothing, before any lookup
        return "none"
    plan = table_plan(old, new, key)
    if plan.kind in ("replace", "remove"):
        widget.replace(plan.value)
    else:
        if "patch" in plan.kind:
            widget.patch_to(plan.head, plan.patch)
        if "stream" in plan.kind:
            widget.append(plan.tail, plan.value)
    return plan.kind


def _plan(old: pd.DataFrame, given: pd.DataFrame, key: str) -> TablePlan:
    new = _typed_like(given.reset_index(drop=True), old)
    none: dict[str, list[tuple[int, Any]]] = {}

    def plan(kind: str, value: pd.DataFrame = new, patch=none, head=new, tail=new) -> TablePlan:
        return TablePlan(old, given, kind, value, patch, head, tail)

    if old.empty and new.empty:
        return plan("none", old)
    if old.empty or list(old.columns) != list(new.columns):
        return plan("replace", _canonical(given, new))
    labels = dict(zip(old[key], old.index))
    kept = [k for k in new[key] if k in labels]
    survivors = set(kept)
    if kept != [k for k in old[key] if k in survivors] or list(new[key].iloc[: len(kept)]) != kept:
        return plan("replace", _canonical(given, new))  # reordered, or an old row after a new one
    start = int(old.index.max()) + 1  # new rows: labels never used in this table
    new.index = [labels[k] for k in kept] + list(range(start, start + len(new) - len(kept)))
    new = _canonical(given, new)
    if len(kept) < len(old):
        return plan("remove", new)
    n = len(old)
    patch: dict[str, list[tuple[int, Any]]] = {}
    for col in new.columns:
        a, b = old[col].to_numpy(), new[col].iloc[:n].to_numpy()
        diff = np.flatnonzero(~_same(a, b))
        if len(diff):
            patch[col] = [(int(i), _plain(b[i])) for i in diff]
    head, tail = (new.iloc[:n], new.iloc[n:]) if len(new) > n else (new, new.iloc[:0])
    kinds = (["patch"] if patch else []) + (["stream"] if len(tail) else [])
    if not kinds:
        return plan("none", old)
    return plan("+".join(kinds), new, patch, head, tail)


_CANON: collections.OrderedDict[tuple, tuple[pd.DataFrame, pd.DataFrame]] = collections.OrderedDict()


def _canonical(given: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """One object for ``given`` under the same labels, whichever frame a table came from: the
    tables of sessions that went different ways (one skipped a frame) show the same object
    again after their next step, and share the plans from there on."""
    key = (id(given), tuple(new.index), tuple(map(str, new.dtypes)))
    with _CANON_LOCK:
        hit = _CANON.get(key)
        if hit is not None and hit[0] is given:
            _CANON.move_to_end(key)
            return hit[1]
        _CANON[key] = (given, new)
        while len(_CANON) > 64:
            _CANON.popitem(last=False)
    return new


_CANON_LOCK = threading.Lock()


table_plan = FrameMemo(_plan)  # sync_table's plan from a frame to the next, once for every table


def append_rows(widget: Table, rows: pd.DataFrame, keep: int, slack: int | None = None, key: str | None = None) -> None:
    """Add ``rows`` (oldest first) to a tail table: it holds the newest ``keep`` rows and up to
    ``slack`` more (default a fifth of ``keep``); past that it is cut back to ``keep`` at once.
    Why the slack: rolling a row off at each append moves every row in the browser, which then
    redraws the whole table in every tab; this way most appends only add rows. Worked out once
    for every table showing the same frame and given the same rows (:class:`FrameMemo`).

    ``key``: a column naming each row's content (the same key, the same row). Tables that came
    to the same rows under the same labels by different steps (sessions that took a burst's rows
    at different moments) then hold one frame again, and share their plans from there on."""
    replace, tail, value = tail_plan(widget.value, rows, keep, max(1, keep // 5) if slack is None else slack, key)
    if replace:
        widget.replace(value)
    else:
        widget.append(tail, value)


def _tail(
    old: pd.DataFrame, rows: pd.DataFrame, keep: int, slack: int, key: str | None = None
) -> tuple[bool, pd.DataFrame, pd.DataFrame]:
    """(replace, the rows labelled after the table's, the table's value after)."""
    rows = _typed_like(rows, old).copy()
    index = old.index
    if not len(index):  # the first rows set the columns' types
        return True, rows, _one_tail(rows.iloc[-keep:].reset_index(drop=True), key)
    start = int(index.max()) + 1  # a tail rolls over: labels must not repeat
    rows.index = pd.RangeIndex(start, start + len(rows))
    whole = pd.concat([old, rows])
    if len(index) + len(rows) > keep + slack:
        return True, rows, _one_tail(whole.iloc[-keep:], key)
    return False, rows, _one_tail(whole, key)


_TAILS: collections.OrderedDict[tuple, pd.DataFrame] = collections.OrderedDict()


def _one_tail(value: pd.DataFrame, key: str | None) -> pd.DataFrame:
    """The frame already made with ``value``'s rows under its labels, if any (by ``key``)."""
    if key is None:
        return value
    name = (tuple(value.index), tuple(value[key]), tuple(value.columns), tuple(map(str, value.dtypes)))
    with _CANON_LOCK:
        hit = _TAILS.get(name)
        if hit is not None:
            _TAILS.move_to_end(name)
            return hit
        _TAILS[name] = value
        while len(_TAILS) > 64:
            _TAILS.popitem(last=False)
    return value


tail_plan = FrameMemo(_tail)  # append_rows' plan


def _rows_from(frame: pd.DataFrame, start: int) -> pd.DataFrame:
    return frame.iloc[start:]


rows_from = FrameMemo(_rows_from)  # frame.iloc[start:], the same object for every session asking


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def money(v: float | None) -> str:
    return fmt.money(v)
