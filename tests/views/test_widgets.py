"""The views build on Panel's current API: no deprecated parameter (``button_type`` became
``color``), so nothing warns when a page is built."""

from __future__ import annotations

import warnings

from seamless.service import Access
from seamless.views.controls import Controls
from seamless.views.market import MarketView
from seamless.views.reconciliation import ReconciliationView
from seamless.views.toasts import Toasts


class _Service:
    """What the controls read of the service when they are built: its store."""

    def __init__(self, store) -> None:
        self.store = store


def test_the_views_and_controls_build_without_a_deprecation_warning(store):
    with warnings.catch_warnings():
        warnings.simplefilter("error", PendingDeprecationWarning)
        warnings.simplefilter("error", DeprecationWarning)
        controls = Controls(_Service(store), Access(user=None, remote_ip="127.0.0.1", forwarded=False), None, Toasts())  # type: ignore[arg-type]
        MarketView(store)
        ReconciliationView(store, controls)
    assert {"start", "halt", "flatten"} <= set(controls.buttons)
