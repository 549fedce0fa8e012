"""The event hub: the same behaviour from the in-process hub and the Redis hub, and publishing after
commit."""

from __future__ import annotations

import asyncio
import logging
import math
import os
import uuid
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

import ihos.realtime
from ihos.db import commit, rollback
from ihos.realtime import InProcessHub, RedisHub, Subscription, close_hub, get_hub, publish_after_commit

REDIS_URL = os.environ.get("IHOS_TEST_REDIS_URL", "")
WAIT = 10


async def next_event(subscription: Subscription) -> tuple[str, dict]:
    async with asyncio.timeout(WAIT):
        return await anext(subscription)


class TestPublishSubscribe:
    async def test_it_works(self, hub):
        async with hub.subscribe("consultation.42") as subscription:
            await hub.publish("consultation.42", {"seq": 1, "text": "医生您好"})

            assert await next_event(subscription) == ("consultation.42", {"seq": 1, "text": "医生您好"})
            assert not subscription.lagged

    async def test_only_the_topics_subscribed(self, hub):
        async with hub.subscribe("queue.room-1") as subscription:
            await hub.publish("queue.room-2", {"n": 1})
            await hub.publish("queue.room-1", {"n": 2})

            assert await next_event(subscription) == ("queue.room-1", {"n": 2})

    async def test_several_topics_in_order(self, hub):
        async with hub.subscribe("a", "b") as subscription:
            await hub.publish("a", {"n": 1})
            await hub.publish("b", {"n": 2})
            await hub.publish("a", {"n": 3})

            received = [await next_event(subscription) for _ in range(3)]

        assert received == [("a", {"n": 1}), ("b", {"n": 2}), ("a", {"n": 3})]

    async def test_every_subscriber_gets_its_own_copy(self, hub):
        async with hub.subscribe("desk.7") as first, hub.subscribe("desk.7") as second:
            await hub.publish("desk.7", {"patients": ["p-1"]})

            _, mine = await next_event(first)
            mine["patients"].append("p-2")

            assert await next_event(second) == ("desk.7", {"patients": ["p-1"]})

    async def test_events_before_subscribing_are_not_delivered(self, hub):
        await hub.publish("a", {"n": 1})
        async with hub.subscribe("a") as subscription:
            await hub.publish("a", {"n": 2})

            assert await next_event(subscription) == ("a", {"n": 2})

    async def test_publishing_to_nobody_is_fine(self, hub):
        await hub.publish("nobody.listens", {"n": 1})

    async def test_leaving_stops_delivery(self, hub):
        async with hub.subscribe("a") as witness:
            async with hub.subscribe("a") as leaver:
                pass
            await hub.publish("a", {"n": 1})

            # The witness's copy came through the same delivery as the leaver's would have.
            assert await next_event(witness) == ("a", {"n": 1})
            assert leaver.pending == 0

    async def test_topic_subscribed_again_after_everyone_left(self, hub):
        async with hub.subscribe("a"):
            pass
        async with hub.subscribe("a") as subscription:
            await hub.publish("a", {"n": 1})

            assert await next_event(subscription) == ("a", {"n": 1})

    async def test_values_round_trip(self, hub):
        event = {"text": "请到3号诊室", "nested": {"list": [1, 2.5, None, True]}, "emoji": "👩‍⚕️"}
        async with hub.subscribe("a") as subscription:
            await hub.publish("a", event)

            assert await next_event(subscription) == ("a", event)

    @pytest.mark.parametrize(
        ("event", "error"),
        [
            ({"at": datetime(2026, 11, 27, tzinfo=UTC)}, TypeError),
            ({"amount": math.nan}, ValueError),
            (["not", "an", "object"], TypeError),
        ],
    )
    async def test_event_must_be_a_json_object(self, hub, event, error):
        with pytest.raises(error):
            await hub.publish("a", event)

    async def test_subscribe_needs_a_topic(self, hub):
        with pytest.raises(ValueError):
            async with hub.subscribe():
                pass
        with pytest.raises(ValueError):
            async with hub.subscribe(""):
                pass


class TestSlowSubscriber:
    async def test_oldest_events_are_dropped_and_the_subscription_marked_lagged(self, make_hub):
        hub = make_hub(queue_size=3)
        async with hub.subscribe("a") as slow, hub.subscribe("a", "done") as fast:
            for n in range(10):
                await hub.publish("a", {"n": n})
            await hub.publish("done", {})
            # Once the marker reaches the other subscriber, every event has been delivered to both.
            while (await next_event(fast))[0] != "done":
                pass

            assert (slow.pending, slow.dropped, slow.lagged) == (3, 7, True)
            assert [await next_event(slow) for _ in range(3)] == [("a", {"n": n}) for n in (7, 8, 9)]

    async def test_a_subscriber_that_keeps_up_is_not_lagged(self, make_hub):
        hub = make_hub(queue_size=2)
        async with hub.subscribe("a") as subscription:
            for n in range(5):
                await hub.publish("a", {"n": n})
                assert await next_event(subscription) == ("a", {"n": n})

            assert (subscription.dropped, subscription.lagged) == (0, False)


