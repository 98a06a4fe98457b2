"""A viewer's endpoints on a real PostgreSQL: its own readiness (the mirror reachable, the state
restored, the mirror fresh) with PostgreSQL stopped and started again by ``pg_ctl``; the figures
of the mirror, the viewers' commands and the viewer in ``/metrics`` (checked by promtool); and
``/events`` on a viewer for a script on another host, by its bearer token."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from seamless import ops
from seamless.bench.sse import SseClient
from seamless.config import Config, env_name
from seamless.events import QuoteReceived, RunnerStatusChanged
from seamless.mirror import Mirror
from seamless.service import Access, NotAllowed
from seamless.service.viewer import Viewer
from seamless.store import Store

from .conftest import poll

TOKEN = "viewer-stream-token-0123456789abcdef"


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@contextmanager
def viewer_of(url: str, tmp_path, **settings: Any) -> Iterator[tuple[Viewer, ops.HttpServer]]:
    """A viewer (as ``SEAMLESS_SOURCE=url`` makes one) and its endpoints on a free loopback port."""
    environ = {env_name(k): str(v) for k, v in {"source": url, "db": tmp_path / "viewer.db", **settings}.items()}
    viewer = Viewer(Config.load(environ=environ))
    http = ops.serve_http(viewer.ops_source)
    try:
        yield viewer, http
    finally:
        http.close()
        viewer.close()


def readyz(http: ops.HttpServer) -> tuple[int, dict]:
    import json

    status, text = http_get(http.url + "/readyz")
    return status, json.loads(text)


def until(http: ops.HttpServer, what: str, want: int, check: str | None = None, timeout_s: float = 30.0) -> dict:
    """The /readyz document once it answers ``want`` (and, for 503, ``check`` failed)."""

    def answered() -> dict | None:
        status, doc = readyz(http)
        if status != want:
            return None
        if check is not None and next(c for c in doc["checks"] if c["check"] == check)["status"] != "failed":
            return None
        return doc

    return poll(what, answered, timeout_s)


class Quotes:
    """A runner's host in miniature: a quote committed every 20 ms until stopped."""

    def __init__(self, store: Store) -> None:
        self.store, self._stop = store, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        i = 0
        while not self._stop.wait(0.02):
            i += 1
            self.store.commit(QuoteReceived(symbol="AAPL", last=100.0 + i % 7, exchange_ts=float(i)))

    def start(self) -> Quotes:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


def test_a_viewers_readiness_names_the_mirror_unreachable_stale_or_empty(own_postgres, tmp_path):
    url = own_postgres.database("acct")
    store = Store(tmp_path / "acct.db")
    store.commit(RunnerStatusChanged(status="RUNNING", by="test"))
    mirror = Mirror(store.path, url, retry_s=0.2).start()
    quotes = Quotes(store).start()
    try:
        poll("the first rows mirrored", lambda: mirror.seq > 5)
        with viewer_of(url, tmp_path, ready_mirror_stale_s=2) as (viewer, http):
            viewer.store.retry_s = 0.2
            ready = until(http, "the viewer ready", 200)
            assert {c["check"]: c["status"] for c in ready["checks"]} == dict.fromkeys(
                ["config", "source", "restored", "mirror_fresh"], "ok"
            )

            own_postgres.stop()  # pg_ctl stop: the viewer's connections are cut
            down = until(http, "the mirror unreachable", 503, "source")
            assert down["failed"][0].startswith("mirror reachable: failed, PostgreSQL cannot be reached: ")
            metrics = http_get(http.url + "/metrics")[1]
            assert "seamless_viewer_connected 0.0" in metrics and 'seamless_check_ok{check="source"} 0.0' in metrics

            own_postgres.start()  # the mirror catches up, the viewer follows again
            until(http, "the viewer ready again", 200)

            quotes.stop()  # the runner still RUNNING, as far as the mirror says, and no row comes
            stale = until(http, "the mirror stale", 503, "mirror_fresh")
            assert stale["failed"] == [
                next(line for line in stale["failed"] if line.startswith("mirror fresh: failed, no row for "))
            ]
            assert "while the runner is RUNNING: the runner's host or its mirror has stopped" in stale["failed"][0]

            store.commit(RunnerStatusChanged(status="STOPPED", by="test"))  # stopped: silence is right
            done = until(http, "ready with the runner stopped", 200)
            fresh = next(c for c in done["checks"] if c["check"] == "mirror_fresh")
            assert fresh["reason"].startswith("the runner is STOPPED: no rows expected")
    finally:
        quotes.stop()
        mirror.close()
        store.close()

    with viewer_of(own_postgres.database("empty"), tmp_path) as (_, http):
        status, doc = readyz(http)
    assert status == 503 and doc["failed"][0] == (
        "state restored: failed, the mirror holds no row yet: is the runner's host mirroring (SEAMLESS_MIRROR_TO)?"
    )


