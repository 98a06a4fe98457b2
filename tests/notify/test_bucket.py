"""The rate limit's token bucket, on a clock the test moves."""

from __future__ import annotations

import pytest

from seamless.notify import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_full_at_first_then_one_token_per_period_over_rate():
    clock = Clock()
    b = TokenBucket(3, per_s=60.0, clock=clock)
    assert [b.take() for _ in range(4)] == [True, True, True, False]
    assert b.wait_s() == pytest.approx(20.0)
    clock.now += 19.0
    assert not b.take()
    clock.now += 1.0
    assert b.take() and not b.take()
    clock.now += 3600  # refills up to the capacity, no more
    assert [b.take() for _ in range(4)] == [True, True, True, False]


def test_a_rate_below_one_still_lets_one_through():
    clock = Clock()
    b = TokenBucket(0.5, per_s=60.0, clock=clock)  # one every two minutes
    assert b.take() and not b.take()
    assert b.wait_s() == pytest.approx(120.0)


@pytest.mark.parametrize("rate, per_s", [(0, 60), (-1, 60), (1, 0)])
def test_a_bucket_needs_a_positive_rate(rate, per_s):
    with pytest.raises(ValueError):
        TokenBucket(rate, per_s)
