"""`seamless run --broker alpaca --feed alpaca` against `seamless fake-alpaca`, as the README
shows it: real processes, trading, then a reconciliation that finds nothing, and the API keys
in no file, output or log."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest

KEY, SECRET = "PKLOOPBACKKEY0042", "loopback-Secret-never-shown-9931"


@pytest.fixture
def loopback(seamless_cmd, tmp_path):
    """`seamless fake-alpaca --port 0` in its own process; its URL."""
    env = {**os.environ, "APCA_API_KEY_ID": KEY, "APCA_API_SECRET_KEY": SECRET}
    out = open(tmp_path / "fake.log", "w+")
    proc = subprocess.Popen(
        [*seamless_cmd, "fake-alpaca", "--port", "0", "--file", str(tmp_path / "fake-alpaca.db"),
         "--step", "0.02", "--volatility", "0.002"],
        stdout=out, stderr=subprocess.STDOUT, env=env, text=True,
    )  # fmt: skip
    try:
        url = None
        for _ in range(400):
            m = re.search(r"loopback Alpaca on (http://\S+)", (tmp_path / "fake.log").read_text())
            if m:
                url = m.group(1)
                break
            assert proc.poll() is None, (tmp_path / "fake.log").read_text()
            time.sleep(0.05)  # the process prints its URL once it listens
        assert url, "the loopback Alpaca did not start"
        yield url, env
    finally:
        proc.terminate()
        proc.wait(10)
        out.close()


def test_run_against_the_loopback_trades_reconciles_and_never_shows_the_keys(loopback, seamless_run, tmp_path):
    url, env = loopback
    db = tmp_path / "acct.db"
    run = seamless_run(
        "run", "--broker", "alpaca", "--feed", "alpaca", "--alpaca-url", url, "--db", str(db),
        "--duration", "8", "--reconcile-interval", "2", env=env,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    ticks = int(re.search(r"(\d+) ticks", run.stdout).group(1))
    assert ticks > 50 and "bad ticks rejected: none" in run.stdout
    state = json.loads(seamless_run("state", "--db", str(db), "--json").stdout)
    assert state["orders"]["fills"], "the strategies traded nothing at the loopback"
    reconcile = seamless_run("reconcile", "--broker", "alpaca", "--alpaca-url", url, "--db", str(db), env=env)
    assert reconcile.returncode == 0 and "store and broker agree" in reconcile.stdout, reconcile.stdout
    positions = seamless_run("broker", "positions", "--json", "--broker", "alpaca", "--alpaca-url", url, env=env)
    held = {s: p["qty"] for s, p in json.loads(positions.stdout).items()}
    assert held and held == {s: p["qty"] for s, p in state["positions"].items() if p["qty"]}
    # The keys: in no file written (store, journal, WAL, snapshots, the venue's own file) nor any output.
    outputs = [run.stdout, run.stderr, reconcile.stdout, reconcile.stderr, positions.stdout, positions.stderr]
    for secret in (KEY, SECRET):
        for path in tmp_path.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), f"{secret} written to {path.name}"
        assert not [o for o in outputs if secret in o]


def test_refused_keys_are_one_line_without_them(loopback, seamless_run, tmp_path):
    url, env = loopback
    bad = {**env, "APCA_API_SECRET_KEY": "Wrong-Secret-123456"}
    run = seamless_run("run", "--broker", "alpaca", "--feed", "alpaca", "--alpaca-url", url,
                       "--db", str(tmp_path / "acct.db"), "--duration", "3", env=bad)  # fmt: skip
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "Alpaca refused the API keys" in run.stderr
    assert "Wrong-Secret-123456" not in run.stderr + run.stdout and KEY not in run.stderr


def test_live_trading_needs_the_explicit_consent_and_keys(seamless_run, tmp_path):
    env = {**os.environ, "APCA_API_KEY_ID": KEY, "APCA_API_SECRET_KEY": SECRET, "SEAMLESS_ALPACA_PAPER": "0"}
    run = seamless_run("run", "--broker", "alpaca", "--db", str(tmp_path / "a.db"), env=env)
    assert run.returncode == 2 and "SEAMLESS_I_UNDERSTAND_LIVE=1" in run.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith("APCA_")}
    run = seamless_run("run", "--feed", "alpaca", "--db", str(tmp_path / "a.db"), env=env)
    assert run.returncode == 2
    assert run.stderr.strip() == (
        "seamless: error: --feed='alpaca': needs the account's API keys in the environment: "
        "APCA_API_KEY_ID and APCA_API_SECRET_KEY not set"
    )
    assert not (tmp_path / "a.db").exists()
