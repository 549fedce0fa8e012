"""The event hub of production: Redis pub/sub between the ``ihos serve`` processes.

Each process holds one pub/sub connection whatever the number of its subscribers (WebSockets): a Redis
channel is subscribed while at least one local subscriber wants it, and one reader task fans incoming
messages out to the local subscriptions. redis-py reconnects and resubscribes by itself; events
published meanwhile are lost, so the subscribers of a resubscribed channel are marked lagged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis

from ihos.realtime.hub import DEFAULT_QUEUE_SIZE, Event, Fanout, Subscription, encode

log = logging.getLogger(__name__)

# How long to wait for Redis to confirm a subscription before giving up on it.
SUBSCRIBE_TIMEOUT = 10.0
# The reader wakes this often even when nothing arrives, so a dead connection is noticed.
READ_TIMEOUT = 5.0
RECONNECT_PAUSE = 1.0


class RedisHub:
    def __init__(
        self,
        url: str,
        *,
        prefix: str = "ihos:events:",
        queue_size: int = DEFAULT_QUEUE_SIZE,
        client_name: str = "ihos-events",
    ) -> None:
        # The client name tells operators (CLIENT LIST) which connections are the hub's.
        self._redis: Redis = Redis.from_url(url, socket_keepalive=True, client_name=client_name)
        self._pubsub = self._redis.pubsub()
        self._prefix = prefix
        self._queue_size = queue_size
        self._fanout = Fanout()
        # Serialises (un)subscribe commands, so Redis sees them in the order the fan-out changed.
        self._lock = asyncio.Lock()
        self._confirmations: dict[str, asyncio.Future[None]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def publish(self, topic: str, event: Event) -> None:
        await self._redis.publish(self._prefix + topic, encode(event))

    @asynccontextmanager
    async def subscribe(self, *topics: str) -> AsyncIterator[Subscription]:
        subscription = Subscription(topics, queue_size=self._queue_size)
        await self._join(subscription)
        try:
            yield subscription
        finally:
            await self._leave(subscription)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        await self._pubsub.aclose()  # type: ignore[attr-defined]  # types-redis predates aclose()
        await self._redis.aclose()  # type: ignore[attr-defined]  # types-redis predates aclose()

    async def _join(self, subscription: Subscription) -> None:
        async with self._lock:
            first = self._fanout.add(subscription)
            if not first:
                return
            channels = [self._prefix + topic for topic in first]
            loop = asyncio.get_running_loop()
            waiting = [self._confirmations.setdefault(channel, loop.create_future()) for channel in channels]
            try:
                await self._pubsub.subscribe(*channels)
                self._start_reader()
                # Only once Redis confirms is an event published elsewhere sure to reach us.
                async with asyncio.timeout(SUBSCRIBE_TIMEOUT):
                    await asyncio.gather(*waiting)
            except BaseException:
                self._fanout.remove(subscription)
                for channel in channels:
                    self._confirmations.pop(channel, None)
                raise

    async def _leave(self, subscription: Subscription) -> None:
        async with self._lock:
            last = self._fanout.remove(subscription)
            if not last:
                return
            try:
                await self._pubsub.unsubscribe(*(self._prefix + topic for topic in last))
            except Exception:
                # Harmless: messages for a channel nobody here wants are dropped by the fan-out.
                log.warning("event hub: could not unsubscribe from %s", last, exc_info=True)

    def _start_reader(self) -> None:
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read(), name="ihos-event-hub-reader")

    async def _read(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=READ_TIMEOUT)
            except Exception:
                log.warning("event hub: lost the connection to Redis; reconnecting", exc_info=True)
                self._fanout.mark_lagged()
                await asyncio.sleep(RECONNECT_PAUSE)
                continue
            if message is not None:
                self._handle(message)

    def _handle(self, message: dict[str, Any]) -> None:
        channel = _text(message.get("channel"))
        if channel is None or not channel.startswith(self._prefix):
            return
        topic = channel[len(self._prefix) :]
        if message["type"] == "message":
            self._fanout.deliver(topic, message["data"])
        elif message["type"] == "subscribe":
            waiting = self._confirmations.pop(channel, None)
            if waiting is None:
                # A subscription renewed after a reconnection: whatever was published meanwhile is lost.
                self._fanout.mark_lagged([topic])
            elif not waiting.done():
                waiting.set_result(None)


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode()
    return value if isinstance(value, str) else None
