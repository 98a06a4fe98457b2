"""Operations: health and readiness endpoints, Prometheus metrics.

``/healthz``, ``/readyz`` and ``/metrics`` on the dashboard's server (the Panel plugin
:mod:`seamless.ops.plugin`) and on ``seamless run --http-port N`` (:func:`serve_http`).
"""

from .health import CHECKS, VIEWER_CHECKS, Check, Readiness, Result, Source, Subject, Target, not_ready, readiness
from .http import HttpServer, publish, published, routes, serve_http
from .metrics import Metrics, registry

__all__ = [
    "CHECKS",
    "VIEWER_CHECKS",
    "Check",
    "HttpServer",
    "Metrics",
    "Readiness",
    "Result",
    "Source",
    "Subject",
    "Target",
    "publish",
    "published",
    "not_ready",
    "readiness",
    "registry",
    "routes",
    "serve_http",
]
