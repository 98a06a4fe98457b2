"""A dashboard on another host than the runner: ``SEAMLESS_SOURCE=postgresql://...``.

No store, broker or runner here: the state is a :class:`~seamless.mirror.PgSource` following
the runner's PostgreSQL mirror, and the same views and push serve it. A control pressed here
becomes a row of the mirror's commands table, applied on the runner's host through its
``Service.command`` — as a client that came through another host (``forwarded``): moving money
needs a logged-in user, whatever machine the browser is on. Its result comes back on the row;
the state it changed, through the mirror.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ..config import Config
from ..mirror import Commands, PgSource, redact
from ..mirror.commands import DONE, REFUSED
from ..push import Hub
from .access import Access, NotAllowed
from .prefs import Prefs, prefs_path

#: Seconds a viewer waits for the runner's host to apply a command (past the commands' own
#: expiry: by then it was applied, refused, or will never be).
WAIT_S = 35.0


class Viewer:
    """What :func:`~seamless.service.embedded` gives the dashboard on a viewer: ``store`` (the
    replica), ``hub``, ``config`` and :meth:`command`, as a :class:`~seamless.service.Service`."""

    runner = None
    notifier = None

    def __init__(self, config: Config) -> None:
        self.config = config
        self.url = config.source
        self.store = PgSource(config.source).start()
        self.hub = Hub(self.store, config.max_rate)
        self.commands = Commands(config.source)
        self.prefs = Prefs(prefs_path(config.db))  # this host's viewers' preferences, beside its db setting
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="seamless-viewer-command")
        self.closed = False

    def describe(self) -> str:
        return f"a viewer of {redact(self.url)}"

    def command(self, name: str, access: Access, **kwargs: Any) -> Future[Any]:
        """Queue ``name`` for the runner's host; the future ends once it was applied there
        (``NotAllowed`` if the host refused it, ``RuntimeError`` if it failed or expired)."""
        relayed = Access(user=access.user, remote_ip=access.remote_ip, forwarded=True)
        relayed.check(name)  # at once, as the runner's host would (it checks again)
        return self._pool.submit(self._remote, name, relayed, kwargs)

    def _remote(self, name: str, access: Access, kwargs: dict[str, Any]) -> Any:
        cid = self.commands.submit(name, kwargs, user=access.user, remote_ip=access.remote_ip, forwarded=True)
        cmd = self.commands.wait(cid, WAIT_S)
        if cmd is None:
            raise RuntimeError(f"{name}: the runner's host did not take it within {WAIT_S:g} s (is it mirroring?)")
        if cmd.status == REFUSED:
            raise NotAllowed(cmd.result or f"{name}: refused by the runner's host")
        if cmd.status != DONE:
            raise RuntimeError(f"{name}: {cmd.status} on the runner's host: {cmd.result}")
        return cmd.result

    def reconcile(self, by: str = "schedule") -> None:
        """Reconciling is the runner's host's (it holds the broker)."""
        return None

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._pool.shutdown(wait=True)
        self.prefs.close()
        self.hub.close()
        self.store.close()