class TestPublishAfterCommit:
    async def test_published_once_committed(self, hub, session):
        async with hub.subscribe("consultation.42", "marker") as subscription:
            publish_after_commit(session, "consultation.42", {"seq": 1}, hub=hub)
            await hub.publish("marker", {})
            assert await next_event(subscription) == ("marker", {})

            await commit(session)

            assert await next_event(subscription) == ("consultation.42", {"seq": 1})

    async def test_rolled_back_transaction_publishes_nothing(self, hub, session):
        async with hub.subscribe("consultation.42", "marker") as subscription:
            publish_after_commit(session, "consultation.42", {"seq": 1}, hub=hub)
            await rollback(session)
            await commit(session)
            await hub.publish("marker", {})

            assert await next_event(subscription) == ("marker", {})

    async def test_the_event_is_taken_as_it_was(self, hub, session):
        event = {"seq": 1}
        async with hub.subscribe("a") as subscription:
            publish_after_commit(session, "a", event, hub=hub)
            event["seq"] = 2
            await commit(session)

            assert await next_event(subscription) == ("a", {"seq": 1})

    async def test_an_event_that_is_not_json_fails_at_once(self, session):
        with pytest.raises(TypeError):
            publish_after_commit(session, "a", {"at": datetime(2026, 11, 27, tzinfo=UTC)})
        assert "after_commit" not in session.info

    async def test_a_hub_failure_after_commit_is_logged_not_raised(self, session, caplog):
        class BrokenHub(InProcessHub):
            async def publish(self, topic, event):
                raise ConnectionError("redis is down")

        publish_after_commit(session, "a", {"seq": 1}, hub=BrokenHub())
        with caplog.at_level(logging.ERROR, logger="ihos.realtime"):
            await commit(session)

        assert "could not publish to a" in caplog.text

    async def test_uses_the_process_hub_by_default(self, session, monkeypatch):
        hub = InProcessHub()
        monkeypatch.setattr(ihos.realtime, "_hub", hub)
        async with hub.subscribe("a") as subscription:
            publish_after_commit(session, "a", {"seq": 1})
            await commit(session)

            assert await next_event(subscription) == ("a", {"seq": 1})


class FakeSettings:
    def __init__(self, redis_url: str | None) -> None:
        self.redis_url = redis_url


class TestGetHub:
    @pytest.mark.parametrize("url", ["", None])
    async def test_in_process_without_redis(self, monkeypatch, url):
        monkeypatch.setattr(ihos.realtime, "_hub", None)
        monkeypatch.setattr(ihos.realtime, "get_settings", lambda: FakeSettings(url))

        hub = get_hub()

        assert isinstance(hub, InProcessHub)
        assert get_hub() is hub
        await close_hub()
        assert ihos.realtime._hub is None

    async def test_redis_when_configured(self, monkeypatch):
        monkeypatch.setattr(ihos.realtime, "_hub", None)
        monkeypatch.setattr(ihos.realtime, "get_settings", lambda: FakeSettings("redis://127.0.0.1:6379/15"))

        assert isinstance(get_hub(), RedisHub)
        await close_hub()


@pytest.mark.redis
@pytest.mark.skipif(not REDIS_URL, reason="set IHOS_TEST_REDIS_URL to test the Redis hub")
class TestRedisHub:
    async def test_between_processes(self):
        prefix = f"ihos-test:{uuid.uuid4().hex}:"
        publisher, subscriber = RedisHub(REDIS_URL, prefix=prefix), RedisHub(REDIS_URL, prefix=prefix)
        try:
            async with subscriber.subscribe("queue.room-1") as subscription:
                await publisher.publish("queue.room-1", {"called": "A012"})

                assert await next_event(subscription) == ("queue.room-1", {"called": "A012"})
        finally:
            await publisher.close()
            await subscriber.close()

    async def test_lost_connection_marks_lagged_and_delivery_resumes(self):
        name = f"ihos-test-{uuid.uuid4().hex}"
        hub = RedisHub(REDIS_URL, prefix=f"{name}:", client_name=name)
        admin = Redis.from_url(REDIS_URL)
        try:
            async with hub.subscribe("a") as subscription:
                clients = await admin.client_list(_type="pubsub")
                [ours] = [client for client in clients if client["name"] == name]
                await admin.client_kill_filter(_id=ours["id"])

                async with asyncio.timeout(WAIT):
                    while not subscription.lagged:
                        await asyncio.sleep(0.01)
                    # Publish until the renewed subscription takes it: events in the gap are lost.
                    while not subscription.pending:
                        await hub.publish("a", {"n": 1})
                        await asyncio.sleep(0.01)

                assert await next_event(subscription) == ("a", {"n": 1})
        finally:
            await admin.aclose()
            await hub.close()
