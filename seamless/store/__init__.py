"""The store: the single write path (commit) and the read path (read with age)."""
from .follower import Follower
from .store import Reading, Store, apply_changes

__all__ = ["Follower", "Store", "Reading", "apply_changes"]
