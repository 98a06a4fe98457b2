"""The store: the single write path (commit) and the read path (read with age; StateSource)."""

from .follower import Follower
from .source import StateSource
from .store import Reading, Store, WriterHealth, apply_changes

__all__ = ["Follower", "Store", "StateSource", "Reading", "WriterHealth", "apply_changes"]
