"""The endpoints where they are served for real: the dashboard's own server (``panel serve
app.py --plugins seamless.ops.plugin``, as ``make run`` and the test harness start it), a
headless ``seamless run --http-port N``, and a real Prometheus scraping the dashboard."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import urllib.parse

import pytest
from prometheus_client.parser import text_string_to_metric_families

from seamless.bench.push import HOST, free_port, serve
from seamless.bench.sse import SseClient

from .conftest import REPO, http_get, poll

TOKEN = "served-stream-token-0123456789abcdef"
REMOTE = {"X-Forwarded-For": "203.0.113.9"}


def stream_by_token(port: int) -> list[int]:
    """``/events`` as a script on another host asks for it: refused without the token and with a
    wrong one, then admitted with it; the first three ids it reads."""
    for headers, status in ((REMOTE, 403), ({**REMOTE, "Authorization": "Bearer " + "w" * len(TOKEN)}, 401)):
        refused = SseClient(HOST, port, "/events?after=0", headers).start()
        assert refused.status == status, refused.body()
        refused.close()
    client = SseClient(HOST, port, "/events?after=0", {**REMOTE, "Authorization": f"Bearer {TOKEN}"}).start()
    ids = []
    for m in client.messages():
        ids.append(int(m.id or 0))
        if len(ids) == 3:
            break
    client.close()
    assert client.status == 200
    return ids


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    """One dashboard for the module: app.py served on a free loopback port, plugin included."""
    served = serve(
        REPO / "app.py",
        tmp_path_factory.mktemp("dashboard"),
        env={"SEAMLESS_RECONCILE_INTERVAL": "2", "SEAMLESS_STREAM_TOKEN": TOKEN},
    )
    yield served
    served.close()


def test_the_dashboard_serves_healthz_readyz_and_metrics(dashboard, promtool):
    base = f"http://{HOST}:{dashboard.port}"
    health = http_get(base + "/healthz")
    assert health.status == 200 and health.json()["alive"] is True and health.json()["pid"] == dashboard.proc.pid
    assert float(health.headers["Server-Timing"].split("dur=")[1]) < 5.0
    ready = poll("/readyz 200", lambda: (a := http_get(base + "/readyz")).status == 200 and a, 30)
    assert all(c["status"] == "ok" for c in ready.json()["checks"])
    text = http_get(base + "/metrics").text
    names = {f.name for f in text_string_to_metric_families(text)}
    assert {"seamless_fills", "seamless_open_sessions", "seamless_push_latency_seconds", "seamless_ready"} <= names
    done = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), done.stdout + done.stderr
    assert http_get(base + "/app").status == 200  # the dashboard itself is still there
    assert stream_by_token(dashboard.port) == [1, 2, 3]
    assert TOKEN not in dashboard.stderr_text() and TOKEN not in text


def test_a_real_prometheus_scrapes_the_dashboard(dashboard, prometheus, tmp_path):
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: seamless\n    scrape_interval: 1s\n"
        f"    static_configs:\n      - targets: ['{HOST}:{dashboard.port}']\n"
    )
    log = open(tmp_path / "prometheus.log", "wb")
    proc = subprocess.Popen(
        [
            prometheus,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address={HOST}:{port}",
            "--log.level=warn",
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:

        def query(q: str) -> list:
            a = http_get(f"http://{HOST}:{port}/api/v1/query?" + urllib.parse.urlencode({"query": q}), timeout_s=5)
            return a.json()["data"]["result"] if a.status == 200 else []

        def fills() -> list:
            assert proc.poll() is None, (tmp_path / "prometheus.log").read_text()
            try:
                return query("seamless_fills_total")
            except OSError:  # not listening yet
                return []

        result = poll("seamless_fills_total in Prometheus", fills, timeout_s=45, every_s=0.25)
        assert result[0]["metric"] == {
            "__name__": "seamless_fills_total",
            "job": "seamless",
            "instance": f"{HOST}:{dashboard.port}",
        }
        assert float(result[0]["value"][1]) >= 0
        assert [float(r["value"][1]) for r in query('up{job="seamless"}')] == [1.0]
        buckets = query("seamless_commit_latency_seconds_bucket")
        assert len(buckets) == 18  # the bounds and +Inf
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()


def test_a_dashboard_that_cannot_start_is_alive_and_not_ready(tmp_path):
    served = serve(REPO / "app.py", tmp_path, env={"SEAMLESS_SPEED": "fast"})
    try:
        base = f"http://{HOST}:{served.port}"
        assert http_get(base + "/healthz").status == 200  # the process is alive
        ready = http_get(base + "/readyz")
        assert ready.status == 503
        config = ready.check("config")
        assert config["status"] == "failed"
        assert config["reason"] == "SEAMLESS_SPEED='fast': must be a number >= 0"
        assert ready.json()["failed"][0] == "configuration valid: failed, SEAMLESS_SPEED='fast': must be a number >= 0"
        assert "seamless_ready 0.0" in http_get(base + "/metrics").text
    finally:
        served.close()


def test_seamless_run_serves_the_same_endpoints_on_its_http_port(tmp_path, seamless_cmd):
    port = free_port()
    env = {
        **os.environ,
        "SEAMLESS_DB": str(tmp_path / "run.db"),
        "SEAMLESS_HTTP_PORT": str(port),
        "SEAMLESS_STREAM_TOKEN": TOKEN,
    }
    proc = subprocess.Popen(
        [*seamless_cmd, "run", "--reconcile-interval", "2"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://{HOST}:{port}"

        def answer(path: str):
            assert proc.poll() is None, proc.communicate()
            try:
                return http_get(base + path, timeout_s=5)
            except OSError:  # not listening yet
                return None

        assert poll("/healthz", lambda: (a := answer("/healthz")) is not None and a.status == 200, 30)
        ready = poll("/readyz 200", lambda: (a := answer("/readyz")) is not None and a.status == 200 and a, 30)
        assert {c["check"]: c["status"] for c in ready.json()["checks"]} == dict.fromkeys(
            ["config", "store", "journal_lag", "durable_write", "snapshot", "history", "runner", "feed", "broker",
             "reconciliation", "trading", "disk"], "ok")  # fmt: skip
        names = {f.name for f in text_string_to_metric_families(answer("/metrics").text)}
        assert {"seamless_fills", "seamless_events", "seamless_commit_latency_seconds"} <= names
        assert "seamless_open_sessions" not in names  # no browser sessions headless
        assert stream_by_token(port) == [1, 2, 3]
        with pytest.raises(OSError):  # loopback only, by default
            socket.create_connection((_outside_address(), port), timeout=1).close()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.startswith("stopped at seq ") and TOKEN not in out + err
    with pytest.raises(OSError):  # the port is released
        socket.create_connection((HOST, port), timeout=1).close()


def test_seamless_run_refuses_a_port_in_use_before_opening_anything(tmp_path, seamless_run):
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = seamless_run("run", "--db", str(tmp_path / "x.db"), "--http-port", str(port), "--duration", "1")
    assert done.returncode == 2
    assert done.stderr.startswith(f"seamless: error: --http-port='{port}': cannot listen on 127.0.0.1:{port}: ")
    assert not (tmp_path / "x.db").exists()


def _outside_address() -> str:
    """An address of this machine that is not loopback (to show the port is not bound there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET: nothing is sent, the route picks our address
            address = s.getsockname()[0]
        except OSError:
            address = ""
    if not address or address.startswith("127."):
        pytest.skip("this machine has no address outside loopback")
    return address
