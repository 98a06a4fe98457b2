"""The last events committed, kept once for every session's views that show events.

Why one ring and not a queue per view: every quote went into every session's Events queue,
on the writer's thread, a thousand times a second times the sessions. Now the writer appends
once and each view reads, on the server's loop, from where it last stopped.
"""

from __future__ import annotations

import threading

from ..events import Event


class EventRing:
    """The last ``size`` events appended. ``append`` and ``since`` may be called from any thread."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"an event ring holds at least one event, not {size}")
        self.size = size
        self._buf: list[Event | None] = [None] * size
        self._count = 0  # events appended since the ring began: the next one's position
        self._lock = threading.Lock()

    @property
    def count(self) -> int:
        """The position after the last event appended (where a new reader starts)."""
        return self._count

    def append(self, ev: Event) -> None:
        with self._lock:
            self._buf[self._count % self.size] = ev
            self._count += 1

    def since(self, pos: int) -> tuple[list[Event], int]:
        """The events appended from position ``pos`` on (only the last ``size`` of them if more
        came since: the reader has a gap to fill elsewhere), and the position to read from next."""
        with self._lock:
            end = self._count
            k = min(end - pos, self.size)
            if k <= 0:
                return [], end
            a, b = (end - k) % self.size, end % self.size
            events = self._buf[a:b] if a < b else self._buf[a:] + self._buf[:b]
        return events, end  # type: ignore[return-value]  # (every slot read was written)
