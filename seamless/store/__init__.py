"""The store: the single write path (commit) and the read path (read with age)."""
from .store import Reading, Store

__all__ = ["Store", "Reading"]
