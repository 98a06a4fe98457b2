"""A store's background task (retention, the scrubber): a daemon thread of its own that stops
when the store closes."""

from __future__ import annotations

import threading
from typing import Self

from .store import Store


class Background:
    """Runs :meth:`_loop` on a thread named ``seamless-{name}`` from :meth:`start` until
    :meth:`stop` (or the store's close); ``_stop`` is set when it should end."""

    name = "task"

    def __init__(self, store: Store) -> None:
        self.store = store
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._loop, name=f"seamless-{self.name}", daemon=True)
        self._thread.start()
        self.store.on_close(self.stop)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def _loop(self) -> None:
        raise NotImplementedError
