"""Events: a filterable tail of the journal.

The view starts from the source's tail (:meth:`~seamless.store.StateSource.tail`: journaled or
not yet) and goes on with the events the push brings, keeping only those past the last seq it
has. Events it was not brought (committed between its tail and its session joining the push,
or more than the push keeps while its tab was closed) it asks the source for, so that every
event shows once, in seq order.
"""

from __future__ import annotations

import collections
import fnmatch
import logging
import re
from typing import TYPE_CHECKING

import pandas as pd
import panel as pn

from .. import fmt
from ..errors import StoreError
from ..events import Event
from ..store import StateSource
from .base import BaseView, append_rows, sync_table, table

log = logging.getLogger("seamless.views")


_PRICES = frozenset(
    {"price", "last", "bid", "ask", "avg_price", "mark", "trigger", "high_water", "stop", "limit_price"}
)
_MONEY = frozenset({"cash", "equity", "loss", "limit", "daily_loss_limit", "commission", "realized_pnl", "amount"})


def _value(key: str, v: object) -> str:
    """A payload value as a person reads it: prices at their tick, money, times in the
    exchange's zone, other numbers without float noise."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    if key in _PRICES:
        return fmt.price(v)
    if key in _MONEY:
        return fmt.money(v)
    if key.endswith("_ts") or key.endswith("_at"):
        return fmt.exchange_time(v)
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def summary(ev: Event, width: int = 160) -> str:
    text = ", ".join(f"{k}={_value(k, v)}" for k, v in ev.payload().items() if v not in (None, ""))
    return text if len(text) <= width else text[: width - 1] + "…"


def refusal_reason(reason: str) -> str:
    """A refusal's reason with its figures taken out, so that refusals group by kind:
    '61 orders in the last minute' and '62 orders ...' are one reason."""
    return re.sub(r"\d+(?:[.,]\d+)*", "N", reason)


class EventsView(BaseView):
    title = "Events"
    topics = ("*",)
    wants_events = True

    def __init__(self, store: StateSource, keep: int = 1_000, show: int = 300) -> None:
        super().__init__(store)
        self.keep, self.show = keep, show
        self.ring: collections.deque[Event] = collections.deque(maxlen=keep)
        self.pattern = pn.widgets.TextInput(
            label="Topic filter",
            value="*",
            placeholder="order.* or risk.*",
            css_classes=["seamless-event-filter"],
            width=240,
        )
        self.hide_quotes = pn.widgets.Checkbox(label="hide market quotes", value=True)
        # Refusals are journaled one by one, but a strategy over its budget is refused many
        # times a minute: here they are counted by reason, out of the tail.
        self.group_refusals = pn.widgets.Checkbox(label="refusals grouped by reason", value=True)
        self.refusals = table(
            ["reason", "count:f0", "last_seq:f0", "last_time:t", "symbols"],
            css_classes=["seamless-refusals"],
            height=130,
            empty="no order refused",
        )
        self._refusals: dict[str, dict] = {}
        self.tail = table(
            ["seq:f0", "time:t", "topic", "summary"],
            css_classes=["seamless-events"],
            height=420,
            sorters=[{"field": "seq", "dir": "desc"}],
        )
        self.pattern.param.watch(lambda _e: self._rebuild(), "value")
        self.hide_quotes.param.watch(lambda _e: self._rebuild(), "value")
        self.group_refusals.param.watch(lambda _e: self._rebuild(), "value")
        self._last_seq = self._load_tail()
        self._count_refusals(self.ring)
        self._built = False
        self.section(
            pn.FlexBox(self.pattern, self.hide_quotes, self.group_refusals, align_items="center"),
            self.titled_table("refusals", "Order refusals by reason", self.refusals),
            self.refusals,
            self.titled_table("events", "Events", self.tail),
            self.tail,
        )

    def _count_refusals(self, events) -> bool:
        """Counts the refusals among ``events``; True if any."""
        any_ = False
        for ev in events:
            if ev.topic != "order.refused":
                continue
            any_ = True
            reason = refusal_reason(getattr(ev, "reason", ""))
            row = self._refusals.setdefault(reason, {"count": 0, "symbols": set()})
            row["count"] += 1
            row["last_seq"], row["last_time"] = ev.seq, ev.ts
            row["symbols"].add(getattr(ev, "symbol", ""))
        return any_

    def _show_refusals(self) -> None:
        rows = [
            {
                "reason": reason,
                "count": float(r["count"]),
                "last_seq": float(r["last_seq"]),
                "last_time": fmt.iso(r["last_time"]),
                "symbols": ", ".join(sorted(r["symbols"])),
            }
            for reason, r in sorted(self._refusals.items())
        ]
        sync_table(self.refusals, pd.DataFrame(rows, columns=list(self.refusals.value.columns)), "reason")

    def _load_tail(self) -> int:
        """The source's last events (only ``show``: opening a tab must stay cheap); the last seq."""
        try:
            events = self.store.tail(self.show)
        except StoreError as e:
            log.warning("events view starts empty: %s", e)
            return 0
        self.ring.extend(events)
        if not events:
            return 0
        if TYPE_CHECKING:  # journaled and published events are stamped (so below too)
            assert events[-1].seq is not None
        return events[-1].seq

    def _missed(self, events: list[Event]) -> list[Event]:
        """The events before ``events`` (the push's, in seq order) that this view never got:
        at its first refresh, those committed since its tail; else those of a gap (at most
        ``keep``, the newest). Asked of the source, which ends where the push begins."""
        if events:
            if TYPE_CHECKING:
                assert events[0].seq is not None
            if events[0].seq <= self._last_seq + 1:
                return []
            upto = events[0].seq - 1
            after = max(self._last_seq, upto - self.keep)
            limit = upto - after
        elif not self.filled:
            after, limit = self._last_seq, self.keep
        else:
            return []
        try:
            return self.store.events_since(after, limit)
        except StoreError as e:
            log.warning("events view could not fill a gap after seq %d: %s", after, e)
            return []

    def refresh(self, events: list[Event]) -> None:
        missed = self._missed(events)
        super().refresh(missed + list(events) if missed else events)

    def _wanted(self, ev: Event) -> bool:
        if self.hide_quotes.value and ev.topic == "market.quote":
            return False
        if self.group_refusals.value and ev.topic == "order.refused":
            return False
        return fnmatch.fnmatchcase(ev.topic, (self.pattern.value or "").strip() or "*")

    def _rows(self, events) -> pd.DataFrame:
        return pd.DataFrame(
            [{"seq": e.seq, "time": fmt.iso(e.ts), "topic": e.topic, "summary": summary(e)} for e in events],
            columns=["seq", "time", "topic", "summary"],
        )

    def _rebuild(self) -> None:
        """A new filter: the one time the table is re-sent whole."""
        self.tail.value = self._rows([e for e in self.ring if self._wanted(e)][-self.show :])

    def updated_at(self) -> float | None:
        return self.ring[-1].ts if self.ring else None

    def update(self, events: list[Event]) -> None:
        fresh = [e for e in events if e.seq is not None and e.seq > self._last_seq]
        if fresh:
            if TYPE_CHECKING:
                assert fresh[-1].seq is not None
            self._last_seq = fresh[-1].seq
            self.ring.extend(fresh)
            if self._count_refusals(fresh):
                self._show_refusals()
        if not self._built:
            self._built = True
            self._show_refusals()
            self._rebuild()
            return
        wanted = [e for e in fresh if self._wanted(e)][-self.show :]
        if wanted:
            append_rows(self.tail, self._rows(wanted), self.show)
