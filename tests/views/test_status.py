"""The header changes only when what it shows changes: to the minute while steady (each change
is a message to every session), the feed's age once it is stale."""

from seamless.events.catalog import QuoteReceived, RunnerStatusChanged
from seamless.views.status import StatusView


def _feed_badge(html: str) -> str:
    return html.split("seamless-feed-status")[1].split("seamless-clock")[0]


def test_a_steady_header_is_not_sent_again_each_second_and_a_stale_feed_shows_its_age(store):
    store.commit(RunnerStatusChanged(status="RUNNING", by="t"))
    store.commit(QuoteReceived(symbol="AAPL", last=100.0, exchange_ts=1_800_000_000.0))
    view = StatusView(store, stale_after=1e9)  # the feed judged live throughout the steady part
    t = store.state.runner.since + 600  # the runner's age in minutes: "10 min ago" for a while
    while not 1 <= t % 60 <= 50:  # the next seconds within one minute of the clock
        t += 1
    view.show_age(t)
    steady = view.html.object
    assert "live" in _feed_badge(steady) and "ago" not in _feed_badge(steady)
    assert "10 min ago" in steady
    for second in range(1, 5):
        view.show_age(t + second)
        assert view.html.object == steady, "a steady header is the same text within its minute"
    view.feed_stale_after = 5.0
    view.show_age(t + 5)
    assert "STALE" in _feed_badge(view.html.object) and "min ago" in _feed_badge(view.html.object)
