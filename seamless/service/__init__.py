"""The embedded service behind ``panel serve app.py``: access, one runner per process."""

from .access import MONEY_MOVING, Access, NotAllowed
from .service import Service, current, embedded, startup_error

__all__ = ["Access", "MONEY_MOVING", "NotAllowed", "Service", "current", "embedded", "startup_error"]
