"""The embedded service behind ``panel serve app.py``: config, access, one runner per process."""
from .access import MONEY_MOVING, Access, NotAllowed
from .config import ConfigError, ServiceConfig
from .service import Service, current, embedded

__all__ = ["Access", "ConfigError", "MONEY_MOVING", "NotAllowed", "Service", "ServiceConfig", "current",
           "embedded"]
