"""The event hub: publish an event to a topic, subscribe to topics.

Events are JSON objects, encoded once on publish and decoded per subscriber, so every subscriber gets
its own copy and the in-process hub behaves exactly like the Redis one. Delivery is at most once and
only to subscribers present at the time: clients that reconnect resume from their last sequence number
in the database, never from the hub.

A subscriber that falls behind must not hold up publishers (one slow phone on a bad network would stall
a whole consultation room), so each subscription buffers at most ``queue_size`` events: when full, the
oldest event is dropped and the subscription is marked ``lagged``. Its consumer (the WebSocket gateway)
should then tell its client to reload from the last sequence number it has, and clear the flag.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

Event = dict[str, Any]
DEFAULT_QUEUE_SIZE = 1000


def encode(event: Event) -> str:
    """Strict JSON (no NaN), compact, Chinese kept as is. Raises TypeError/ValueError otherwise."""
    if not isinstance(event, dict):
        raise TypeError("an event is a JSON object (dict)")
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


class Subscription:
    """The events of some topics for one subscriber, oldest first: ``async for topic, event in sub``.

    ``lagged`` is set when events were dropped (a full buffer, or a lost connection to Redis); the
    consumer resynchronises its client and sets it back to False. ``dropped`` counts dropped events.
    """

    def __init__(self, topics: Iterable[str], *, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self.topics = frozenset(topics)
        if not self.topics or not all(self.topics):
            raise ValueError("subscribe to at least one non-empty topic")
        self.lagged = False
        self.dropped = 0
        self._queue: asyncio.Queue[tuple[str, str | bytes]] = asyncio.Queue(max(queue_size, 1))

    @property
    def pending(self) -> int:
        """Events waiting to be read."""
        return self._queue.qsize()

    def deliver(self, topic: str, data: str | bytes) -> None:
        """Queue an encoded event without waiting; drops the oldest one when the buffer is full."""
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
            self.lagged = True
        self._queue.put_nowait((topic, data))

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> tuple[str, Event]:
        topic, data = await self._queue.get()
        event: Event = json.loads(data)
        return topic, event


class EventHub(Protocol):
    async def publish(self, topic: str, event: Event) -> None:
        """Send ``event`` to every current subscriber of ``topic``."""

    def subscribe(self, *topics: str) -> AbstractAsyncContextManager[Subscription]:
        """Receive the events published to ``topics`` from the moment this context is entered."""

    async def close(self) -> None:
        """Release connections (on shutdown)."""


class Fanout:
    """Subscriptions by topic within one process; both hubs deliver through it."""

    def __init__(self) -> None:
        self._by_topic: dict[str, set[Subscription]] = {}

    def add(self, subscription: Subscription) -> list[str]:
        """Add ``subscription``; returns the topics that had no subscriber before."""
        first = [topic for topic in subscription.topics if topic not in self._by_topic]
        for topic in subscription.topics:
            self._by_topic.setdefault(topic, set()).add(subscription)
        return sorted(first)

    def remove(self, subscription: Subscription) -> list[str]:
        """Remove ``subscription``; returns the topics left with no subscriber."""
        last = []
        for topic in subscription.topics:
            subscribers = self._by_topic.get(topic, set())
            subscribers.discard(subscription)
            if not subscribers:
                self._by_topic.pop(topic, None)
                last.append(topic)
        return sorted(last)

    def deliver(self, topic: str, data: str | bytes) -> None:
        for subscription in tuple(self._by_topic.get(topic, ())):
            subscription.deliver(topic, data)

    def mark_lagged(self, topics: Iterable[str] | None = None) -> None:
        """Flag the subscribers of ``topics`` (default: all) as having missed events."""
        chosen = self._by_topic if topics is None else topics
        for topic in chosen:
            for subscription in self._by_topic.get(topic, ()):
                subscription.lagged = True


class InProcessHub:
    """The hub of embedded mode: subscribers in this process only."""

    def __init__(self, *, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self._queue_size = queue_size
        self._fanout = Fanout()

    async def publish(self, topic: str, event: Event) -> None:
        self._fanout.deliver(topic, encode(event))

    @asynccontextmanager
    async def subscribe(self, *topics: str) -> AsyncIterator[Subscription]:
        subscription = Subscription(topics, queue_size=self._queue_size)
        self._fanout.add(subscription)
        try:
            yield subscription
        finally:
            self._fanout.remove(subscription)

    async def close(self) -> None:
        return None
