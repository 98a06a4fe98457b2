"""``seamless bench push``: how its events are told apart (alone / in a burst)."""

from __future__ import annotations

from seamless.bench.push import alone_events


def test_an_event_is_alone_only_with_none_other_in_the_half_second_before_it():
    commits = {1: 10.0, 2: 11.0, 3: 11.02, 4: 11.04, 5: 11.6, 6: 13.0, 7: 13.0, 8: 14.0}
    # 2 opens a burst (nothing before it is close), 3 and 4 follow within 20 ms; 5 comes 0.56 s
    # after 4; 6 and 7 share one commit time; 8 follows them by a second.
    assert alone_events(commits) == {1, 2, 5, 8}
    assert alone_events(commits, gap_s=0.6) == {1, 2, 8}
    assert alone_events({}) == set()
