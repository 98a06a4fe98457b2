"""The embedded service: one store, broker, feed and runner per server process.

``panel serve app.py`` runs app.py once per browser session (and once more to warm up);
:func:`embedded` hands every one of them the same :class:`Service`. It is kept in
``pn.state.cache`` rather than in a module global because ``--autoreload`` re-imports
changed modules, which would otherwise start a second runner.
"""

from __future__ import annotations

import asyncio
import atexit
import datetime as dt
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, cast

import psycopg

from .. import ops, wiring
from ..config import Config
from ..engine.runner import Runner
from ..errors import SeamlessError
from ..events import RunnerStatus, TradingState, TradingStateChanged
from ..mirror import Command, Commands, Mirror, redact
from ..push import Hub
from ..reconcile import ReconcilePolicy, Reconciler, Report
from . import pauses
from .access import Access
from .prefs import Prefs, prefs_path
from .viewer import Viewer

log = logging.getLogger("seamless.service")

_CACHE_KEY = "seamless.service"
_ERROR_KEY = "seamless.startup_error"
_lock = threading.Lock()

# The server's loop, the runner (1,000 ticks/s) and the store's writer share one GIL. A thread
# waiting for it waits up to the switch interval each time it takes it back (Python's default
# 5 ms), and the writer takes it back after each SQLite call. With the loop serving 50
# sessions, a burst's events reached the push (commit -> hub) 189-237 ms after their commit at
# p99 at 5 ms, 52-61 ms at 1 ms, 23-27 ms at 0.5 ms (docs/benchmarks.md).
GIL_SWITCH_S = 0.0005


