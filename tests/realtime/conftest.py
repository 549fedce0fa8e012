"""Every hub test runs against the in-process hub and, when ``IHOS_TEST_REDIS_URL`` is set, the Redis
hub. Each Redis hub gets its own channel prefix: pub/sub channels are shared by every database of a
Redis server, and other test runs may use the same server."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from ihos.realtime import EventHub, InProcessHub, RedisHub

REDIS_URL = os.environ.get("IHOS_TEST_REDIS_URL", "")

HubFactory = Callable[..., EventHub]


@pytest.fixture(
    params=[
        "in-process",
        pytest.param(
            "redis",
            marks=[
                pytest.mark.redis,
                pytest.mark.skipif(not REDIS_URL, reason="set IHOS_TEST_REDIS_URL to test the Redis hub"),
            ],
        ),
    ]
)
async def make_hub(request) -> AsyncIterator[HubFactory]:
    """Builds hubs of the parametrised kind (``make_hub(queue_size=3)``) and closes them afterwards."""
    hubs: list[EventHub] = []

    def make(**options) -> EventHub:
        if request.param == "redis":
            hub: EventHub = RedisHub(REDIS_URL, prefix=f"ihos-test:{uuid.uuid4().hex}:", **options)
        else:
            hub = InProcessHub(**options)
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        await hub.close()


@pytest.fixture
def hub(make_hub: HubFactory) -> EventHub:
    return make_hub()
