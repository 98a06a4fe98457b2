"""A real loopback HTTP receiver for apprise's ``json://`` URLs, and a notifier on a real store.

- ``receiver``: a :class:`Receiver` on 127.0.0.1 and a free port, stopped at teardown;
- ``notifier_of(store, *urls, **kw)``: a started :class:`~seamless.notify.notifier.Notifier`
  with fast retries (``backoff_s=0.05``), closed at teardown.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from seamless.notify.notifier import Notifier
from seamless.store import Store

#: A bound on every wait of these tests: a condition not met by then is a failure, not a hang.
WAIT_S = 15.0


class Receiver:
    """Answers each POST as ``plan`` says, first to last (then ``default``): ``"ok"`` 200,
    ``"refuse"`` 500, ``"hang"`` blocks until :meth:`release` (bounded), then 200. Keeps each
    request's JSON (``received``) and its path and headers (``requests``)."""

    def __init__(self) -> None:
        self.plan: list[str] = []
        self.default = "ok"
        self.received: list[dict[str, Any]] = []  # accepted (answered 2xx)
        self.requests: list[dict[str, Any]] = []  # every request
        self.released = threading.Event()
        self.hanging = threading.Event()  # set once a request is held
        self._cond = threading.Condition()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with owner._cond:
                    how = owner.plan.pop(0) if owner.plan else owner.default
                    owner.requests.append({"path": self.path, "headers": dict(self.headers), "json": body})
                    owner._cond.notify_all()
                if how == "hang":
                    owner.hanging.set()
                    owner.released.wait(WAIT_S)
                code = 500 if how == "refuse" else 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with owner._cond:
                    if code == 200:
                        owner.received.append(body)
                    owner._cond.notify_all()

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def url(self, path: str = "/hook", auth: str = "") -> str:
        return f"json://{auth + '@' if auth else ''}127.0.0.1:{self.port}{path}"

    def wait_for(self, n: int, timeout: float = WAIT_S, *, requests: bool = False) -> list[dict[str, Any]]:
        """Wait until ``n`` notifications were accepted (or ``n`` requests came); all of them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.requests if requests else self.received) < n:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(self.received)} accepted / {len(self.requests)} requests, wanted {n}"
                self._cond.wait(left)
            return list(self.requests if requests else self.received)

    def quiet_for(self, seconds: float) -> bool:
        """True if no request came in the next ``seconds`` (a bounded wait for an absence)."""
        deadline = time.monotonic() + seconds
        with self._cond:
            n = len(self.requests)
            while len(self.requests) == n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return True
                self._cond.wait(left)
            return False

    def release(self) -> None:
        self.released.set()

    def stop(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def notifier_of() -> Iterator[Callable[..., Notifier]]:
    made: list[Notifier] = []

    def make(store: Store, *urls: str, **kw: Any) -> Notifier:
        n = Notifier(store, list(urls), **{"backoff_s": 0.05, **kw}).start()
        made.append(n)
        return n

    yield make
    for n in made:
        n.close(timeout_s=2.0)


def wait_until(cond: Callable[[], bool], timeout: float = WAIT_S, what: str = "condition") -> None:
    """Poll ``cond`` until it holds (a failure past ``timeout``)."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)
