"""Races decided by the database, with every request in its own session and transaction, as in
production: 50 copies of one payment notification at once mark the order paid once and write it to the
HIS once; refund requests at once never reserve more than was paid. Runs on SQLite and PostgreSQL, in a
database of its own (real commits, nothing to clean up in the shared test database)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ihos.billing import config, sandbox, service
from ihos.db import commit
from ihos.integrations.payment import courier
from ihos.integrations.payment.wechat.sandbox import control as wechat
from ihos.jobs import Runner, load_tasks
from ihos.models.billing import Order, Payment, Refund
from ihos.models.sandbox_hospital import SandboxHisCharge
from tests.billing.conftest import LINES, ZHANG_WEI
from tests.factories import (
    bearer,
    make_account,
    make_org,
    make_staff,
    patient_caller,
    patient_token,
    staff_token,
)

# Fifty copies at once: PostgreSQL takes them together; SQLite one writer at a time, in arrival order
# (ihos.db._Writers; its own busy handler, which only polls, once let a copy of twenty wait past the
# busy timeout).
COPIES = 50


async def drain(maker: async_sessionmaker[AsyncSession]) -> None:
    load_tasks()
    runner = Runner(maker)
    while await runner.run_once():
        pass


async def paid_order(maker, real_http) -> tuple[str, str, Any]:  # type: ignore[no-untyped-def]
    """A real-name patient with an order opened for payment at WeChat; committed."""
    from ihos.patients import service as patients

    async with maker() as session:
        account = await make_account(session, phone=ZHANG_WEI["phone"])
        patient = await patients.verify_real_name(
            session,
            patient_caller(account),
            name=ZHANG_WEI["name"],
            id_number=ZHANG_WEI["id_number"],
            phone=None,
        )
        order = await service.create_order(
            session,
            patient_caller(account),
            account_id=account.id,
            patient=patient,
            business_kind="exam",
            business_reference=None,
            description="并发测试",
            lines=LINES,
        )
        token = await patient_token(session, account)
        await commit(session)
    response = await real_http.post(
        f"/api/v1/me/orders/{order.order_number}/pay", headers=bearer(token), json={"channel": "wechat"}
    )
    assert response.status_code == 200, response.text
    return order.order_number, token, account.id


class TestDuplicateNotifications:
    async def test_fifty_at_once_pay_once_and_write_to_the_his_once(self, own_database, real_http):
        maker = own_database
        number, _token, _account = await paid_order(maker, real_http)
        deliveries: list[courier.Delivery] = []

        async def capture(_session, delivery, *, delay=None, copies=1):  # type: ignore[no-untyped-def]
            deliveries.extend([delivery] * copies)

        original, courier.send_notification = courier.send_notification, capture
        try:
            with wechat.duplicating(COPIES):
                async with maker() as session:
                    await sandbox.simulate_payment(session, "wechat", number)
                    await commit(session)
        finally:
            courier.send_notification = original
        assert len(deliveries) >= COPIES

        answers = await asyncio.gather(
            *(
                real_http.post(d.url.replace("http://127.0.0.1:8000", ""), headers=d.headers, content=d.body)
                for d in deliveries
            )
        )
        assert all(answer.status_code == 200 for answer in answers), {a.status_code for a in answers}
        await drain(maker)

        async with maker() as session:
            order = await session.scalar(select(Order).where(Order.order_number == number))
            assert (order.state, order.paid_fen, order.his_state) == ("paid", 3_500, "written")
            assert await session.scalar(select(func.count()).select_from(Payment)) == 1
            charges = await session.scalar(
                select(func.count())
                .select_from(SandboxHisCharge)
                .where(SandboxHisCharge.order_number == number)
            )
            assert charges == 1


class TestConcurrentRefunds:
    async def test_requests_at_once_never_reserve_more_than_was_paid(self, own_database, real_http):
        maker = own_database
        number, _token, _account = await paid_order(maker, real_http)
        async with maker() as session:
            await sandbox.simulate_payment(session, "wechat", number)
            await commit(session)
        await drain(maker)
        async with maker() as session:
            org = await make_org(session)
            clerks = [await make_staff(session, org, roles=["finance"]) for _ in range(3)]
            tokens = []
            for clerk in clerks:
                await config.set_refund_authority(
                    session,
                    org.admin,
                    clerk.id,
                    may_request=True,
                    may_approve=False,
                    approval_limit_fen=None,
                    may_execute=False,
                )
                tokens.append(await staff_token(session, clerk))
            await commit(session)

        # 20 requests of 1 000 fen each for a 3 500 fen payment: at most three can be reserved.
        answers = await asyncio.gather(
            *(
                real_http.post(
                    f"/api/v1/finance/orders/{number}/refunds",
                    headers=bearer(tokens[i % 3]),
                    json={"amount_fen": 1_000, "reason": "部分退费"},
                )
                for i in range(20)
            )
        )
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [201] * 3 + [409] * 17, statuses
        async with maker() as session:
            reserved = await session.scalar(select(Payment.refund_reserved_fen))
            assert reserved == 3_000
            assert await session.scalar(select(func.sum(Refund.amount_fen))) == 3_000
