"""Where events are defined: the base class and the catalog of every topic."""

from . import catalog as _catalog
from .base import REGISTRY, TOPICS, Event, decode, event
from .catalog import *  # noqa: F401,F403  (the catalog is the public surface)

__all__ = [
    "Event",
    "event",
    "decode",
    "REGISTRY",
    "TOPICS",
    *[n for n, v in vars(_catalog).items() if isinstance(v, type) and issubclass(v, Event) and v is not Event],
]
