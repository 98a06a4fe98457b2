"""Brokers: the one interface a runner trades through (``base``) and its adapters.

``paper`` is a simulated venue in its own SQLite file; ``alpaca`` (imported on demand:
``seamless.brokers.alpaca``) is Alpaca's trading API. Both implement :class:`Broker`.
"""

from .base import (
    Broker,
    BrokerAccount,
    BrokerAuthError,
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
    "BrokerAuthError",
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
