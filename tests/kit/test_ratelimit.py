"""Rate limits: the same sliding-window behaviour in memory and in Redis, with a clock the tests move."""

from __future__ import annotations

import os
import random
import uuid
from collections import deque
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

import ihos.kit.ratelimit
from ihos.errors import RateLimited
from ihos.kit.ratelimit import (
    MemoryRateLimiter,
    RateDecision,
    RateLimiter,
    RedisRateLimiter,
    close_rate_limiter,
    enforce_rate_limit,
    get_rate_limiter,
    reset_rate_limiter,
)
from ihos.kit.time import clock

REDIS_URL = os.environ.get("IHOS_TEST_REDIS_URL", "")


@pytest.fixture(
    params=[
        "memory",
        pytest.param(
            "redis",
            marks=[
                pytest.mark.redis,
                pytest.mark.skipif(not REDIS_URL, reason="set IHOS_TEST_REDIS_URL to test the Redis limiter"),
            ],
        ),
    ]
)
async def limiter(request) -> AsyncIterator[RateLimiter]:
    if request.param == "redis":
        # A prefix of its own: other test runs may share the Redis server.
        chosen: RateLimiter = RedisRateLimiter(REDIS_URL, prefix=f"ihos-test:{uuid.uuid4().hex}:")
    else:
        chosen = MemoryRateLimiter()
    clock.freeze(datetime(2026, 11, 27, 8, 0, 0, 123456, tzinfo=UTC))
    yield chosen
    await chosen.close()


def allowed(remaining: int) -> RateDecision:
    return RateDecision(allowed=True, retry_after=0, remaining=remaining)


def refused(retry_after: int) -> RateDecision:
    return RateDecision(allowed=False, retry_after=retry_after, remaining=0)


