"""``seamless bench push``: how long a critical event takes from its journal commit to a toast
in every open browser tab, at 1, 10 and 25 tabs.

For each tab count: a fresh ``panel serve app.py`` (its own store in a temp dir, the simulated
feed at ~1000 ticks/s, ``SEAMLESS_PUSH_STATS`` set), N tabs in one headless Chromium (Debian's,
driven by Playwright). Each page carries a MutationObserver, installed before any script of the
page runs, that notes for every toast (``.seamless-toast``, in document.body) whose text holds
``#<seq>`` the first time that seq appears: ``Date.now()``, the system's wall clock in ms, read
at each note (``performance.timeOrigin + performance.now()`` runs on the monotonic clock from
the page's load, and drifts from the wall clock while the system's clock is slewed: 3 ms a
second on these VMs on one day, 0.2 s over a capacity run). Meanwhile the journal is followed
read-only (``open_reader``) for the critical events the dashboard toasts
(``seamless.views.alerts.ALERT_TOPICS``) committed once every tab was live. The latency of (tab,
seq) is the toast's time minus the journal row's ``ts`` (its wall-clock commit time). The run
lasts ``duration_s`` and until ``min_events`` such events were committed (at most
``max_duration_s``); then up to ``grace_s`` for the last toasts; a (tab, event) still without a
toast is counted as missed. The server's own figure, the time spent fanning one event out to the
sessions, comes from the JSON it writes at exit.

Figures per tab count N: ``push_p50_ms_<N>tabs``, ``push_p99_ms_<N>tabs``,
``push_samples_<N>tabs`` ((tab, event) pairs measured), ``push_events_<N>tabs`` (critical events
committed in the window), ``push_missed_<N>tabs`` ((tab, event) pairs never toasted),
``push_missed_arrived_<N>tabs`` (of those, how many had the message reach the page: a loss in
the page rather than the server; a second observer notes each websocket message naming a seq),
``reach_p50_ms_<N>tabs`` and ``reach_p99_ms_<N>tabs`` (commit -> that message handled by the page's
main thread: the server's part, the wire's and the wait for the page's main thread; the
rest, up to the toast, is the page's own work), ``alone_p99_ms_<N>tabs`` and
``burst_p99_ms_<N>tabs`` (the push p99 of events with no other critical event in the half
second before them, and of the rest: the strategy's sixty fills in a second) and
``burst_events_<N>tabs``,
``push_run_s_<N>tabs``, ``tabs_live_s_<N>tabs`` (from opening the N tabs at once until Panel
is live in all and the server pushes to each), ``fanout_ms_per_event_<N>tabs`` (the server's mean) and
``sessions_max_<N>tabs``, ``page_main_ms_per_update_<N>tabs`` (the pages' main thread busy
time over the run, Chrome's ``TaskDuration``, divided by the document updates they received,
``page_updates_<N>tabs``: what one update costs a page, rendering included); then
``fanout_ms_per_event``, the largest over tab counts, and
``clock_skew_ms``, the gap between a page's clock and this process's, measured on an idle page
(the same system clock: ~0; the latencies assume it).

Progress goes to stderr.  The serving and browser helpers here are shared with the browser
tests (tests/browser/conftest.py).
"""

from __future__ import annotations

import bisect
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..feeds.base import DEFAULT_SYMBOLS
from . import print_figures

if TYPE_CHECKING:
    import sqlite3

