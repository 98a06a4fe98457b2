"""A dashboard on another host than the runner (``SEAMLESS_SOURCE=postgresql://...``): two real
``panel serve app.py`` processes — the runner's host mirroring to a real PostgreSQL, and a
viewer with no store of its own — and a real Chromium tab on the viewer: its controls enabled
only for what its user may send, a logged-in user's journaled by name; its ``/readyz`` and its
``/events`` for a script on another host (the bearer token)."""

from __future__ import annotations

import itertools
import json
import sqlite3
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect

from seamless.bench.push import HOST, PANEL_LIVE_JS, TradeDriver, _local_only, open_tab, serve
from seamless.bench.sse import SseClient
from seamless.brokers.paper import default_broker_db
from seamless.mirror import PgSource

TOKEN = "viewer-token-for-scripts-0123456789"
MONEY_MOVING = (
    "seamless-cmd-resume",
    "seamless-cmd-resume_trading",
    "seamless-ask-flatten",
    "seamless-ask-reset_breach",
)
_DATABASES = itertools.count()


@pytest.fixture
def host(postgres, tmp_path):
    """The runner's host: the dashboard mirroring to a database of its own; ``(served, url)``."""
    url = postgres.database(f"viewed{next(_DATABASES)}")
    served = serve(work=tmp_path / "host", env={"SEAMLESS_MIRROR_TO": url, "SEAMLESS_RECONCILE_INTERVAL": "5"})
    yield served, url
    served.close()


@pytest.fixture
def host_and_viewer(host, tmp_path):
    served, url = host
    viewer = serve(work=tmp_path / "viewer", env={"SEAMLESS_SOURCE": url, "SEAMLESS_STREAM_TOKEN": TOKEN})
    yield served, viewer, url
    viewer.close()


def _journal_by(db, status: str) -> list[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT json_extract(payload, '$.by') FROM journal WHERE topic = 'runner.status' "
            "AND json_extract(payload, '$.status') = ?",
            (status,),
        ).fetchall()
    finally:
        conn.close()
    return [r[0] for r in rows]


def test_a_viewer_serves_the_runners_state_its_toasts_events_and_relays_its_controls(host_and_viewer, browser):
    host, viewer, url = host_and_viewer
    page = open_tab(browser, viewer.url)
    try:
        status = page.locator(".seamless-runner-status")
        expect(status).to_have_attribute("data-value", "RUNNING", timeout=30_000)
        # Fills on the runner's host (a trade at its broker, journaled by its runner) arrive
        # here as toasts, named by their seq.
        trades = TradeDriver(Path(default_broker_db(str(host.db))), every_s=0.5).start()
        try:
            expect(page.locator(".seamless-toast").filter(has_text="Fill #").first).to_be_visible(timeout=60_000)
        finally:
            trades.stop()
        assert not (viewer.work / "store.db").exists()  # no store of its own

        page.locator(".seamless-cmd-pause button").click()  # applied on the runner's host...
        expect(status).to_have_attribute("data-value", "PAUSED", timeout=30_000)  # ...seen through the mirror
        assert _journal_by(host.db, "PAUSED") == ["remote@127.0.0.1 via proxy"]
        expect(page.get_by_text("Signed in as remote@127.0.0.1 via proxy")).to_be_visible()  # as journaled

        # Moving money from a viewer needs a logged-in user, whatever machine the browser is on:
        # disabled, saying why (Resume applies now: the runner is paused).
        for css in MONEY_MOVING:
            expect(page.locator(f".{css} button")).to_be_disabled()
        expect(page.locator(".seamless-cmd-halt button")).to_be_enabled()  # reducing risk: open to all
        page.locator(".seamless-cmd-resume").hover(force=True)
        expect(page.get_by_text("this viewer relays commands to the runner's host").first).to_be_visible()
        assert len(_journal_by(host.db, "RUNNING")) == 1  # still paused: only the start ran it

        # Its own readiness: following a fresh mirror (the runner's host answers for the account).
        ready = http_get(f"http://{HOST}:{viewer.port}/readyz")
        assert ready.status == 200, ready.text
        assert [c["check"] for c in ready.json()["checks"]] == ["config", "source", "restored", "mirror_fresh"]
    finally:
        page.context.close()

    # /events on the viewer: the mirror's rows, by seq.
    source = PgSource(url)
    try:
        last = source.seq
        expected = [e.seq for e in source.events_since(max(0, last - 50))]
    finally:
        source.close()
    # A script on another host (through a proxy): refused without the token, admitted with it.
    remote = {"X-Forwarded-For": "198.51.100.7"}
    refused = SseClient(HOST, viewer.port, "/events", remote).start()
    assert refused.status == 403 and refused.body().startswith("/events: log in first, or send Authorization: Bearer")
    refused.close()
    client = SseClient(
        HOST, viewer.port, f"/events?after={max(0, last - 50)}", {**remote, "Authorization": f"Bearer {TOKEN}"}
    ).start()
    got: list[int] = []
    reader = threading.Thread(target=lambda: got.extend(int(m.id or 0) for m in _first(client, len(expected))))
    reader.start()
    reader.join(30)
    client.close()
    assert client.status == 200 and got == expected
    viewer.stop()
    assert TOKEN not in viewer.stderr_text()  # the token in no log line


def test_a_user_logged_in_on_a_viewer_moves_money_journaled_by_name(host, tmp_path, browser):
    served, url = host
    creds = tmp_path / "users.json"
    creds.write_text('{"alice": "correct horse"}')
    viewer = serve(
        work=tmp_path / "viewer",
        env={"SEAMLESS_SOURCE": url},
        extra_args=("--basic-auth", str(creds), "--cookie-secret", "test-only-cookie-secret"),
    )
    context = browser.new_context()
    try:
        context.route("**/*", _local_only)
        page = context.new_page()
        page.goto(viewer.url, timeout=60_000)
        page.locator('input[name="username"]').fill("alice")
        page.locator('input[name="password"]').fill("correct horse")
        page.locator("button.form-button").click()
        page.wait_for_function(PANEL_LIVE_JS, timeout=60_000, polling=100)
        expect(page.get_by_text("Signed in as user:alice")).to_be_visible(timeout=30_000)
        status = page.locator(".seamless-runner-status")
        expect(status).to_have_attribute("data-value", "RUNNING", timeout=30_000)
        page.locator(".seamless-cmd-pause button").click()
        expect(status).to_have_attribute("data-value", "PAUSED", timeout=30_000)
        resume = page.locator(".seamless-cmd-resume button")
        expect(resume).to_be_enabled()  # moves money, and alice is logged in
        resume.click()  # a row of the commands table, applied on the runner's host as alice
        expect(status).to_have_attribute("data-value", "RUNNING", timeout=30_000)
        assert _journal_by(served.db, "PAUSED") == ["user:alice"]
        assert _journal_by(served.db, "RUNNING")[1:] == ["user:alice"]
    finally:
        context.close()
        viewer.close()


def _first(client: SseClient, n: int):
    for i, m in enumerate(client.messages()):
        yield m
        if i + 1 == n:
            return


@dataclass
class Answer:
    status: int
    text: str

    def json(self):
        return json.loads(self.text)


def http_get(url: str) -> Answer:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return Answer(r.status, r.read().decode())
    except urllib.error.HTTPError as e:
        return Answer(e.code, e.read().decode())
