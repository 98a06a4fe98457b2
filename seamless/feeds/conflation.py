"""Conflation: a symbol's quotes waiting behind a newer good quote of it are folded into it.

When a feed delivers faster than the runner applies, ticks wait in the feed's queue
(:meth:`Feed.ready`). With conflation on (``Config.conflate``, off by default) the runner
applies, per symbol, only the newest of those it takes at once; it counts what it folded and
journals the counts (``market.conflated``). Nothing here drops a tick the engine would judge:
a tick is folded only when it is good (no fault, a positive finite price and time) and a
good tick of its symbol with a later exchange time waits behind it, so the bad-tick filter
still sees and counts every bad one, and the newest good price of each symbol is applied.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Sequence

from .base import Tick


def good(tick: Tick) -> bool:
    """Nothing the engine's bad-tick filter would refuse for the tick's own values."""
    last, ts = tick.last, tick.exchange_ts
    return (
        tick.fault is None
        and isinstance(last, (int, float))
        and 0 < last < math.inf
        and isinstance(ts, (int, float))
        and math.isfinite(ts)
    )


def conflate(ticks: Sequence[Tick]) -> tuple[list[Tick], collections.Counter[str]]:
    """(the ticks kept, in their order; how many were folded per symbol)."""
    newest: dict[str, float] = {}  # symbol -> latest exchange time of a good tick kept after this one
    kept: list[Tick] = []
    folded: collections.Counter[str] = collections.Counter()
    for tick in reversed(ticks):
        if good(tick):
            later = newest.get(tick.symbol)
            if later is not None and tick.exchange_ts < later:
                folded[tick.symbol] += 1
                continue
            newest[tick.symbol] = tick.exchange_ts if later is None else max(later, tick.exchange_ts)
        kept.append(tick)
    kept.reverse()
    return kept, folded
