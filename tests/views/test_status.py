"""The header changes only when what it shows changes: its ages are counted by the page (the
server sends since when), its clocks are to the minute, the feed's age shows once it is stale."""

from seamless.events.catalog import QuoteReceived, RunnerStatusChanged
from seamless.views.status import StatusView


def _feed_badge(html: str) -> str:
    return html.split("seamless-feed-status")[1].split("seamless-clock")[0]


def test_a_steady_header_is_not_sent_again_each_second_and_a_stale_feed_shows_its_age(store):
    store.commit(RunnerStatusChanged(status="RUNNING", by="t"))
    store.commit(QuoteReceived(symbol="AAPL", last=100.0, exchange_ts=1_800_000_000.0))
    view = StatusView(store, stale_after=1e9)  # the feed judged live throughout the steady part
    since = store.state.runner.since
    t = since + 5  # the runner's age changes every second here: the page counts it
    while not 1 <= t % 60 <= 50:  # the next seconds within one minute of the clock
        t += 1
    view.show_age(t)
    steady = view.html.text
    assert f'data-since="{since:.3f}"' in steady.split("seamless-runner-status")[1].split("seamless-trading")[0]
    assert "live" in _feed_badge(steady) and "data-since" not in _feed_badge(steady)
    sent = view.html.clock
    for second in range(1, 5):
        view.show_age(t + second)
        assert view.html.text == steady, "a steady header is the same text within its minute"
    assert view.html.clock == sent, "nothing set: no message to the page"
    view.feed_stale_after = 5.0
    view.show_age(t + 5)
    stale = _feed_badge(view.html.text)
    assert "STALE" in stale and f'data-since="{store.state.market.updated_at:.3f}"' in stale
    assert view.html.clock > sent
