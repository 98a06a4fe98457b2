"""What a reader of the state may use: the one read path of the views, the push and the notebooks.

A :class:`~seamless.store.Store` (the process that writes) and a
:class:`~seamless.store.Follower` (a read-only replica of another process's store) both are a
:class:`StateSource`; so will be any other replica (a PostgreSQL follower). Readers are typed
against it, never against a database: how the journal is opened and read belongs to the store.

The journal reads and the bus fit together without a gap or an overlap that a reader could not
tell: :meth:`StateSource.tail` and :meth:`StateSource.events_since` return events up to the
last one handed to ``bus`` (journaled or not yet: a non-critical event not yet flushed comes
from the store's memory), and every later event is published on ``bus``. So a reader that
subscribes first, then reads, then keeps from the bus only the events past the last seq it
read, sees every event once, in seq order.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

from ..bus import Bus
from ..events import Event
from ..params.state import State


@runtime_checkable
class StateSource(Protocol):
    """The read surface of a store: state, sequence, bus, figures and the journal's tail."""

    #: The param state, one object per part (read it, never set it: events change it).
    state: State
    #: Publishes every event applied to ``state``, in seq order (``bus.subscribe(pattern, fn)``).
    bus: Bus

    @property
    def seq(self) -> int:
        """Sequence number of the last event applied to ``state``."""
        ...

    def stats(self) -> dict[str, Any]:
        """Figures for the System view: ``seq``, ``durable_seq``, ``unwritten``, ``snapshot_seq``,
        ``snapshot_age_s``, ``commit`` and ``write`` latency percentiles, and ``bus`` (its stats)."""
        ...

    def tail(self, n: int, topics: Iterable[str] | None = None) -> list[Event]:
        """The last ``n`` events published so far, oldest first; with ``topics`` (fnmatch
        patterns, as ``bus.subscribe`` takes) only the events of a topic matching one of them."""
        ...

    def events_since(self, seq: int, limit: int | None = None) -> list[Event]:
        """The events after ``seq`` published so far, oldest first: at most ``limit`` (the
        first ones after ``seq``), or all of them."""
        ...