class TestHit:
    async def test_it_works(self, limiter):
        decisions = [await limiter.hit("sms:k1", limit=3, window_seconds=60) for _ in range(4)]

        assert decisions == [allowed(2), allowed(1), allowed(0), refused(60)]

    async def test_the_window_slides(self, limiter):
        for _ in range(3):
            assert (await limiter.hit("k", limit=3, window_seconds=60)).allowed
            clock.travel(timedelta(seconds=20))
        # 60 s after the first hit it has left the window; the second is 40 s from leaving.
        assert await limiter.hit("k", limit=3, window_seconds=60) == allowed(0)
        clock.travel(timedelta(seconds=1))
        assert await limiter.hit("k", limit=3, window_seconds=60) == refused(19)

    async def test_just_before_the_window_ends(self, limiter):
        await limiter.hit("k", limit=1, window_seconds=10)
        clock.travel(timedelta(seconds=9, milliseconds=999))
        assert await limiter.hit("k", limit=1, window_seconds=10) == refused(1)
        clock.travel(timedelta(milliseconds=1))
        assert await limiter.hit("k", limit=1, window_seconds=10) == allowed(0)

    async def test_retry_after_rounds_up(self, limiter):
        await limiter.hit("k", limit=1, window_seconds=10)
        clock.travel(timedelta(milliseconds=500))

        assert await limiter.hit("k", limit=1, window_seconds=10) == refused(10)

    async def test_refused_hits_do_not_count(self, limiter):
        await limiter.hit("k", limit=2, window_seconds=60)
        await limiter.hit("k", limit=2, window_seconds=60)
        for _ in range(5):
            clock.travel(timedelta(seconds=10))
            assert not (await limiter.hit("k", limit=2, window_seconds=60)).allowed
        clock.travel(timedelta(seconds=10))

        assert await limiter.hit("k", limit=2, window_seconds=60) == allowed(1)

    async def test_keys_are_independent(self, limiter):
        assert (await limiter.hit("login:ip-1", limit=1, window_seconds=60)).allowed
        assert (await limiter.hit("login:ip-2", limit=1, window_seconds=60)).allowed
        assert not (await limiter.hit("login:ip-1", limit=1, window_seconds=60)).allowed

    @pytest.mark.parametrize(("limit", "window_seconds"), [(0, 60), (1, 0), (-1, 60)])
    async def test_limit_and_window_must_be_positive(self, limiter, limit, window_seconds):
        with pytest.raises(ValueError):
            await limiter.hit("k", limit=limit, window_seconds=window_seconds)

    async def test_never_more_than_the_limit_in_any_window(self, limiter):
        rng = random.Random(20261127)
        limit, window_ms = 4, 10_000
        granted: deque[int] = deque()
        at = 0
        for _ in range(200):
            step = rng.choice([0, 1, 50, 700, 2_000, 4_999, 10_000])
            clock.travel(timedelta(milliseconds=step))
            at += step
            while granted and granted[0] <= at - window_ms:
                granted.popleft()

            decision = await limiter.hit("k", limit=limit, window_seconds=window_ms // 1000)

            # Refused exactly when `limit` granted hits lie in the window that ends now.
            assert decision.allowed == (len(granted) < limit)
            if decision.allowed:
                granted.append(at)
                assert decision.remaining == limit - len(granted)
            else:
                assert decision.retry_after == -(-(granted[0] + window_ms - at) // 1000)


class TestMemoryLimiter:
    async def test_idle_keys_are_forgotten(self):
        limiter = MemoryRateLimiter()
        clock.freeze()
        for n in range(MemoryRateLimiter.PURGE_EVERY - 1):
            await limiter.hit(f"ip-{n}", limit=5, window_seconds=60)
        clock.travel(timedelta(seconds=60))

        await limiter.hit("ip-late", limit=5, window_seconds=60)

        assert set(limiter._hits) == {"ip-late"}


class TestEnforce:
    async def test_allowed_hits_pass(self):
        decision = await enforce_rate_limit("k", limit=2, window_seconds=60, limiter=MemoryRateLimiter())
        assert decision == allowed(1)

    async def test_refusal_is_a_429_with_retry_after(self):
        limiter = MemoryRateLimiter()
        clock.freeze()
        await enforce_rate_limit("sms:k", limit=1, window_seconds=60, limiter=limiter)
        clock.travel(timedelta(seconds=15))

        with pytest.raises(RateLimited) as refusal:
            await enforce_rate_limit("sms:k", limit=1, window_seconds=60, limiter=limiter)

        assert refusal.value.status == 429
        assert refusal.value.headers == {"Retry-After": "45"}
        assert refusal.value.body() == {"error": "rate_limited", "message": "操作太频繁，请 45 秒后再试"}


class FakeSettings:
    def __init__(self, redis_url: str | None) -> None:
        self.redis_url = redis_url


class TestGetRateLimiter:
    async def test_in_memory_without_redis(self, monkeypatch):
        monkeypatch.setattr(ihos.kit.ratelimit, "_limiter", None)
        monkeypatch.setattr(ihos.kit.ratelimit, "get_settings", lambda: FakeSettings(""))

        limiter = get_rate_limiter()

        assert isinstance(limiter, MemoryRateLimiter)
        assert get_rate_limiter() is limiter
        await close_rate_limiter()

    async def test_redis_when_configured(self, monkeypatch):
        monkeypatch.setattr(ihos.kit.ratelimit, "_limiter", None)
        monkeypatch.setattr(
            ihos.kit.ratelimit, "get_settings", lambda: FakeSettings("redis://127.0.0.1:6379/15")
        )

        assert isinstance(get_rate_limiter(), RedisRateLimiter)
        await close_rate_limiter()

    async def test_reset_forgets_every_count(self, monkeypatch):
        monkeypatch.setattr(ihos.kit.ratelimit, "_limiter", None)
        monkeypatch.setattr(ihos.kit.ratelimit, "get_settings", lambda: FakeSettings(None))
        clock.freeze()
        await enforce_rate_limit("k", limit=1, window_seconds=60)

        reset_rate_limiter()

        assert await enforce_rate_limit("k", limit=1, window_seconds=60) == allowed(0)
