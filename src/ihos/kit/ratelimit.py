"""Rate limits (SMS codes, sign-in attempts, bookings per patient): a sliding window per key.

A hit is allowed when fewer than ``limit`` allowed hits fell in the last ``window_seconds``; refused
hits are not counted, so a client that keeps knocking is let in as soon as the window has room again.
Both limiters read time from ``ihos.kit.time.now()`` (the Redis one passes it to its script), so tests
move the clock instead of sleeping, and every ``ihos serve`` process shares the Redis one's counts.

Keys name who is limited, e.g. ``"sms:" + phone_blind_index``: pass the blind index of a phone or
ID number, never the number itself, as keys are stored in clear in Redis.
"""

from __future__ import annotations

import math
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from redis.asyncio import Redis

from ihos.config import get_settings
from ihos.errors import RateLimited
from ihos.kit.time import now


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    # Whole seconds until a hit would be allowed again; 0 when allowed.
    retry_after: int
    # Hits still allowed in the current window after this one.
    remaining: int


class RateLimiter(Protocol):
    async def hit(self, key: str, *, limit: int, window_seconds: int) -> RateDecision:
        """Count one hit on ``key`` if the limit allows it, and say whether it does."""

    async def close(self) -> None:
        """Release connections (on shutdown)."""


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _now_ms() -> int:
    # Exact integer arithmetic: a float timestamp can land a hit on the wrong side of a window edge.
    return (now() - _EPOCH) // timedelta(milliseconds=1)


def _check(limit: int, window_seconds: int) -> None:
    if limit < 1 or window_seconds < 1:
        raise ValueError("limit and window_seconds must be positive")


def _refused(wait_ms: int) -> RateDecision:
    return RateDecision(allowed=False, retry_after=max(1, math.ceil(wait_ms / 1000)), remaining=0)


class MemoryRateLimiter:
    """Counts in this process only (embedded mode, tests). Not shared between processes."""

    # Forget keys idle longer than their window once every this many hits, so memory stays bounded.
    PURGE_EVERY = 1000

    def __init__(self) -> None:
        # key -> (window in ms, times of the allowed hits in ms, oldest first)
        self._hits: dict[str, tuple[int, deque[int]]] = {}
        self._since_purge = 0

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> RateDecision:
        _check(limit, window_seconds)
        at, window = _now_ms(), window_seconds * 1000
        self._purge_now_and_then(at)
        entry = self._hits.get(key)
        times = entry[1] if entry else deque()
        self._hits[key] = (window, times)
        while times and times[0] <= at - window:
            times.popleft()
        if len(times) >= limit:
            return _refused(times[0] + window - at)
        times.append(at)
        return RateDecision(allowed=True, retry_after=0, remaining=limit - len(times))

    def _purge_now_and_then(self, at: int) -> None:
        self._since_purge += 1
        if self._since_purge < self.PURGE_EVERY:
            return
        self._since_purge = 0
        idle = [key for key, (window, times) in self._hits.items() if not times or times[-1] <= at - window]
        for key in idle:
            del self._hits[key]

    async def close(self) -> None:
        return None


# Atomic in Redis: drop hits that left the window, then count this one if there is room.
# Returns {allowed, retry_after_ms, remaining}.
_SLIDING_WINDOW = """
local key, member = KEYS[1], ARGV[4]
local at, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', at - window)
local count = redis.call('ZCARD', key)
if count < limit then
  redis.call('ZADD', key, at, member)
  redis.call('PEXPIRE', key, window)
  return {1, 0, limit - count - 1}
end
local oldest = tonumber(redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2])
return {0, oldest + window - at, 0}
"""


class RedisRateLimiter:
    """Counts shared by every process through Redis, one sorted set of hit times per key."""

    def __init__(self, url: str, *, prefix: str = "ihos:ratelimit:") -> None:
        self._redis: Redis = Redis.from_url(url)
        self._prefix = prefix
        self._script = self._redis.register_script(_SLIDING_WINDOW)

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> RateDecision:
        _check(limit, window_seconds)
        at, window = _now_ms(), window_seconds * 1000
        # The member only has to be unique: two hits in the same millisecond are two hits.
        member = f"{at}:{uuid.uuid4().hex}"
        allowed, wait_ms, remaining = await self._script(
            keys=[self._prefix + key], args=[at, window, limit, member]
        )
        if allowed:
            return RateDecision(allowed=True, retry_after=0, remaining=int(remaining))
        return _refused(int(wait_ms))

    async def close(self) -> None:
        await self._redis.aclose()  # type: ignore[attr-defined]  # types-redis predates aclose()


_limiter: RateLimiter | None = None


def get_rate_limiter() -> RateLimiter:
    """The process's limiter: Redis when ``IHOS_REDIS_URL`` is set, in memory otherwise."""
    global _limiter
    if _limiter is None:
        url = get_settings().redis_url
        _limiter = RedisRateLimiter(url) if url else MemoryRateLimiter()
    return _limiter


async def close_rate_limiter() -> None:
    """Close the process's limiter (app shutdown)."""
    global _limiter
    limiter, _limiter = _limiter, None
    if limiter is not None:
        await limiter.close()


def reset_rate_limiter() -> None:
    """Forget every count (tests: they run with the in-memory limiter, which this replaces)."""
    global _limiter
    _limiter = None


async def enforce_rate_limit(
    key: str, *, limit: int, window_seconds: int, limiter: RateLimiter | None = None
) -> RateDecision:
    """Count a hit, or refuse with ``RateLimited`` (429, with a Retry-After header)."""
    decision = await (limiter or get_rate_limiter()).hit(key, limit=limit, window_seconds=window_seconds)
    if not decision.allowed:
        raise RateLimited(
            f"操作太频繁，请 {decision.retry_after} 秒后再试",
            headers={"Retry-After": str(decision.retry_after)},
        )
    return decision
