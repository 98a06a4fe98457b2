"""Where events are journaled: the SQLite journal, snapshots, recovery and replay."""

from .recovery import Restored, restore
from .schema import SCHEMA_VERSION, open_reader, open_writer

__all__ = ["SCHEMA_VERSION", "open_reader", "open_writer", "restore", "Restored"]
