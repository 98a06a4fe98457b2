"""The embedded service behind ``panel serve app.py``: access, one runner per process."""

from .access import MONEY_MOVING, Access, NotAllowed
from .prefs import Prefs, prefs_path
from .service import Service, current, embedded, startup_error

__all__ = [
    "Access",
    "MONEY_MOVING",
    "NotAllowed",
    "Prefs",
    "prefs_path",
    "Service",
    "current",
    "embedded",
    "startup_error",
]
