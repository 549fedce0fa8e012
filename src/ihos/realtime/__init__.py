"""Real-time events between processes and to clients: the event hub (in-process in embedded mode,
Redis pub/sub in production) and publishing after commit."""

from __future__ import annotations

import json
import logging

from sqlalchemy.ext.asyncio import AsyncSession

from ihos.config import get_settings
from ihos.db import after_commit
from ihos.realtime.hub import Event, EventHub, InProcessHub, Subscription, encode
from ihos.realtime.redis_hub import RedisHub

log = logging.getLogger(__name__)

_hub: EventHub | None = None


def get_hub() -> EventHub:
    """The process's hub: Redis when ``IHOS_REDIS_URL`` is set, in-process otherwise."""
    global _hub
    if _hub is None:
        url = get_settings().redis_url
        _hub = RedisHub(url) if url else InProcessHub()
    return _hub


async def close_hub() -> None:
    """Close the process's hub (app shutdown); the next ``get_hub()`` builds a new one."""
    global _hub
    hub, _hub = _hub, None
    if hub is not None:
        await hub.close()


def publish_after_commit(
    session: AsyncSession, topic: str, event: Event, *, hub: EventHub | None = None
) -> None:
    """Publish ``event`` once the transaction of ``session`` commits; nothing if it rolls back.

    The event is checked and copied now, so an event that is not JSON fails in the caller's
    transaction and later changes to the dict are not sent. A hub failure after the commit is logged,
    not raised: the data is committed, and clients catch up from the database when they reconnect.
    """
    snapshot: Event = json.loads(encode(event))

    async def publish() -> None:
        try:
            await (hub or get_hub()).publish(topic, snapshot)
        except Exception:
            log.exception("event hub: could not publish to %s", topic)

    after_commit(session, publish)


__all__ = [
    "Event",
    "EventHub",
    "InProcessHub",
    "RedisHub",
    "Subscription",
    "close_hub",
    "get_hub",
    "publish_after_commit",
]
