"""The per-key token bucket that limits questions, votes and logins."""

from __future__ import annotations

import types

import pytest

from server.domain.errors import RateLimited
from server.services import ratelimit
from server.services.ratelimit import RateLimiter


class Clock:
    """Stands in for time.monotonic inside the rate limiter."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(ratelimit, "time", types.SimpleNamespace(monotonic=clock.monotonic))
    return clock


def spend(limiter: RateLimiter, key, times: int) -> None:
    for _ in range(times):
        limiter.take(key)


def test_bucket_allows_per_minute_takes_then_refuses_with_a_positive_retry_after(clock):
    limiter = RateLimiter(6, "questions")
    spend(limiter, "viewer", 6)

    with pytest.raises(RateLimited) as caught:
        limiter.take("viewer")

    assert caught.value.code == "rate_limited"
    assert caught.value.retry_after == pytest.approx(10.0)
    assert "too many questions" in caught.value.message


def test_retry_after_shrinks_as_the_bucket_refills(clock):
    limiter = RateLimiter(6, "questions")
    spend(limiter, "viewer", 6)
    clock.advance(4)
    with pytest.raises(RateLimited) as caught:
        limiter.take("viewer")
    assert caught.value.retry_after == pytest.approx(6.0)


def test_keys_have_independent_buckets(clock):
    limiter = RateLimiter(2, "votes")
    spend(limiter, "alice", 2)
    with pytest.raises(RateLimited):
        limiter.take("alice")

    spend(limiter, "bob", 2)
    spend(limiter, ("viewer", 3), 2)


def test_bucket_refills_at_the_per_minute_rate(clock):
    limiter = RateLimiter(6, "questions")
    spend(limiter, "viewer", 6)
    clock.advance(30)

    spend(limiter, "viewer", 3)
    with pytest.raises(RateLimited):
        limiter.take("viewer")


def test_idle_time_never_saves_up_more_than_one_minutes_worth(clock):
    limiter = RateLimiter(3, "logins")
    limiter.take("client")
    clock.advance(3600)

    spend(limiter, "client", 3)
    with pytest.raises(RateLimited):
        limiter.take("client")


def test_refused_attempts_do_not_push_the_next_allowed_take_further_away(clock):
    limiter = RateLimiter(6, "questions")
    spend(limiter, "viewer", 6)
    for _ in range(5):
        clock.advance(1.5)
        with pytest.raises(RateLimited):
            limiter.take("viewer")
    clock.advance(2.5)  # 10 s after the last accepted take

    limiter.take("viewer")


def test_waiting_a_little_longer_than_retry_after_is_enough(clock):
    limiter = RateLimiter(7, "questions")
    spend(limiter, "viewer", 7)
    with pytest.raises(RateLimited) as caught:
        limiter.take("viewer")
    clock.advance(caught.value.retry_after + 1e-6)

    limiter.take("viewer")


def test_waiting_exactly_retry_after_is_enough(clock):
    clock.now = 100.0
    limiter = RateLimiter(7, "questions")
    spend(limiter, "viewer", 7)
    with pytest.raises(RateLimited) as caught:
        limiter.take("viewer")
    clock.advance(caught.value.retry_after)

    limiter.take("viewer")


def test_forgetting_all_keys_when_full_only_forgives(clock, monkeypatch):
    monkeypatch.setattr(ratelimit, "MAX_TRACKED_KEYS", 2)
    limiter = RateLimiter(1, "votes")
    spend(limiter, "a", 1)
    spend(limiter, "b", 1)
    with pytest.raises(RateLimited):
        limiter.take("a")

    limiter.take("c")  # a third key: the table is full and is cleared

    limiter.take("a")
