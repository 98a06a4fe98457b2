"""The pure apply step: (state values, event) -> changes.

A planner reads the current values and returns the new values of the fields the
event changes; it never mutates anything and raises :class:`InvalidEvent` when
the event does not fit the state (so nothing is journaled).  The same planners
drive the live store and every replay, which is why replay equals live.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import InvalidEvent
from ..events import Event
from ..params.records import FrozenDict
from ..params.state import Values, initial_values

#: part -> field -> new value
Changes = dict[str, dict[str, Any]]
Planner = Callable[[Values, Any], Changes]
_PLANNERS: dict[type[Event], Planner] = {}

E = TypeVar("E", bound=Event)


def planner(*event_types: type[Event]) -> Callable[[Callable[[Values, E], Changes]], Callable[[Values, E], Changes]]:
    """Register the planner for these event types."""

    def wrap(fn: Callable[[Values, E], Changes]) -> Callable[[Values, E], Changes]:
        for t in event_types:
            if t in _PLANNERS:
                raise TypeError(f"two planners for {t.__name__}")
            _PLANNERS[t] = fn
        return fn

    return wrap


def plan(values: Values, ev: Event) -> Changes:
    """The changes ``ev`` makes to ``values``.  Planned events are stamped: the store stamps
    ``seq`` and ``ts`` before it plans, and a journaled event is read back with both; so
    planners narrow them from ``int | None`` / ``float | None`` for the type checker only
    (``if TYPE_CHECKING: assert ...``, nothing at run time on this hot path)."""
    fn = _PLANNERS.get(type(ev))
    if fn is None:
        raise InvalidEvent(f"no planner for event {type(ev).__name__}")
    return fn(values, ev)


Meta = dict[str, tuple[int, float | None]]


def _freeze(fields: dict[str, Any]) -> None:
    for k, v in fields.items():
        if type(v) is dict:
            fields[k] = FrozenDict(v)


class Projection:
    """State as plain values plus per-part (seq, updated_at), advanced event by event."""

    def __init__(self, values: Values | None = None, meta: Meta | None = None, seq: int = 0) -> None:
        self.values: Values = values if values is not None else initial_values()
        for fields in self.values.values():
            _freeze(fields)
        self.meta: Meta = meta if meta is not None else {p: (0, None) for p in self.values}
        self.seq = seq

    def plan(self, ev: Event) -> Changes:
        return plan(self.values, ev)

    def advance(self, ev: Event, changes: Changes) -> None:
        if TYPE_CHECKING:  # stamped, as every planned event: see plan
            assert ev.seq is not None
        for part, fields in changes.items():
            _freeze(fields)  # in place: the store sets the params from these same changes
            self.values[part].update(fields)
            self.meta[part] = (ev.seq, ev.ts)
        self.seq = ev.seq

    def apply(self, ev: Event) -> Changes:
        changes = plan(self.values, ev)
        self.advance(ev, changes)
        return changes


def check_complete() -> None:
    """Every registered event type has a planner (checked at import of seamless.apply)."""
    from ..events import REGISTRY

    missing = [n for n, t in REGISTRY.items() if t not in _PLANNERS]
    if missing:
        raise TypeError(f"events without a planner: {', '.join(sorted(missing))}")
