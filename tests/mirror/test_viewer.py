"""A dashboard on another host than the runner (``SEAMLESS_SOURCE=postgresql://...``): two real
``panel serve app.py`` processes — the runner's host mirroring to a real PostgreSQL, and a
viewer with no store of its own — and a real Chromium tab on the viewer."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect

from seamless.bench.push import HOST, TradeDriver, open_tab, serve
from seamless.bench.sse import SseClient
from seamless.brokers.paper import default_broker_db
from seamless.mirror import PgSource


@pytest.fixture
def host_and_viewer(postgres, tmp_path):
    url = postgres.database("viewed")
    host = serve(work=tmp_path / "host", env={"SEAMLESS_MIRROR_TO": url, "SEAMLESS_RECONCILE_INTERVAL": "5"})
    try:
        viewer = serve(work=tmp_path / "viewer", env={"SEAMLESS_SOURCE": url})
        try:
            yield host, viewer, url
        finally:
            viewer.close()
    finally:
        host.close()


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

        # Moving money from a viewer needs a logged-in user, whatever machine the browser is on.
        page.locator(".seamless-cmd-resume button").click()
        expect(page.locator(".seamless-runner-outcome")).to_contain_text("moves money; log in first")
        assert len(_journal_by(host.db, "RUNNING")) == 1  # still paused: only the start ran it
    finally:
        page.context.close()

    # /events on the viewer: the mirror's rows, by seq.
    source = PgSource(url)
    try:
        last = source.seq
        expected = [e.seq for e in source.events_since(max(0, last - 50))]
    finally:
        source.close()
    client = SseClient(HOST, viewer.port, f"/events?after={max(0, last - 50)}").start()
    got: list[int] = []
    reader = threading.Thread(target=lambda: got.extend(int(m.id or 0) for m in _first(client, len(expected))))
    reader.start()
    reader.join(30)
    client.close()
    assert client.status == 200 and got == expected


def _first(client: SseClient, n: int):
    for i, m in enumerate(client.messages()):
        yield m
        if i + 1 == n:
            return
