"""A view's age badge: a change when its data stops and when it comes back, none each second
between (the page counts the age)."""

from __future__ import annotations

from seamless.views.base import AgeBadge


def test_flowing_data_is_updated_just_now_without_a_change():
    badge = AgeBadge(stale_after=5.0)
    badge.show(1000.0, 1000.2)
    shown, sent = badge.pane.text, badge.pane.clock
    assert "updated just now" in shown and "data-since" not in shown
    for i in range(1, 20):  # a quote every 50 ms, the badge shown at each
        badge.show(1000.0 + i * 0.05, 1000.2 + i * 0.05)
    assert badge.pane.text == shown and badge.pane.clock == sent


def test_stopped_data_is_counted_by_the_page_from_when_it_stopped():
    badge = AgeBadge(stale_after=5.0)
    badge.show(1000.0, 1000.2)
    badge.show(1000.0, 1001.5)  # the heartbeat after the data stopped
    stopped = badge.pane.text
    assert 'data-since="1000.000"' in stopped and 'data-stale-after="5"' in stopped
    assert 'data-prefix="updated "' in stopped
    for now in (1002.5, 1006.0, 1060.0):  # past the stale threshold too: the page says so
        badge.show(1000.0, now)
        assert badge.pane.text == stopped
    badge.show(1061.0, 1061.1)  # data again
    assert "updated just now" in badge.pane.text


def test_no_data_yet_and_no_threshold():
    badge = AgeBadge(stale_after=None)
    assert "no data yet" in badge.pane.text
    badge.show(1000.0, 1010.0)
    assert "data-since" in badge.pane.text and "data-stale-after" not in badge.pane.text
