"""A dashboard on another host than the runner: ``SEAMLESS_SOURCE=postgresql://...``.

No store, broker or runner here: the state is a :class:`~seamless.mirror.PgSource` following
the runner's PostgreSQL mirror, and the same views and push serve it. A control pressed here
becomes a row of the mirror's commands table, applied on the runner's host through its
``Service.command`` — as a client that came through another host (``forwarded``): moving money
needs a logged-in user, whatever machine the browser is on. So each session's client is
:meth:`Viewer.identity`'s (``relayed``): the controls it may not use are disabled, saying why.
Its result comes back on the row; the state it changed, through the mirror.

Its endpoints: ``/readyz`` runs :data:`~seamless.ops.VIEWER_CHECKS` (the mirror reachable, the
state restored, the mirror fresh); ``/metrics`` its replica's figures and its commands' outcomes;
``/events`` its replica's rows.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from .. import ops
from ..config import Config
from ..mirror import Commands, PgSource
from ..mirror.commands import DONE, EXPIRED, FAILED, REFUSED, UNKNOWN
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
    #: What becomes of a command pressed here (``relayed``'s keys, ``/metrics``' labels):
    #: the runner's host's answer, no answer within WAIT_S, or refused here (never relayed).
    OUTCOMES = (DONE, REFUSED, FAILED, EXPIRED, UNKNOWN, "no_answer", "refused_here")

    def __init__(self, config: Config) -> None:
        self.config = config
        self.store = PgSource(config.source).start()
        self.hub = Hub(self.store, config.max_rate)
        self.outbox = Commands(config.source)
        self.relayed: Counter[str] = Counter()  # commands pressed here, by outcome (OUTCOMES)
        self.metrics = ops.Metrics(self)  # type: ignore[arg-type]  # a Subject whose store is the replica
        self.prefs = Prefs(prefs_path(config.db))  # this host's viewers' preferences, beside its db setting
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="seamless-viewer-command")
        self.closed = False

    def ops_source(self) -> ops.Source:
        """What this viewer's endpoints serve: its own readiness checks and metrics."""
        return ops.Source(self, self.metrics, checks=ops.VIEWER_CHECKS)  # type: ignore[arg-type]

    @staticmethod
    def identity(access: Access) -> Access:
        """A session's client as the runner's host sees it: relayed, as through a proxy."""
        return Access(user=access.user, remote_ip=access.remote_ip, forwarded=True, relayed=True)

    def command(self, name: str, access: Access, **kwargs: Any) -> Future[Any]:
        """Queue ``name`` for the runner's host; the future ends once it was applied there
        (``NotAllowed`` if the host refused it, ``RuntimeError`` if it failed or expired)."""
        relayed = self.identity(access)
        try:
            relayed.check(name)  # at once, as the runner's host would (it checks again)
        except NotAllowed:
            self.relayed["refused_here"] += 1
            raise
        return self._pool.submit(self._remote, name, relayed, kwargs)

    def _remote(self, name: str, access: Access, kwargs: dict[str, Any]) -> Any:
        cid = self.outbox.submit(name, kwargs, user=access.user, remote_ip=access.remote_ip, forwarded=True)
        cmd = self.outbox.wait(cid, WAIT_S)
        self.relayed["no_answer" if cmd is None else cmd.status] += 1
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
        self.metrics.close()
        self.hub.close()
        self.store.close()
