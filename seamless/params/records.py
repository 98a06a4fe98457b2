"""Immutable records held inside state parameters.

State parameters hold values, never mutable containers: a change replaces the
value, so param's watchers always fire and every reader sees a consistent one.
Each record carries ``seq`` and ``updated_at`` of the event that last changed it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NoReturn, Self

from ..errors import ReadOnlyState
from ..events.catalog import MonitorStatus, OrderStatus


class FrozenDict(dict[Any, Any]):
    """A dict held by a state parameter: read-only, so nobody changes state in place."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kw: Any) -> NoReturn:
        raise ReadOnlyState("state dicts are store-owned and read-only; commit an event through the Store")

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self) -> tuple[type[FrozenDict], tuple[dict[Any, Any]]]:
        return (FrozenDict, (dict(self),))

    def with_item(self, key: Any, value: Any) -> FrozenDict:
        """A copy with ``key`` set: how planners change a mapping (one copy, not two)."""
        new = FrozenDict(self)
        dict.__setitem__(new, key, value)
        return new


@dataclasses.dataclass(frozen=True)
class Record:
    seq: int
    updated_at: float

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return cls(**data)


@dataclasses.dataclass(frozen=True)
class Position(Record):
    symbol: str
    qty: float = 0.0
    avg_price: float = 0.0
    realized_pnl: float = 0.0
    mark: float | None = None
    #: event ts when the position last went from flat to non-flat (None: flat, or opened
    #: before positions part version 2 recorded it).
    opened_at: float | None = None

    @property
    def unrealized_pnl(self) -> float:
        return 0.0 if self.mark is None else self.qty * (self.mark - self.avg_price)


@dataclasses.dataclass(frozen=True)
class Quote(Record):
    symbol: str
    last: float
    bid: float | None = None
    ask: float | None = None
    exchange_ts: float | None = None


def quote(
    seq: int,
    updated_at: float,
    symbol: str,
    last: float,
    bid: float | None,
    ask: float | None,
    exchange_ts: float | None,
) -> Quote:
    """``Quote(...)`` for the quote planner, the hottest: the same record, made without the
    frozen dataclass's ``__init__`` (an ``object.__setattr__`` per field: 0.6 µs of its 1 µs).
    Every field is a parameter (tests/params hold them equal to ``Quote``'s fields)."""
    q = _new(Quote)
    d = q.__dict__
    d["seq"], d["updated_at"], d["symbol"], d["last"] = seq, updated_at, symbol, last
    d["bid"], d["ask"], d["exchange_ts"] = bid, ask, exchange_ts
    return q


_new = object.__new__


@dataclasses.dataclass(frozen=True)
class Signal(Record):
    strategy: str
    symbol: str
    direction: int
    strength: float = 1.0
    price: float | None = None
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class Monitor(Record):
    monitor_id: str
    symbol: str
    kind: str
    trigger: float
    trail: float | None = None
    high_water: float | None = None
    status: str = MonitorStatus.ACTIVE
    triggered_price: float | None = None


@dataclasses.dataclass(frozen=True)
class Order(Record):
    client_order_id: str
    symbol: str
    qty: float
    order_type: str = "market"
    limit_price: float | None = None
    status: str = OrderStatus.SUBMITTING
    filled_qty: float = 0.0
    avg_fill_price: float | None = None
    broker_order_id: str = ""
    strategy: str = ""
    reason: str = ""
    submitted_at: float | None = None  # market (exchange) time of the intent, else wall time

    FINAL = (OrderStatus.FILLED, OrderStatus.REJECTED, OrderStatus.CANCELLED, OrderStatus.REFUSED)

    @property
    def is_open(self) -> bool:
        return self.status not in self.FINAL


@dataclasses.dataclass(frozen=True)
class Fill(Record):
    trade_id: str
    client_order_id: str
    symbol: str
    qty: float
    price: float
    commission: float = 0.0


@dataclasses.dataclass(frozen=True)
class Mismatch(Record):
    run_id: str
    kind: str
    subject: str
    store_value: str
    broker_value: str
    resolution: str


@dataclasses.dataclass(frozen=True)
class TradeIds:
    """Broker trade ids already applied, for fill de-duplication.

    Immutable, and cheap to extend: ids live in generations of at most ``GENERATION``
    ids, so adding one copies a small set, not every id ever seen.  The oldest
    generation is forgotten past ``GENERATIONS`` (the last 100,000 trades are kept).
    """

    generations: tuple[frozenset[str], ...] = ()

    GENERATION = 1000
    GENERATIONS = 100

    def __contains__(self, trade_id: str) -> bool:
        return any(trade_id in g for g in reversed(self.generations))

    def __len__(self) -> int:
        return sum(map(len, self.generations))

    def add(self, trade_id: str) -> TradeIds:
        gens = self.generations
        if gens and len(gens[-1]) < self.GENERATION:
            return TradeIds(gens[:-1] + (gens[-1] | {trade_id},))
        return TradeIds((gens + (frozenset((trade_id,)),))[-self.GENERATIONS :])

    def to_list(self) -> list[list[str]]:
        return [sorted(g) for g in self.generations]

    @classmethod
    def from_list(cls, data: list[list[str]]) -> TradeIds:
        return cls(tuple(frozenset(g) for g in data))