class Service:
    """Owns the store and the runner; the dashboard's commands go through :meth:`command`."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._replay = wiring.read_inputs(config)  # a bad file fails before the store opens
        self.store = wiring.open_store(config)
        try:
            wiring.maintain(config, self.store)  # retention and the scrubber, stopped by store.close()
            self.broker = wiring.open_broker(config)
        except BaseException:
            self.store.close()
            raise
        self.reconciler = Reconciler(self.store, self.broker, ReconcilePolicy(interval_s=config.reconcile_interval))
        self.hub = Hub(self.store, config.max_rate)
        self.metrics = ops.Metrics(self)  # /metrics (the Panel plugin seamless.ops.plugin)
        try:  # the person's notifications: fed by the bus from the first event on
            self.notifier = wiring.make_notifier(
                config, self.store, ready=lambda: ops.not_ready(ops.Source(self, self.metrics))
            )
        except BaseException:
            self.hub.close()
            self.broker.close()
            self.store.close()
            raise
        self.prefs = Prefs(prefs_path(config.db))  # each viewer's dashboard preferences, not in the journal
        self.runner: Runner | None = None
        self._thread: threading.Thread | None = None
        self._runner_lock = threading.RLock()
        self._reconciling = threading.Lock()  # one run at a time, whoever asks
        # Commands block on fsync and the broker: never on the server's event loop.
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="seamless-command")
        self.closed = False
        self.mirror, self.commands = self._mirror(config)

    def _mirror(self, config: Config) -> tuple[Mirror | None, Commands | None]:
        """With ``mirror_to``: the journal copied to PostgreSQL, and the viewers' commands taken
        from there and applied here as theirs."""
        if not config.mirror_to:
            return None, None
        mirror = Mirror(config.db, config.mirror_to).start()
        return mirror, Commands(config.mirror_to).start(self._viewer_command)

    def _viewer_command(self, cmd: Command) -> Any:
        """A command pressed on a viewer: applied as one from the viewer's own client would be
        (refused the same way; journaled with its identity)."""
        if not hasattr(self, f"_cmd_{cmd.name}"):
            raise ValueError(f"unknown command {cmd.name!r}")
        access = Access(user=cmd.user, remote_ip=cmd.remote_ip, forwarded=cmd.forwarded)
        return self.command(cmd.name, access, **cmd.args).result(timeout=60)

    # -- the runner's life -----------------------------------------------------------------

    def start_runner(self, by: str = "runner") -> None:
        with self._runner_lock:
            if self._thread is not None and self._thread.is_alive():
                return
            # The server keeps the reconciliation schedule (one per process), not the runner.
            self.runner = wiring.make_runner(
                self.config,
                self.store,
                self.broker,
                self._replay,  # a replay feed starts from its first bar each run
                scheduled_reconcile=False,
                reconciler=self.reconciler if self.config.reconcile else None,
            )
            runner = self.runner
            self._thread = threading.Thread(target=self._run, args=(runner, by), name="seamless-runner", daemon=True)
            self._thread.start()

    @staticmethod
    def _run(runner: Runner, by: str) -> None:
        try:
            runner.run(by=by)
        except Exception:  # journaled as ERROR by the runner; the server stays up to show it
            log.exception("the runner stopped on an error")

    def stop_runner(self, by: str = "runner", timeout: float = 30.0) -> None:
        with self._runner_lock:
            runner, thread = self.runner, self._thread
        if runner is not None:
            runner.stop(by=by)
        if thread is not None:
            thread.join(timeout)

    def _live_runner(self) -> Runner:
        runner = self.runner
        if runner is None or self._thread is None or not self._thread.is_alive():
            raise RuntimeError("the runner is stopped: start it first")
        return runner

    # -- commands (each journaled with who asked) ---------------------------------------------

    @staticmethod
    def identity(access: Access) -> Access:
        """A session's client as this service's commands judge it: itself (a viewer's are relayed)."""
        return access

    def command(self, name: str, access: Access, **kwargs: Any) -> Future[Any]:
        """Run command ``name`` off the event loop; the future ends when the store has it."""
        access.check(name)
        fn: Callable[..., Any] = getattr(self, f"_cmd_{name}")
        by = access.who
        return self._pool.submit(fn, by, **kwargs)

    def _cmd_start(self, by: str) -> None:
        with self._runner_lock:
            if self._thread is not None and self._thread.is_alive():
                raise RuntimeError("the runner is running already: stop it first")
            self.start_runner(by=by)

    def _cmd_pause(self, by: str) -> None:
        self._live_runner().pause(by=by)

    def _cmd_resume(self, by: str) -> None:
        self._live_runner().resume(by=by)

    def _cmd_stop(self, by: str) -> None:
        self.stop_runner(by=by)

    def _cmd_halt(self, by: str) -> None:
        runner = self.runner
        if runner is not None:
            runner.halt(by=by)
        else:  # no runner: the state still says so, through the store
            self.store.commit(TradingStateChanged(state=TradingState.HALTED, reason="halted by hand", by=by))

    def _cmd_resume_trading(self, by: str) -> None:
        self._live_runner().resume_trading(by=by)

    def _cmd_reset_breach(self, by: str) -> None:
        self._live_runner().reset_breach(by=by)

    def _cmd_close(self, by: str, symbol: str) -> None:
        self._live_runner().close_position(symbol, by=by)

    def _cmd_flatten(self, by: str) -> None:
        """Halt trading, then close every position: else the strategies reopen them at their
        next signal. Trading stays HALTED until someone resumes it."""
        runner = self._live_runner()
        if self.store.state.risk.trading_state != TradingState.HALTED:
            runner.halt(by=by, reason="flatten all")
        runner.flatten(by=by)

    def _cmd_reconcile(self, by: str) -> Report | None:
        return self.reconcile(by=by)

    def reconcile(self, by: str = "schedule") -> Report | None:
        """One reconciliation run: through the runner while it trades (no order in flight),
        else directly (no order can be in flight). None if skipped: a run is already going
        (a slow broker must not make the schedule pile runs up) or the runner is starting."""
        if not self._reconciling.acquire(blocking=False):
            return None
        try:
            return self._reconcile(by)
        finally:
            self._reconciling.release()

    def _reconcile(self, by: str) -> Report | None:
        with self._runner_lock:
            runner = self.runner if self._thread is not None and self._thread.is_alive() else None
            if runner is None:
                return self.reconciler.run(by=by)
        if runner.store.state.runner.status in (
            RunnerStatus.STARTING,
            RunnerStatus.RECOVERING,
            RunnerStatus.RECONCILING,
        ):
            return None  # the runner reconciles as it starts
        return runner.reconcile_now(by=by)

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the runner, then the store (a snapshot); write push stats if asked."""
        if self.closed:
            return
        self.closed = True
        if self.commands is not None:
            self.commands.close()
        self.stop_runner(by="server shutdown")
        self._pool.shutdown(wait=True)
        self.prefs.close()
        self.metrics.close()
        self.hub.close()
        if self.notifier is not None:  # what it still holds is sent, within its bound
            self.notifier.close()
        stats_path = os.environ.get("SEAMLESS_PUSH_STATS")
        if stats_path:
            with open(stats_path, "w") as f:
                json.dump(self.hub.stats(), f)
        self.broker.close()
        self.store.close()
        if self.mirror is not None:
            self.mirror.close()  # after the store: its last rows and snapshot go too


async def reconcile_task() -> None:
    """The server's reconciliation schedule (one per process, sessions or not)."""
    service = current()
    if service is None or service.closed or not service.config.reconcile:
        return
    try:
        await asyncio.to_thread(service.reconcile, "schedule")
    except Exception:
        log.exception("scheduled reconciliation failed")


async def heartbeat_task() -> None:
    """Once a second: ages grow without events, so every session re-checks staleness; with a
    session live, what lived a second is left out of Python's collections."""
    service = current()
    if service is not None and not service.closed:
        service.hub.tick()
        if service.hub.sessions:
            pauses.settled()


def current() -> Service | None:
    import panel as pn

    return pn.state.cache.get(_CACHE_KEY)


def startup_error() -> str | None:
    """Why this process's service could not start (a setting, the store, the feed), or None."""
    import panel as pn

    return pn.state.cache.get(_ERROR_KEY)


def embedded(argv: Sequence[str] = ()) -> Service:
    """The process's service, created (runner started, schedules set) on first use.

    A setting, store or feed that cannot be used raises SeamlessError, logged once and kept:
    every later session gets the same error (the banner) without trying again, and the
    health endpoint reports it until the server is restarted with a fix.
    """
    import panel as pn

    ops.publish(_ops_source)  # /healthz, /readyz, /metrics serve this process's service, or its error
    with _lock:
        if (error := pn.state.cache.get(_ERROR_KEY)) is not None:
            raise SeamlessError(error)
        service = pn.state.cache.get(_CACHE_KEY)
        if service is not None and not service.closed:
            return service
        try:
            config = Config.load(argv=argv)
            if config.source:  # a viewer: the runner is on another host, its state comes through PostgreSQL
                service = _viewer(config)
            else:
                service = Service(config)
                try:
                    if config.autostart:  # a feed that cannot be read fails here, not in a thread
                        service.start_runner(by="server start")
                except BaseException:
                    service.close()
                    raise
        except SeamlessError as e:
            pn.state.cache[_ERROR_KEY] = str(e)
            log.error("Seamless cannot start: %s", e)
            raise
        pn.state.cache[_CACHE_KEY] = service
    atexit.register(service.close)
    _stop_on_sigterm()
    sys.setswitchinterval(GIL_SWITCH_S)
    period = dt.timedelta(seconds=config.reconcile_interval)
    # Each run is due one period after the last one fired: a loop that was busy delays the
    # schedule instead of firing the missed runs back to back.
    # Panel runs coroutine functions too (state.execute awaits them); its annotation says
    # Callable[[], None] only.
    pn.state.schedule_task(
        "seamless-reconcile",
        reconcile_task,  # type: ignore[arg-type]
        at=lambda utc_now: utc_now + period,
    )
    pn.state.schedule_task("seamless-heartbeat", heartbeat_task, period="1s")  # type: ignore[arg-type]
    return service


def _viewer(config: Config) -> Service:
    """A viewer in the place of the service: it has every part the dashboard uses (``store``,
    ``hub``, ``config``, ``notifier``, ``command``, ``identity``)."""
    from ..errors import MirrorError

    try:
        viewer = Viewer(config)
    except psycopg.Error as e:
        raise MirrorError(f"{redact(config.source)}: cannot follow the mirror: {e}") from e
    return cast(Service, viewer)


def _ops_source() -> ops.Source:
    """What the endpoints serve: the service (closed too: its store says so), or why it could not start."""
    service = current()
    if isinstance(service, Viewer):  # its own checks: the mirror reachable, fresh; the state restored
        return service.ops_source()
    if service is not None:
        return ops.Source(service, service.metrics)
    return ops.Source(error=startup_error())


def _stop_on_sigterm() -> None:
    """SIGTERM stops the server's loop so that atexit closes the store cleanly (a snapshot,
    nothing pending) instead of the process dying mid-write."""
    if threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous not in (signal.SIG_DFL, None):
        return

    from tornado.ioloop import IOLoop

    loop = IOLoop.current()

    def on_term(signum: int, frame: Any) -> None:
        # Since Tornado 6 the current IOLoop is an AsyncIOLoop; the IOLoop class does not
        # declare the asyncio_loop its subclasses have.
        loop.asyncio_loop.call_soon_threadsafe(loop.stop)  # type: ignore[attr-defined]

    signal.signal(signal.SIGTERM, on_term)
