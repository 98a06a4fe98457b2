"""Brokers: the one interface a runner trades through (``base``) and its adapters.

``paper`` is a simulated venue in its own SQLite file; a real remote broker adapter
implements the same :class:`Broker`.
"""

from .base import (
    Broker,
    BrokerAccount,
    BrokerDisconnected,
    BrokerError,
    BrokerFill,
    BrokerOrder,
    BrokerPosition,
    BrokerRejected,
    BrokerTimeout,
    InvalidBrokerRequest,
    OrderRequest,
)
from .paper import FAULT_KINDS, PaperBroker
from .paperdb import NewerBrokerVersion

__all__ = [
    "Broker",
    "OrderRequest",
    "BrokerOrder",
    "BrokerPosition",
    "BrokerAccount",
    "BrokerFill",
    "BrokerError",
    "BrokerTimeout",
    "BrokerDisconnected",
    "BrokerRejected",
    "InvalidBrokerRequest",
    "PaperBroker",
    "FAULT_KINDS",
    "NewerBrokerVersion",
]
