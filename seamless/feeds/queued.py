"""``QueueFeed``: ticks put in by their producer (a socket's thread, a test, a benchmark)."""

from __future__ import annotations

import queue
from collections.abc import Iterable, Iterator

from .base import Feed, Tick

_END = object()


class QueueFeed(Feed):
    """Yields the ticks :meth:`put` into it, in that order; None for each ``beat_s`` without
    one (a live feed's idle beat); ends once :meth:`close`\\ d and drained."""

    speed = 0.0  # live: the ticks come at their producer's pace

    def __init__(self, symbols: Iterable[str], beat_s: float = 1.0) -> None:
        self.symbols = tuple(symbols)
        self.beat_s = beat_s
        self._queue: queue.SimpleQueue[Tick | object] = queue.SimpleQueue()

    def put(self, tick: Tick) -> None:
        self._queue.put(tick)

    def ticks(self) -> Iterator[Tick | None]:
        self._check_open()
        q = self._queue
        while True:
            try:
                item = q.get(timeout=self.beat_s)
            except queue.Empty:
                yield None
                continue
            if item is _END:
                return
            yield item  # type: ignore[misc]  # only ticks and _END are put

    def ready(self) -> list[Tick]:
        out: list[Tick] = []
        q = self._queue
        while True:
            try:
                item = q.get_nowait()
            except queue.Empty:
                return out
            if item is _END:
                q.put(_END)  # ticks() ends on it, after these
                return out
            out.append(item)  # type: ignore[arg-type]

    def close(self) -> None:
        if not self._closed:
            super().close()
            self._queue.put(_END)