def families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def value(fams: dict, name: str, sample: str, **labels: str) -> float:
    found = [s.value for s in fams[name].samples if s.name == sample and s.labels == labels]
    assert len(found) == 1, (sample, labels, found)
    return found[0]


def test_the_mirror_the_viewers_commands_and_the_viewer_in_metrics(runner_host, tmp_path, promtool):
    service, url = runner_host
    poll("the runner running", lambda: service.store.state.runner.status == "RUNNING", 30)
    host = ops.serve_http(lambda: ops.Source(service, service.metrics))
    try:
        with viewer_of(url, tmp_path) as (viewer, http):
            local = Access(user=None, remote_ip="127.0.0.1", forwarded=False)
            assert viewer.command("pause", local).result(timeout=40) == ""  # relayed, applied
            with pytest.raises(NotAllowed, match="^resume: moves money; log in first .this viewer relays"):
                viewer.command("resume", local)  # never relayed: the runner's host would refuse it
            alice = Access(user="alice", remote_ip="203.0.113.9", forwarded=True)
            viewer.command("resume", alice).result(timeout=40)
            poll("the resume seen on the viewer", lambda: viewer.store.state.runner.status == "RUNNING")
            texts = {"host": http_get(host.url + "/metrics")[1], "viewer": http_get(http.url + "/metrics")[1]}
    finally:
        host.close()

    for name, text in texts.items():
        done = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), (name, done.stdout + done.stderr)
    h, v = families(texts["host"]), families(texts["viewer"])
    assert value(h, "seamless_mirror_rows", "seamless_mirror_rows_total") > 0
    assert (
        0
        < value(h, "seamless_mirror_batches", "seamless_mirror_batches_total")
        <= value(h, "seamless_mirror_rows", "seamless_mirror_rows_total")
    )
    assert value(h, "seamless_mirror_latency_seconds", "seamless_mirror_latency_seconds_count") > 0
    assert value(h, "seamless_mirror_connected", "seamless_mirror_connected") == 1.0
    applied = {s.labels["status"]: s.value for s in h["seamless_viewer_commands_applied"].samples}
    assert applied == {"done": 2.0, "refused": 0.0, "failed": 0.0, "expired": 0.0, "unknown": 0.0}
    outcomes = {s.labels["outcome"]: s.value for s in v["seamless_viewer_commands"].samples}
    assert outcomes == {
        "done": 2.0, "refused": 0.0, "failed": 0.0, "expired": 0.0, "unknown": 0.0, "no_answer": 0.0,
        "refused_here": 1.0,
    }  # fmt: skip
    assert value(v, "seamless_viewer_latency_seconds", "seamless_viewer_latency_seconds_count") > 0
    assert value(v, "seamless_viewer_connected", "seamless_viewer_connected") == 1.0
    assert value(v, "seamless_ready", "seamless_ready") == 1.0
    assert {s.labels["check"] for s in v["seamless_check_ok"].samples} == {
        "config", "source", "restored", "mirror_fresh"
    }  # fmt: skip
    assert "seamless_store_writable" not in v and "seamless_mirror_rows" not in v  # neither a writer nor a mirror


def test_a_script_on_another_host_reads_a_viewers_events_with_the_token(runner_host, tmp_path):
    service, url = runner_host
    poll("rows mirrored", lambda: service.mirror is not None and service.mirror.seq > 20, 30)
    with viewer_of(url, tmp_path, stream_token=TOKEN) as (viewer, http):
        remote = {"X-Forwarded-For": "198.51.100.7"}
        after = viewer.store.seq - 10
        statuses = []
        for headers in (remote, {**remote, "Authorization": "Bearer wrong-token-0123456789"}):
            client = SseClient(http.address, http.port, f"/events?after={after}", headers).start()
            statuses.append(client.status)
            client.close()
        assert statuses == [403, 401]
        client = SseClient(
            http.address, http.port, f"/events?after={after}", {**remote, "Authorization": f"Bearer {TOKEN}"}
        ).start()
        got = []
        for m in client.messages():
            got.append(int(m.id or 0))
            if len(got) == 10:
                break
        client.close()
    assert client.status == 200 and got == list(range(after + 1, after + 11))
