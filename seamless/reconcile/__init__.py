"""Broker reconciliation: compare the store with the broker, adopt the broker's truth, journal it.

``compare(store, broker)`` lists the :class:`Finding` s; ``Reconciler(store, broker, policy).run()``
catches up missed fills, resolves the rest as the :class:`ReconcilePolicy` says, journals
``reconcile.started`` / ``reconcile.mismatch`` / ``reconcile.completed`` and escalates the
trading state on a persistent or large mismatch.
"""

from .findings import KINDS, Finding, compare
from .policy import ReconcilePolicy
from .reconciler import Reconciler, Report

__all__ = ["Finding", "compare", "KINDS", "ReconcilePolicy", "Reconciler", "Report"]