CHROMIUM = os.environ.get("SEAMLESS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"

# True once Panel is live in the page: Bokeh has a document (pulled over the websocket, so the
# connection is up), its roots have views, and every view has finished rendering.
PANEL_LIVE_JS = """() => {
  const B = window.Bokeh;
  if (!B || !B.documents || B.documents.length === 0) return false;
  if (!B.index || B.index.roots.length === 0) return false;
  return B.documents.every((d) => d.roots().length > 0 && d.is_idle);
}"""

# True once the server pushes to the page: it has answered the first numbered update (the
# first push, which fills every view; seamless.push.ack.BrowserAck). A page can be live before
# the server has run its onload, when the server is busy (25 tabs opening): events committed
# in between reach that tab only with its first push.
PUSHED_JS = """() => {
  for (const doc of Bokeh.documents) {
    for (const m of doc.all_models) {
      if (m.sent !== undefined && m.seen !== undefined) return m.seen >= 1;
    }
  }
  return false;
}"""

# Installed by page.add_init_script: runs before the page's own scripts, when there is no body
# yet, so it observes the document itself (toasts land in the light DOM, in body).
TOAST_OBSERVER_JS = r"""(() => {
  const seen = new Map();          // seq -> first time seen (epoch ms)
  window.__seamlessToasts = seen;
  window.__seamlessToastCount = 0;
  const SEQ = /#(\d+)/g;
  const RANGE = /#(\d+)\u2013#(\d+)/g;
  const isToast = (n) => n.nodeType === 1 && n.closest && n.closest('.seamless-toast');
  const note = (node, t) => {
    const el = node.nodeType === 1 ? node : node.parentElement;
    if (!el || !isToast(el)) return;
    const text = node.textContent || '';
    if (text.indexOf('#') < 0) return;
    window.__seamlessToastCount++;
    for (const m of text.matchAll(SEQ)) {
      const seq = Number(m[1]);
      if (!seen.has(seq)) seen.set(seq, t);
    }
    for (const m of text.matchAll(RANGE)) {  // a burst of fills, one toast: all of them
      for (let seq = Number(m[1]); seq <= Number(m[2]); seq++) if (!seen.has(seq)) seen.set(seq, t);
    }
  };
  new MutationObserver((records) => {
    const t = Date.now();
    for (const r of records) {
      if (r.type === 'characterData') { note(r.target, t); continue; }
      for (const n of r.addedNodes) note(n, t);
    }
  }).observe(document, {childList: true, subtree: true, characterData: true});
})();"""


# Also installed before the page's scripts: notes when a websocket message naming ``#<seq>``
# reaches the page, so a toast that never showed can be told apart: never sent (the server),
# or sent and not shown (the page).
FRAME_OBSERVER_JS = r"""(() => {
  const arrived = new Map();
  window.__seamlessFrames = arrived;
  window.__seamlessUpdates = 0;  // document patches received (one per update the server sends)
  const Native = window.WebSocket;
  const Observed = function (...args) {
    const ws = new Native(...args);
    ws.addEventListener('message', (e) => {
      const text = typeof e.data === 'string' ? e.data : '';
      if (text.indexOf('"msgtype"') >= 0 && text.indexOf('PATCH-DOC') >= 0) window.__seamlessUpdates++;
      if (typeof e.data !== 'string' || e.data.indexOf('#') < 0) return;
      const t = Date.now();
      for (const m of e.data.matchAll(/#(\d+)/g)) if (!arrived.has(Number(m[1]))) arrived.set(Number(m[1]), t);
    });
    return ws;
  };
  Observed.prototype = Native.prototype;
  Object.assign(Observed, Native);
  window.WebSocket = Observed;
})();"""


# -- serving ------------------------------------------------------------------------------------


def free_port(host: str = HOST) -> int:
    """A port nobody listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class Served:
    """A ``panel serve`` subprocess: its port, page URL, store and stderr log."""

    proc: subprocess.Popen
    port: int
    url: str
    db: Path
    work: Path
    log: Path
    _log_file: Any = field(repr=False, default=None)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout_s: float = 15.0) -> int:
        """SIGTERM, then wait; SIGKILL (the whole process group it leads) on timeout."""
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(10)
        return self.proc.returncode

    def stderr_text(self) -> str:
        if self._log_file is not None:
            self._log_file.flush()
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def close(self) -> None:
        self.stop()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


class ServerFailed(RuntimeError):
    pass


def _http_ok(url: str, timeout_s: float) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as r:  # follows / -> /app
            return r.status == 200
    except (urllib.error.URLError, ConnectionError, OSError):
        return False


def serve(
    app: str | os.PathLike = REPO / "app.py",
    work: str | os.PathLike | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike = REPO,
    timeout_s: float = 60.0,
    port: int | None = None,
    extra_args: Sequence[str] = (),
) -> Served:
    """Start ``panel serve APP`` on a free port with SEAMLESS_DB=<work>/store.db (plus ``env``),
    and return once it answers HTTP 200 on / (or raise ``ServerFailed`` with its stderr)."""
    app = Path(app)
    work = Path(work) if work is not None else Path(tempfile.mkdtemp(prefix="seamless-serve-"))
    work.mkdir(parents=True, exist_ok=True)
    panel = Path(sys.executable).parent / "panel"
    for attempt in range(3):  # a free port can be taken between the probe and the bind
        p = port or free_port()
        full_env = {**os.environ, "SEAMLESS_DB": str(work / "store.db"), **(env or {})}
        log = work / f"panel-serve-{p}.log"
        log_file = open(log, "wb")
        cmd = [
            str(panel) if panel.exists() else "panel",
            "serve",
            str(app),
            "--address",
            HOST,
            "--port",
            str(p),
            "--allow-websocket-origin",
            f"{HOST}:{p}",
            "--warm",
            "--plugins",  # /healthz, /readyz, /metrics, as `make run` serves them
            "seamless.ops.plugin",
            *extra_args,
        ]
        proc = subprocess.Popen(
            cmd,
            cwd=str(cwd),
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        served = Served(proc, p, f"http://{HOST}:{p}/{app.stem}", Path(full_env["SEAMLESS_DB"]), work, log, log_file)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not served.alive():
                break
            if _http_ok(f"http://{HOST}:{p}/", timeout_s=5.0):
                return served
            time.sleep(0.05)
        died = proc.poll()
        text = served.stderr_text()
        served.close()
        if "address already in use" in text.lower() and port is None and attempt < 2:
            continue
        why = f"exited with {died}" if died is not None else f"gave no HTTP 200 on / in {timeout_s:.0f} s"
        raise ServerFailed(f"panel serve {app} on port {p} {why}; its output:\n{text[-20_000:]}")
    raise AssertionError("unreachable")


# -- browser ------------------------------------------------------------------------------------


def launch_browser(executable: str = CHROMIUM, args: Iterable[str] = CHROMIUM_ARGS):
    """(playwright, browser): headless Debian Chromium.  Close the browser, then stop playwright."""
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        return pw, pw.chromium.launch(executable_path=executable, args=list(args), headless=True)
    except BaseException:
        pw.stop()
        raise


def _local_only(route) -> None:
    """Pages reach only this machine: a template's web fonts would otherwise hang offline."""
    url = route.request.url
    if url.startswith((f"http://{HOST}", "http://localhost", "data:", "blob:")):
        route.continue_()
    else:
        route.abort()


_SOCKETS: weakref.WeakKeyDictionary[Any, list] = weakref.WeakKeyDictionary()


def websockets(page) -> list:
    """The websockets a page opened through ``open_tab`` (Playwright ``WebSocket``s)."""
    return _SOCKETS.get(page, [])


def start_tab(browser, url: str, timeout_s: float = 30.0, init_script: str | None = None):
    """A page in a new browser context, navigating to ``url`` (not yet live: see ``wait_live``)."""
    context = browser.new_context()
    try:
        context.route("**/*", _local_only)
        if init_script:
            context.add_init_script(init_script)
        page = context.new_page()
        _SOCKETS[page] = sockets = []
        page.on("websocket", lambda ws: sockets.append(ws))
        page.goto(url, wait_until="commit", timeout=timeout_s * 1e3)
        return page
    except BaseException:
        context.close()
        raise


def wait_live(page, timeout_s: float = 30.0) -> None:
    """Return once Panel is live in ``page`` (see PANEL_LIVE_JS)."""
    page.wait_for_function(PANEL_LIVE_JS, timeout=timeout_s * 1e3, polling=100)


def open_tab(browser, url: str, timeout_s: float = 30.0, init_script: str | None = None):
    """A page in a new browser context, returned once Panel is live in it (see PANEL_LIVE_JS).
    Close it with ``page.context.close()``."""
    page = start_tab(browser, url, timeout_s, init_script)
    try:
        wait_live(page, timeout_s)
        return page
    except BaseException:
        page.context.close()
        raise


def clock_skew_ms(page) -> float:
    """The page's wall clock minus this process's, in ms, bracketed by the round trip."""
    best = (float("inf"), 0.0)
    for _ in range(5):  # keep the reading with the shortest round trip
        t0 = time.time()
        t = page.evaluate("() => Date.now()")
        t1 = time.time()
        best = min(best, (t1 - t0, t - (t0 + t1) / 2 * 1e3))
    return best[1]


# -- the benchmark ------------------------------------------------------------------------------

# The critical events the dashboard toasts (seamless/views/alerts.py), when it cannot be imported.
ALERT_TOPICS = (
    "order.filled",
    "position.closed",
    "risk.daily_loss_breached",
    "risk.trading_state",
    "reconcile.mismatch",
)


def alert_topics() -> tuple[str, ...]:
    try:
        from ..views.alerts import ALERT_TOPICS as topics

        return tuple(topics)
    except ImportError:
        return ALERT_TOPICS


class JournalFollower:
    """Follows a store's journal read-only (``open_reader``: never blocks the writer), keeping
    (seq, ts) of the rows of some topics.  Each poll reads only the rows added since the last."""

    def __init__(self, db: Path, topics: Iterable[str]) -> None:
        self.db, self.topics = db, frozenset(topics)
        self.conn: sqlite3.Connection | None = None
        self.last = 0
        self.rows: list[tuple[int, float]] = []

    def poll(self) -> list[tuple[int, float]]:
        from ..errors import SeamlessError
        from ..persist import journal, open_reader

        if self.conn is None:
            try:
                self.conn = open_reader(self.db)
            except SeamlessError:  # not created yet
                return self.rows
        for row in journal.read_rows(self.conn, after=self.last):
            self.last = row[0]
            if row[1] in self.topics:
                self.rows.append((row[0], row[4]))
        return self.rows

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


ALONE_S = 0.5  # seconds: the trades a second are alone, the strategy's sixty fills are not


def alone_events(commits: Mapping[int, float], gap_s: float = ALONE_S) -> set[int]:
    """The seqs of ``commits`` (seq -> commit time, s) with no other committed in the ``gap_s``
    before them; the others are in a burst."""
    times = sorted(commits.values())
    out = set()
    for seq, ts in commits.items():
        i, j = bisect.bisect_left(times, ts), bisect.bisect_right(times, ts)
        if j - i == 1 and (i == 0 or ts - times[i - 1] >= gap_s):  # (two at one time: a burst)
            out.add(seq)
    return out


def _pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))]


