"""Fixtures for the endpoints' tests.

- ``get(url)``: one HTTP GET -> ``Answer`` (status, headers, text; ``.json()``), any status;
- ``wait_for(what, fn, timeout_s)``: poll ``fn`` until it returns something truthy, with a deadline;
- ``live(**settings)``: a real ``Service`` (store, paper broker, simulated feed, runner
  thread) in a temp dir, its endpoints served by :func:`seamless.ops.serve_http` on a free
  loopback port; ``.url``, ``.service``; closed at teardown;
- ``promtool``, ``prometheus``: Debian's, or the test fails saying how to install them.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from seamless import ops
from seamless.brokers import OrderRequest, PaperBroker
from seamless.config import Config, env_name
from seamless.service import Service

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)

    def check(self, check_id: str) -> dict[str, Any]:
        """One readiness check's entry of a /readyz answer."""
        return next(c for c in self.json()["checks"] if c["check"] == check_id)


def http_get(url: str, timeout_s: float = 10.0, headers: dict[str, str] | None = None) -> Answer:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as r:
            return Answer(r.status, dict(r.headers), r.read().decode())
    except urllib.error.HTTPError as e:
        return Answer(e.code, dict(e.headers), e.read().decode())


def poll(what: str, fn: Callable[[], T], timeout_s: float = 20.0, every_s: float = 0.05) -> T:
    """``fn()`` once it is truthy; fails naming ``what`` and the last value after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(every_s)
    raise AssertionError(f"{what}: not within {timeout_s:.0f} s; last: {last!r}")


@pytest.fixture
def get() -> Callable[..., Answer]:
    return http_get


@pytest.fixture
def wait_for() -> Callable[..., Any]:
    return poll


@dataclass
class Live:
    service: Service
    http: ops.HttpServer

    @property
    def url(self) -> str:
        return self.http.url

    def order_by_hand(self, client_order_id: str) -> None:
        """An order placed at the venue outside Seamless: a limit buy below the market, so it
        stays open, through a connection of its own to the paper broker's file."""
        market = self.service.store.state.market
        poll("a quote of IBM", lambda: "IBM" in market.quotes)  # ready on any symbol's first quote
        other = PaperBroker(self.service.config.broker_path)
        try:
            price = round(market.quotes["IBM"].last * 0.95, 2)
            other.submit(
                OrderRequest(
                    client_order_id=client_order_id, symbol="IBM", qty=1.0, order_type="limit", limit_price=price
                )
            )
        finally:
            other.close()

    def readyz(self) -> Answer:
        return http_get(self.url + "/readyz")

    def until_ready(self, timeout_s: float = 30.0) -> Answer:
        return poll("/readyz 200", lambda: (a := self.readyz()).status == 200 and a, timeout_s)

    def until_failed(self, check_id: str, timeout_s: float = 20.0) -> Answer:
        """The /readyz answer once ``check_id`` failed (503, the check's status "failed")."""

        def failed() -> Answer | None:
            a = self.readyz()
            return a if a.status == 503 and a.check(check_id)["status"] == "failed" else None

        return poll(f"/readyz: {check_id} failed", failed, timeout_s)


@pytest.fixture
def live(tmp_path):
    """``live(**settings)``: a running Service and its endpoints (see the module's docstring)."""
    made: list[Live] = []

    def start(**settings: Any) -> Live:
        environ = {env_name(k): str(v) for k, v in settings.items()}
        environ.setdefault("SEAMLESS_DB", str(tmp_path / f"live{len(made)}.db"))
        # ma_cross on every tick: orders, fills and refusals within seconds (the demo's
        # one-minute bars would take twenty minutes to trade)
        environ.setdefault("SEAMLESS_BAR_SECONDS", "0")
        service = Service(Config.load(environ=environ))
        try:
            service.start_runner(by="test")
            source = ops.Source(service, service.metrics)
            http = ops.serve_http(lambda: source)
        except BaseException:
            service.close()
            raise
        made.append(Live(service, http))
        return made[-1]

    yield start
    for one in made:
        one.http.close()
        one.service.close()


@pytest.fixture(scope="session")
def promtool() -> str:
    found = shutil.which("promtool")
    assert found, "promtool is missing: `apt-get install prometheus` (make test does it as root)"
    return found


@pytest.fixture(scope="session")
def prometheus() -> str:
    found = shutil.which("prometheus")
    assert found, "prometheus is missing: `apt-get install prometheus` (make test does it as root)"
    return found
