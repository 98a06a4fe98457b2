"""The Panel server plugin: ``panel serve app.py --plugins seamless.ops.plugin``.

Panel imports this module once when the server starts and adds its ``ROUTES`` to the
server's own Tornado application: ``/healthz``, ``/readyz`` and ``/metrics`` on the
dashboard's port, no second server. They serve what the dashboard's service publishes
(:func:`seamless.ops.http.publish`, done by :func:`seamless.service.embedded`): until the
app has run once (``--warm`` runs it at start) readiness says "not started yet".
"""

from __future__ import annotations

from .http import published, routes

#: The routes Panel adds to its server (``--plugins``).
ROUTES = routes(published)
