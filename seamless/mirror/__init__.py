"""The journal mirrored to PostgreSQL, for viewers on other hosts.

- :class:`Mirror` copies every journal row (and the snapshots) of a store's SQLite file to
  PostgreSQL, exactly once by seq, in order, one transaction and one ``NOTIFY`` per batch;
  resumable after a kill of either side (``seamless mirror``, or beside the dashboard with
  ``SEAMLESS_MIRROR_TO``).
- :class:`PgSource` is a :class:`~seamless.store.StateSource` following the mirror: restored
  from the newest mirrored snapshot and the rows after it, then ``LISTEN`` for new ones; a
  dashboard with ``SEAMLESS_SOURCE=postgresql://...`` serves it with no local store.
- :class:`Commands`: a viewer's controls as rows of a commands table, taken and applied on the
  runner's host (through the dashboard's ``Service.command``, with the viewer's identity).
"""

from .commands import Command, Commands
from .copier import Mirror
from .pg import redact
from .source import PgSource

__all__ = ["Command", "Commands", "Mirror", "PgSource", "redact"]
