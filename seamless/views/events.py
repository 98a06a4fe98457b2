"""Events: a filterable tail of the journal."""
from __future__ import annotations

import collections
import fnmatch

import pandas as pd
import panel as pn

from ..events import Event
from ..persist.journal import decode_row, last_seq, read_rows
from ..persist.schema import open_reader
from .base import BaseView, clock, append_rows, table


def summary(ev: Event, width: int = 160) -> str:
    text = ", ".join(f"{k}={v}" for k, v in ev.payload().items() if v not in (None, ""))
    return text if len(text) <= width else text[:width - 1] + "…"


class EventsView(BaseView):
    title = "Events"
    topics = ("*",)
    wants_events = True

    def __init__(self, store, keep: int = 1_000, show: int = 300) -> None:
        super().__init__(store)
        self.keep, self.show = keep, show
        self.ring: collections.deque[Event] = collections.deque(maxlen=keep)
        self.pattern = pn.widgets.TextInput(label="Topic filter", value="*", placeholder="order.* or risk.*",
                                            css_classes=["seamless-event-filter"], width=240)
        self.hide_quotes = pn.widgets.Checkbox(label="hide market quotes", value=True)
        self.tail = table(["seq:f0", "time", "topic", "summary"], css_classes=["seamless-events"], height=420,
                          sorters=[{"field": "seq", "dir": "desc"}])
        self.pattern.param.watch(lambda _e: self._rebuild(), "value")
        self.hide_quotes.param.watch(lambda _e: self._rebuild(), "value")
        self._last_seq = self._load_journal_tail(store)
        self._built = False
        self.section(pn.Row(self.pattern, self.hide_quotes), self.tail)

    def _load_journal_tail(self, store) -> int:
        """The journal's last events, read-only (never blocks the writer)."""
        try:
            conn = open_reader(store.path)
        except Exception:
            return 0
        try:
            end = last_seq(conn)
            for row in read_rows(conn, after=max(0, end - self.show)):  # opening a tab must stay cheap
                self.ring.append(decode_row(row))
            return end
        finally:
            conn.close()

    def _wanted(self, ev: Event) -> bool:
        if self.hide_quotes.value and ev.topic == "market.quote":
            return False
        return fnmatch.fnmatchcase(ev.topic, self.pattern.value.strip() or "*")

    def _rows(self, events) -> pd.DataFrame:
        return pd.DataFrame([{"seq": e.seq, "time": clock(e.ts), "topic": e.topic, "summary": summary(e)}
                             for e in events], columns=["seq", "time", "topic", "summary"])

    def _rebuild(self) -> None:
        """A new filter: the one time the table is re-sent whole."""
        self.tail.value = self._rows([e for e in self.ring if self._wanted(e)][-self.show:])

    def updated_at(self) -> float | None:
        return self.ring[-1].ts if self.ring else None

    def update(self, events: list[Event]) -> None:
        fresh = [e for e in events if e.seq > self._last_seq]
        if fresh:
            self._last_seq = fresh[-1].seq
            self.ring.extend(fresh)
        if not self._built:
            self._built = True
            self._rebuild()
            return
        wanted = [e for e in fresh if self._wanted(e)][-self.show:]
        if wanted:
            append_rows(self.tail, self._rows(wanted), self.show)
