"""``seamless bench stream``: commit -> event received on ``/events``, with 1 and 100 clients.

A store in a temp dir, its endpoints served on a free loopback port (:func:`seamless.ops.serve_http`,
as ``seamless run --http-port`` serves them); N plain SSE clients in a separate process
(``python -m seamless.bench.sse``: asyncio sockets, as any program would read the stream), all
following from the same seq. Once all N follow, this process commits 2,001 events at 500 a
second (quotes, and one signal in ten) and each client notes, per event, its wall-clock arrival minus the event's
commit time (``ts``, stamped at commit; the same machine's clock: no skew). The clients ask
for ``topics=signal.*`` (50 events a second each, as a client of ``order.*,fill.*`` would
get a part of the journal); the last run (``_all``) asks for every topic: 500 a second each.

Figures per client count N: ``sse_p50_ms_<N>``, ``sse_p99_ms_<N>``, ``sse_max_ms_<N>``,
``sse_samples_<N>`` (client, event) pairs, ``sse_missed_<N>`` and ``sse_doubled_<N>`` (should be
0), ``commit_p99_ms_<N>`` (the committing thread's own time per commit, with N clients
following: the stream must not slow it; N=1 is the floor).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .. import ops
from ..config import Config
from ..events import QuoteReceived, SignalEmitted
from ..ops.stream import STREAMS
from ..store import Store
from . import print_figures

HOST = "127.0.0.1"


def _pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(q * len(xs)))], 3)


EVENTS, RATE, EVERY = 2_001, 500.0, 10


def run(clients: int, directory: Path, topics: str = "signal.*") -> dict[str, Any]:
    config = Config.load(environ={"SEAMLESS_DB": tempfile.mkdtemp(dir=directory) + "/stream.db"})
    store = Store(config.db)
    source = ops.Source(ops.Target(config, store))
    http = ops.serve_http(lambda: source)
    try:
        first = store.seq + 1
        want = [first + i for i in range(EVENTS) if topics == "*" or i % EVERY == 0]
        proc = subprocess.Popen(
            [sys.executable, "-m", "seamless.bench.sse", HOST, str(http.port), str(clients), topics, "120"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(want) + "\n")
        proc.stdin.close()
        deadline = time.monotonic() + 60
        while STREAMS.clients(store) < clients and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        commit_ms: list[float] = []
        t0 = time.perf_counter()
        for i in range(EVENTS):
            wait = t0 + i / RATE - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            ev = (
                SignalEmitted(strategy="bench", symbol="AAPL", direction=i % 2, exchange_ts=1e9 + i)
                if i % EVERY == 0
                else QuoteReceived(symbol="AAPL", last=100.0 + i % 13, exchange_ts=1e9 + i)
            )
            c0 = time.perf_counter()
            store.commit(ev)
            commit_ms.append((time.perf_counter() - c0) * 1e3)
        out = proc.stdout.read() if proc.stdout is not None else ""
        proc.wait(180)
        res = json.loads(out)
    finally:
        http.close()
        store.close()
    lat = res["latencies_ms"]
    return {
        f"sse_p50_ms_{clients}": _pct(lat, 0.50),
        f"sse_p99_ms_{clients}": _pct(lat, 0.99),
        f"sse_max_ms_{clients}": _pct(lat, 1.0),
        f"sse_samples_{clients}": len(lat),
        f"sse_missed_{clients}": res["missed"],
        f"sse_doubled_{clients}": res["doubled"],
        f"commit_p99_ms_{clients}": _pct(commit_ms, 0.99),
        **({f"sse_errors_{clients}": res["errors"]} if res["errors"] else {}),
    }


def main(as_json: bool = False, client_counts: tuple[int, ...] = (1, 100), directory: str | None = None) -> int:
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        res: dict[str, Any] = {"events": EVENTS, "rate_per_s": RATE, "streamed_per_s": RATE / EVERY}
        for n in client_counts:
            res |= run(n, Path(tmp))
        res |= {k + "_all": v for k, v in run(client_counts[-1], Path(tmp), topics="*").items()}
    return print_figures(res, as_json)
