"""The counterparts the queue asks: the intranet's priority level (identity adapter) and the HIS's exam
and lab orders (HIS adapter), each a real client against its sandbox."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ihos.integrations.his import HisError, HisSettings, create_exam_order, his_orders
from ihos.integrations.his import mapping as his_mapping
from ihos.integrations.his.sandbox import control as his_control
from ihos.integrations.identity import IdentityServiceError
from ihos.integrations.identity.client import HttpPriorityService
from ihos.integrations.identity.priority import (
    PrioritySandboxSettings,
    PrioritySettings,
    get_priority_service,
)
from ihos.integrations.identity.sandbox import PrioritySandbox, priority_control, priority_sandbox_config
from ihos.kit.time import now
from tests.factories import id_number

DISABLED = "440106198811020163"  # level 2 in the sandbox intranet's registry


class TestPriorityLevel:
    async def test_it_works(self):
        service = get_priority_service()
        assert (await service.priority_level("测试", id_number(birth="19900101"))).level == 0
        assert (await service.priority_level("测试", id_number(birth="19500101"))).level == 1
        answer = await service.priority_level("李娜", DISABLED)
        assert answer.level == 2 and answer.reference.startswith("PRI")

    async def test_the_age_and_level_come_from_settings(self):
        settings = PrioritySettings(sandbox=PrioritySandboxSettings(senior_age=30, senior_level=3))
        answer = await get_priority_service(settings=settings).priority_level(
            "测试", id_number(birth="19900101")
        )
        assert answer.level == 3

    async def test_failures(self):
        service = get_priority_service()
        with priority_control.failing("unavailable"), pytest.raises(IdentityServiceError) as unavailable:
            await service.priority_level("测试", DISABLED)
        assert (unavailable.value.code, unavailable.value.retryable) == ("unavailable", True)
        with priority_control.failing("timeout"), pytest.raises(IdentityServiceError) as timeout:
            await service.priority_level("测试", DISABLED)
        assert timeout.value.code == "timeout"

    async def test_an_answer_signed_with_another_secret_is_refused(self):
        sandbox = PrioritySandbox(settings=PrioritySandboxSettings())
        config = priority_sandbox_config()
        forged = type(config)(endpoint=config.endpoint, app_id=config.app_id, secret="another-secret")
        sandbox.config = forged
        client = HttpPriorityService(config, timeout=3, transport=sandbox.transport())
        with pytest.raises(IdentityServiceError) as refused:
            await client.priority_level("测试", DISABLED)
        assert refused.value.code in ("bad_response", "invalid_response_signature")


class TestHisOrders:
    async def test_the_feed_round_trip(self, session):
        patient_number = id_number()
        created = await create_exam_order(
            session,
            patient_id_number=patient_number,
            patient_name="测试",
            kind="lab",
            station_code="LAB1",
            station_name="采血室",
            item_name="血常规",
        )
        client = his_orders(session, HisSettings())
        [order] = await client.orders_changed_since(now() - timedelta(minutes=1), limit=10)
        assert order == created
        assert await client.orders_changed_since(now() + timedelta(minutes=1), limit=10) == ()

    async def test_a_malformed_answer(self):
        with pytest.raises(his_mapping.MappingError):
            his_mapping.orders_from_answer({"orders": [{"kind": "surgery"}]})
        with pytest.raises(his_mapping.MappingError):
            his_mapping.orders_query_from_request({"changed_since": "2026-01-01T00:00:00+08:00", "limit": 0})

    async def test_the_his_unavailable(self, session):
        client = his_orders(session, HisSettings())
        with his_control.failing("unavailable"), pytest.raises(HisError) as failed:
            await client.orders_changed_since(now(), limit=10)
        assert failed.value.retryable

    async def test_a_sweep_facing_an_unavailable_his_changes_nothing(self, session):
        from ihos.queueing import orders

        with his_control.failing("unavailable"), pytest.raises(HisError):
            await orders.read_his_orders(session)

    def test_the_wire_carries_times_with_the_offset(self):
        body = his_mapping.orders_request(now(), 5)
        assert body["changed_since"].endswith("+08:00") and body["limit"] == 5