def _say(msg: str) -> None:
    print(f"[bench push] {msg}", file=sys.stderr, flush=True)


_SEEN_JS = "(seqs) => seqs.filter((s) => window.__seamlessToasts.has(s)).length"
_TIMES_JS = "(seqs) => seqs.map((s) => window.__seamlessToasts.has(s) ? window.__seamlessToasts.get(s) : null)"
_ARRIVED_JS = "(seqs) => seqs.map((s) => window.__seamlessFrames.has(s) ? window.__seamlessFrames.get(s) : null)"


class TradeDriver:
    """Out-of-band trades at the paper broker, one every ``every_s``: the runner journals each
    as a fill (critical) within its housekeeping round, so critical events come at a steady
    rate instead of the strategy's bursts (its 60 orders a minute go out in the first second)."""

    def __init__(self, broker_db: Path, symbols: tuple[str, ...] = DEFAULT_SYMBOLS, every_s: float = 1.0) -> None:
        import threading

        self.broker_db, self.symbols, self.every_s = broker_db, symbols, every_s
        self.trades = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-trades", daemon=True)

    def start(self) -> TradeDriver:
        self._thread.start()
        return self

    def _run(self) -> None:
        from ..brokers import BrokerError, PaperBroker

        broker = PaperBroker(self.broker_db)
        try:
            i = 0
            while not self._stop.wait(self.every_s):
                symbol = self.symbols[i % len(self.symbols)]
                try:
                    broker.trade(symbol, 1.0 if (i // len(self.symbols)) % 2 == 0 else -1.0)
                    self.trades += 1
                except BrokerError:  # no mark for it yet: the runner has not traded it
                    pass
                i += 1
        finally:
            broker.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


def run_tabs(
    tabs: int,
    browser,
    duration_s: float,
    min_events: int,
    max_duration_s: float,
    grace_s: float,
    work: Path,
    app: Path,
    env: Mapping[str, str],
) -> dict[str, Any]:
    """One server, ``tabs`` tabs: the latency of every (tab, critical event) committed once
    all tabs were live, until ``duration_s`` has passed and ``min_events`` were committed (or
    ``max_duration_s``); then up to ``grace_s`` for the last toasts to land.  A (tab, event)
    with no toast by then counts as missed."""
    stats_path = work / f"push-stats-{tabs}.json"
    served = serve(
        app,
        work / f"tabs{tabs}",
        timeout_s=120.0,
        # ma_cross on every tick: fills every second or so, the critical events measured (the
        # demo's one-minute bars trade a few times an hour)
        env={
            "SEAMLESS_SPEED": "1.0",
            "SEAMLESS_BAR_SECONDS": "0",
            "SEAMLESS_SIM_TICKS_PER_S": "1000",
            "SEAMLESS_PUSH_STATS": str(stats_path),
            **env,
        },
    )
    follower = JournalFollower(served.db, alert_topics())
    pages = []
    try:
        t0 = time.time()
        for _ in range(tabs):  # all load at once; each counts from its own start
            pages.append(
                start_tab(browser, served.url, timeout_s=120.0, init_script=TOAST_OBSERVER_JS + FRAME_OBSERVER_JS)
            )
        for p in pages:
            wait_live(p, timeout_s=300.0)
            p.wait_for_function(PUSHED_JS, timeout=300e3, polling=100)
        # The page's main thread: its busy time (Chrome's TaskDuration) over the updates it took.
        cdps = [p.context.new_cdp_session(p) for p in pages]
        for cdp in cdps:
            cdp.send("Performance.enable")
        main0 = [(_task_s(cdp), p.evaluate("() => window.__seamlessUpdates")) for cdp, p in zip(cdps, pages)]
        t_live = time.time()  # events committed from here on count, in every tab
        from ..brokers.paper import default_broker_db

        driver = TradeDriver(Path(default_broker_db(str(served.db)))).start()
        _say(f"{tabs} tab(s) live in {t_live - t0:.1f} s; collecting >= {min_events} critical events")
        while True:
            time.sleep(1.0)
            if not served.alive():
                raise ServerFailed(f"panel serve died during the run:\n{served.stderr_text()[-20_000:]}")
            elapsed = time.time() - t_live
            n = sum(1 for _, ts in follower.poll() if ts >= t_live)
            if (elapsed >= duration_s and n >= min_events) or elapsed >= max_duration_s:
                break
        driver.stop()
        t_cut = time.time()
        main1 = [(_task_s(cdp), p.evaluate("() => window.__seamlessUpdates")) for cdp, p in zip(cdps, pages)]
        expected = {seq: ts for seq, ts in follower.poll() if t_live <= ts <= t_cut}
        seqs = sorted(expected)
        _say(f"{len(seqs)} critical events in {t_cut - t_live:.1f} s; waiting for their toasts")
        grace_end = time.time() + grace_s
        while seqs and time.time() < grace_end:
            if all(p.evaluate(_SEEN_JS, seqs) == len(seqs) for p in pages):
                break
            time.sleep(0.5)
        times = [p.evaluate(_TIMES_JS, seqs) for p in pages]
        arrived = [p.evaluate(_ARRIVED_JS, seqs) for p in pages]
    finally:
        follower.close()
        for p in pages:
            try:
                p.context.close()
            except Exception:  # noqa: BLE001 - the browser may be gone; nothing left to free
                pass
        served.stop()
        served.close()
    stats: dict[str, Any] = {}
    if stats_path.exists():
        stats = json.loads(stats_path.read_text())
    else:
        _say(f"no push stats from the server at {stats_path}")
    samples = [(s, t - expected[s] * 1e3) for ts in times for s, t in zip(seqs, ts) if t is not None]
    lat = [ms for _, ms in samples]
    # Events alone against those in a burst (the strategy's sixty fills in a second): where
    # the tail comes from.
    alone = alone_events(expected)
    split = {k: [ms for s, ms in samples if (s in alone) == (k == "alone")] for k in ("alone", "burst")}
    # commit -> the message naming the event handled by the page (server, wire, the page's queue)
    reach = [t - expected[s] * 1e3 for ts in arrived for s, t in zip(seqs, ts) if t is not None]
    fan = (stats.get("fanout_ms_per_event") or {}).get("mean")
    busy = sum(b[0] - a[0] for a, b in zip(main0, main1))
    updates = sum(b[1] - a[1] for a, b in zip(main0, main1))
    return {
        "main_ms_per_update": round(busy * 1e3 / updates, 2) if updates else None,
        "updates": updates,
        "p50": _pct(lat, 0.5),
        "p99": _pct(lat, 0.99),
        "samples": len(lat),
        "events": len(seqs),
        "missed": len(seqs) * tabs - len(lat),
        "fanout": fan,
        # missed pairs whose message did reach the page: lost in the page, not the server
        "missed_arrived": sum(
            1 for ts, got in zip(times, arrived) for t, a in zip(ts, got) if t is None and a is not None
        ),
        "reach_p50": _pct(reach, 0.5),
        "reach_p99": _pct(reach, 0.99),
        "alone_p99": _pct(split["alone"], 0.99),
        "burst_p99": _pct(split["burst"], 0.99),
        "burst_events": len(seqs) - len(alone),
        "run_s": round(t_cut - t_live, 1),
        "sessions_max": stats.get("sessions_max"),
        "live_s": round(t_live - t0, 1),
        "server_push": stats.get("push_ms") or {},
        "flush": stats.get("flush_ms") or {},
        "publish": stats.get("publish_ms") or {},
    }


def _task_s(cdp) -> float:
    """Seconds the page's main thread has been busy (Chrome's TaskDuration metric)."""
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return next(m["value"] for m in metrics if m["name"] == "TaskDuration")


def run(
    tab_counts: Iterable[int] = (1, 10, 25),
    duration_s: float = 60.0,
    directory: str | None = None,
    min_events: int = 50,
    max_duration_s: float | None = None,
    grace_s: float = 120.0,
    app: str | os.PathLike | None = None,
    env: Mapping[str, str] | None = None,
    browser=None,
) -> dict[str, Any]:
    """The figures (see the module's doc).  ``browser``: a Playwright Chromium already running
    (one process may run one sync Playwright); by default one is launched and closed here."""
    work = Path(tempfile.mkdtemp(prefix="seamless-bench-push-", dir=directory))
    app = Path(app) if app else REPO / "app.py"
    max_duration_s = max_duration_s or max(duration_s * 4, 240.0)
    out: dict[str, Any] = {}
    fans: list[float] = []
    pw = None
    if browser is None:
        pw, browser = launch_browser()
    try:
        blank = browser.new_context()
        try:  # on an idle page: a busy dashboard's slow round trips would blur it
            skew = abs(clock_skew_ms(blank.new_page()))
        finally:
            blank.close()
        for n in tab_counts:
            r = run_tabs(n, browser, duration_s, min_events, max_duration_s, grace_s, work, app, env or {})
            r2 = lambda x: None if x is None else round(x, 3)
            out[f"push_p50_ms_{n}tabs"] = r2(r["p50"])
            out[f"push_p99_ms_{n}tabs"] = r2(r["p99"])
            out[f"push_samples_{n}tabs"] = r["samples"]
            out[f"reach_p50_ms_{n}tabs"] = r2(r["reach_p50"])
            out[f"reach_p99_ms_{n}tabs"] = r2(r["reach_p99"])
            out[f"alone_p99_ms_{n}tabs"] = r2(r["alone_p99"])
            out[f"burst_p99_ms_{n}tabs"] = r2(r["burst_p99"])
            out[f"burst_events_{n}tabs"] = r["burst_events"]
            out[f"push_events_{n}tabs"] = r["events"]
            out[f"push_missed_{n}tabs"] = r["missed"]
            out[f"push_missed_arrived_{n}tabs"] = r["missed_arrived"]
            out[f"push_run_s_{n}tabs"] = r["run_s"]
            out[f"tabs_live_s_{n}tabs"] = r["live_s"]
            out[f"fanout_ms_per_event_{n}tabs"] = r2(r["fanout"])
            out[f"sessions_max_{n}tabs"] = r["sessions_max"]
            # Server side only: commit -> alert applied in the session; one session's update.
            out[f"server_push_p50_ms_{n}tabs"] = r2(r["server_push"].get("p50_ms"))
            out[f"server_push_p99_ms_{n}tabs"] = r2(r["server_push"].get("p99_ms"))
            out[f"session_update_p99_ms_{n}tabs"] = r2(r["flush"].get("p99_ms"))
            out[f"commit_to_hub_p50_ms_{n}tabs"] = r2(r["publish"].get("p50_ms"))
            # The page's side: its main thread's busy time per update received, and the updates.
            out[f"page_main_ms_per_update_{n}tabs"] = r["main_ms_per_update"]
            out[f"page_updates_{n}tabs"] = r["updates"]
            if r["fanout"] is not None:
                fans.append(r["fanout"])
            _say(f"{n} tab(s): " + ", ".join(f"{k}={v}" for k, v in out.items() if k.endswith(f"_{n}tabs")))
        out["fanout_ms_per_event"] = round(max(fans), 4) if fans else None
        out["clock_skew_ms"] = round(skew, 3)
        return out
    finally:
        try:
            if pw is not None:
                try:
                    browser.close()
                finally:
                    pw.stop()
        finally:
            shutil.rmtree(work, ignore_errors=True)


def main(
    as_json: bool = False,
    tab_counts: Iterable[int] = (1, 10, 25),
    duration_s: float = 60.0,
    directory: str | None = None,
) -> int:
    # A SIGTERM (a CI timeout) unwinds like Ctrl-C: servers and the browser are stopped.
    previous = signal.getsignal(signal.SIGTERM)
    try:
        signal.signal(signal.SIGTERM, _raise_exit)
    except ValueError:  # not the main thread
        previous = None
    try:
        return print_figures(run(tab_counts=tuple(tab_counts), duration_s=duration_s, directory=directory), as_json)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _raise_exit(signum, frame) -> None:
    raise SystemExit(128 + signum)


def toast_times(page: Any, seqs: list[int], grace_s: float) -> list[float | None]:
    """When (the page's clock, ms) each of ``seqs`` reached the tab as a toast, None for those
    not there within ``grace_s``."""
    deadline = time.time() + grace_s
    times: list[float | None] = []
    while time.time() < deadline:
        times = page.evaluate(_TIMES_JS, seqs)
        if all(t is not None for t in times):
            break
        time.sleep(0.5)
    return times
