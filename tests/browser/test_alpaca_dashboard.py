"""The dashboard on Alpaca: the loopback Alpaca's quotes (AlpacaFeed) drive the moving-average
strategy to an order at the venue, whose fill shows in the page's fills table, and the API
keys appear nowhere in the page or the server's log."""

from __future__ import annotations

import urllib.request

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from seamless.analysis import events_frame
from seamless.bench.push import PUSHED_JS
from seamless.fakes.alpaca import FakeAlpaca

from .test_dashboard import TABLE_DATA_JS, T, journal, open_tabs, own_server, table_data  # noqa: F401 - fixtures

KEY, SECRET = "PKDASHBOARDKEY77", "dashboard-Secret-xyz-4242"


@pytest.fixture
def venue(tmp_path):
    fake = FakeAlpaca(tmp_path / "alpaca.db", key_id=KEY, secret_key=SECRET, step_s=0.02, volatility=0.003)
    yield fake.start()
    fake.stop()


def test_alpaca_quotes_drive_the_strategy_to_a_fill_shown_in_the_page(venue, own_server, open_tabs, monkeypatch):  # noqa: F811
    monkeypatch.setenv("APCA_API_KEY_ID", KEY)  # the server's environment: keys only there
    monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET)
    served = own_server(SEAMLESS_BROKER="alpaca", SEAMLESS_FEED="alpaca", SEAMLESS_ALPACA_URL=venue.url)
    [page] = open_tabs(served.url)
    fills = journal(served.db, ["order.filled"], what="a fill from the loopback Alpaca")
    # The newest fill: the table holds the newest 50 or more, and the first one is rolled out of
    # it once the strategy trades past its 60 orders in a minute (a slow page loads that late).
    trade_id = fills.iloc[-1]["trade_id"]
    at_venue = venue.call(lambda: [r[0] for r in venue.venue.conn.execute("SELECT id FROM fills")])
    assert trade_id in at_venue and "::" in trade_id  # an Alpaca FILL activity's id
    try:
        page.wait_for_function(
            f"() => ({TABLE_DATA_JS})('seamless-fills').trade_id.includes({trade_id!r})", timeout=T, polling=100
        )
    except PlaywrightTimeout:
        pytest.fail(f"the fill {trade_id} is not in the page's fills table: {why_not(page, served)}")
    html = page.content()
    for secret in (KEY, SECRET):
        assert secret not in html and secret not in served.stderr_text()


def why_not(page, served) -> str:
    """What the page and the server say, for a fill that did not show."""
    shown = table_data(page, "seamless-fills").get("trade_id", [])
    journaled = events_frame(served.db, topics=["order.filled"])["trade_id"].tolist()
    with urllib.request.urlopen(f"http://127.0.0.1:{served.port}/metrics", timeout=10) as r:
        lines = r.read().decode().splitlines()
    metrics = [m for m in lines if m.startswith(("seamless_open_sessions", "seamless_fills"))]
    return (
        f"the page shows {len(shown)} fills (last {shown[-3:]}), the journal has {len(journaled)} "
        f"(first {journaled[:3]}); the page answered a numbered update: {page.evaluate(PUSHED_JS)}; "
        f"errors in the page: {page.evaluate('() => window.__pageErrors || []')}; the server's metrics: {metrics}"
    )
