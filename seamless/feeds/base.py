"""What a market-data feed is: a source of ticks in exchange-time order.

A feed only produces ticks; it never sleeps. Pacing them against the wall clock is the
runner's job (:func:`paced`), so the same feed runs flat out in tests and replays and in
real time on the dashboard.
"""

from __future__ import annotations

import abc
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ..errors import SeamlessError

#: The symbols traded when none are named: the simulated feed's, the dashboard's, the notebooks'.
DEFAULT_SYMBOLS = ("AAPL", "MSFT", "GOOG", "IBM")


class FeedError(SeamlessError, ValueError):
    """A feed cannot be built from what it was given (columns, symbols, arguments)."""


class FeedClosed(RuntimeError):
    """``ticks()`` was asked of a feed after ``close()``."""


@dataclass(frozen=True, slots=True)
class Tick:
    """One price observation.

    Deliberately not validated: a feed passes on what its source says, bad values
    included (NaN, non-positive, out of order, unknown symbol), so that the engine's
    bad-tick filter sees them and counts them instead of a feed hiding them. What only
    the feed can tell (a bar that cannot be) it marks in ``fault``, for the same filter.
    """

    symbol: str
    last: float
    bid: float | None
    ask: float | None
    #: exchange time, epoch seconds.
    exchange_ts: float
    #: The feed's own verdict, when its source says the tick cannot be (a replayed bar
    #: whose high is below its low...): the engine rejects the tick and counts it under
    #: this kind, as it counts the bad ticks it finds itself. None for a tick the feed
    #: has nothing against.
    fault: str | None = None


#: ``on_status(connected, error)``: a live feed lost its source, or has it again.
StatusCallback = Callable[[bool, str], None]


class Feed(abc.ABC):
    """A source of ticks for ``symbols``.

    ``speed`` is the feed's suggested pace for :func:`paced` (exchange seconds per real
    second; 0 means as fast as possible); the runner may use another.

    A live feed (one that waits for its source) yields ``None`` when no tick has come for
    about a second: nothing happened, but its consumer gets a turn to do other work and to
    notice it was asked to stop. It reports losing its source and getting it back to
    :meth:`on_status`, and offers recent history to warm strategies (:meth:`history`).
    """

    symbols: tuple[str, ...]
    speed: float = 0.0
    _closed: bool = False

    @abc.abstractmethod
    def ticks(self) -> Iterator[Tick | None]:
        """Yield ticks in exchange-time order (a tick carrying a fault may break it); a
        live feed yields None for a beat without one."""

    def history(self) -> list[Tick]:
        """Recent ticks from before the feed started (a live feed's last bars), oldest first,
        to warm strategies: seen by them, never traded on nor journaled. None by default."""
        return []

    def ready(self) -> list[Tick]:
        """The ticks that have already arrived behind the last one :meth:`ticks` yielded,
        taken now, oldest first (they will not be yielded): what conflation may fold. A feed
        that makes its ticks when asked has none waiting."""
        return []

    def on_status(self, callback: StatusCallback) -> None:
        """Call ``callback(connected, error)`` when the feed loses its source or gets it
        back. A feed that cannot lose its source never calls it."""
        del callback  # nothing to report, ever

    def close(self) -> None:
        """Stop: iterators already handed out end at their next tick. Idempotent."""
        self._closed = True

    @property
    def closed(self) -> bool:
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise FeedClosed(f"{type(self).__name__} is closed")

    def __enter__(self) -> Feed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def paced(
    ticks: Iterable[Tick | None],
    speed: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    max_lag: float = 1.0,
) -> Iterator[Tick | None]:
    """Yield ``ticks`` no faster than their exchange-time gaps divided by ``speed``.

    ``speed`` = 1 is real time, 60 is a minute of exchange time per second; 0 or inf
    means no pacing at all. Each tick is due at ``start + (exchange_ts - first_ts) / speed``
    on ``clock``: measured from one anchor rather than gap by gap, so sleep overshoot does
    not add up into drift. When the consumer falls more than ``max_lag`` seconds behind,
    the schedule is moved forward instead of catching up in a burst. A tick whose
    exchange_ts is not finite or goes backwards is yielded at once (the engine judges it).
    """
    if speed < 0 or math.isnan(speed):
        raise FeedError(f"paced: speed must be >= 0, not {speed}")
    if speed == 0 or math.isinf(speed):
        yield from ticks
        return
    anchor_clock: float | None = None
    anchor_ts = high_ts = 0.0
    for tick in ticks:
        if tick is None:  # a live feed's idle beat: nothing to pace
            yield tick
            continue
        ts = tick.exchange_ts
        if not math.isfinite(ts) or (anchor_clock is not None and ts < high_ts):
            # Never schedule (or re-anchor) on a tick that is out of order: it is a fault.
            yield tick
            continue
        high_ts = ts
        now = clock()
        if anchor_clock is None:
            anchor_clock, anchor_ts = now, ts
        else:
            due = anchor_clock + (ts - anchor_ts) / speed
            if now < due:
                sleep(due - now)
            elif now - due > max_lag:
                # Re-anchor on this tick: a slow consumer slows the feed down, it does not
                # get a burst of stale ticks afterwards.
                anchor_clock, anchor_ts = now, ts
        yield tick
