"""The HTTP endpoints, as Tornado handlers: ``/healthz``, ``/readyz``, ``/metrics``, ``/events``.

The dashboard serves them from its own server (the Panel plugin :mod:`seamless.ops.plugin`);
``seamless run --http-port N`` from :func:`serve_http`, the same handlers on a loop of their
own. Neither asks for a login: serve them on a loopback address (the default) and keep them
from the proxy (see the operations guide).

- ``/healthz``: 200 as long as the process runs and its loop turns; answered on the loop
  itself, reading nothing.
- ``/readyz``: every readiness check (:mod:`seamless.ops.health`) as JSON; 200 when all are
  ok, else 503.
- ``/metrics``: the Prometheus exposition (:mod:`seamless.ops.metrics`), built off the loop.
- ``/events``: the journal's rows as Server-Sent Events (:mod:`seamless.ops.stream`); the one
  endpoint that asks who reads it, as the money-moving controls do.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

from .health import Source, readiness
from .metrics import registry
from .stream import EventsHandler, feed_of

_STARTED = time.monotonic()
_published: Callable[[], Source] | None = None


def publish(source: Callable[[], Source]) -> None:
    """Make ``source`` what this process's endpoints serve (the dashboard's service does,
    once per process: the plugin's routes exist before the app has run)."""
    global _published
    _published = source


def published() -> Source:
    """What :func:`publish` gave, now; an empty :class:`Source` (not started) before."""
    # Through sys.modules: under ``--autoreload`` the service may publish on a re-imported
    # copy of this module, while the routes Panel added at start call this copy's function.
    module = sys.modules.get(__name__)
    source = getattr(module, "_published", None) or _published
    return source() if source is not None else Source()


class _Handler(RequestHandler):
    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")

    def _timed(self) -> None:
        """``Server-Timing: app;dur=MS``: the server's time on this request so far."""
        self.set_header("Server-Timing", f"app;dur={self.request.request_time() * 1e3:.3f}")

    def _json(self, status: int, doc: dict[str, Any]) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        body = json.dumps(doc, separators=(",", ":"))
        self._timed()
        self.finish(body)


class HealthHandler(_Handler):
    """``GET /healthz``: the process is alive and its loop turns (this answer is proof)."""

    def get(self) -> None:
        self._json(200, {"alive": True, "pid": os.getpid(), "uptime_s": round(time.monotonic() - _STARTED, 3)})

    head = get


class ReadyHandler(_Handler):
    """``GET /readyz``: each readiness check with its status and reason; 200 ready, 503 not."""

    def initialize(self, source: Callable[[], Source]) -> None:
        self.source = source

    def get(self) -> None:
        report = readiness(self.source())  # in memory, and one statvfs: well under a millisecond
        self._json(200 if report.ready else 503, report.document())


class MetricsHandler(_Handler):
    """``GET /metrics``: the Prometheus exposition (text, or OpenMetrics when asked for)."""

    def initialize(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    async def get(self) -> None:
        encoder, content_type = choose_encoder(self.request.headers.get("Accept", ""))
        body = await asyncio.to_thread(encoder, self.registry)  # folds histograms: off the loop
        self.set_header("Content-Type", content_type)
        self._timed()
        self.finish(body)


def routes(source: Callable[[], Source] = published) -> list[tuple[str, type[RequestHandler], dict[str, Any]]]:
    """The endpoints' Tornado routes, serving ``source``."""
    return [
        (r"/healthz", HealthHandler, {}),
        (r"/events", EventsHandler, {"feed": feed_of(source)}),
        (r"/readyz", ReadyHandler, {"source": source}),
        (r"/metrics", MetricsHandler, {"registry": registry(source)}),
    ]


class HttpServer:
    """The endpoints on a port of their own: bound when made (a port in use fails at once,
    ``OSError``), served from a thread and loop of their own once :meth:`start` ed."""

    def __init__(self, port: int = 0, address: str = "127.0.0.1") -> None:
        self._sockets: list[socket.socket] = bind_sockets(port, address)
        self.address, self.port = self._sockets[0].getsockname()[:2]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    def start(self, source: Callable[[], Source]) -> HttpServer:
        """Serve ``source``; returns once the loop runs."""
        started = threading.Event()
        app = Application(routes(source))
        self._thread = threading.Thread(target=self._run, args=(app, started), name="seamless-http", daemon=True)
        self._thread.start()
        started.wait(10.0)
        return self

    def _run(self, app: Application, started: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        server = HTTPServer(app)
        server.add_sockets(self._sockets)
        self._loop = loop
        started.set()
        try:
            loop.run_forever()
        finally:
            server.stop()
            loop.run_until_complete(server.close_all_connections())
            loop.close()

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop serving and release the port."""
        loop, thread = self._loop, self._thread
        if thread is None:  # never started: only the sockets to close
            for sock in self._sockets:
                sock.close()
            return
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout_s)


def serve_http(source: Callable[[], Source], port: int = 0, address: str = "127.0.0.1") -> HttpServer:
    """Serve the endpoints on ``address:port`` (0: a free port) from a thread of their own.
    Raises ``OSError`` when the port cannot be bound (in use, not allowed)."""
    return HttpServer(port, address).start(source)
