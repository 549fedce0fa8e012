"""Payment truth: lost notifications are found by query, unpaid orders close at their hold time, money
that arrives for a closed or already-paid order is flagged and refunded automatically."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from ihos.billing import sandbox
from ihos.integrations.payment.wechat.sandbox import control as wechat
from ihos.kit.time import clock
from ihos.models.billing import Anomaly, Order, Payment, Refund
from ihos.models.sandbox_alipay_unionpay import SandboxUnionPayOrder
from tests.billing.conftest import make_order, paid


async def reload(session, number: str) -> Order:
    return await session.scalar(
        select(Order).where(Order.order_number == number).execution_options(populate_existing=True)
    )


async def open_payment(client, payer, number: str, channel: str) -> None:
    response = await client.post(
        f"/api/v1/me/orders/{number}/pay", headers=payer.headers, json={"channel": channel}
    )
    assert response.status_code == 200, response.text


class TestLostNotification:
    async def test_the_query_sweep_finds_the_payment(self, session, client, run_jobs, payer):
        clock.freeze()
        number = (await make_order(session, payer)).order_number
        await open_payment(client, payer, number, "wechat")
        with wechat.holding_notifications():  # WeChat's notification never arrives
            await sandbox.simulate_payment(session, "wechat", number)
        await session.commit()
        await run_jobs()
        assert (await reload(session, number)).state == "paying"
        clock.travel(timedelta(minutes=3))
        await run_jobs()
        order = await reload(session, number)
        assert (order.state, order.his_state) == ("paid", "written")


class TestHoldTime:
    async def test_an_unpaid_order_closes_here_and_at_the_channel(self, session, client, run_jobs, payer):
        clock.freeze()
        number = (await make_order(session, payer)).order_number
        await open_payment(client, payer, number, "wechat")
        clock.travel(timedelta(minutes=15, seconds=1))
        await run_jobs()
        assert (await reload(session, number)).state == "closed"
        late = await client.post(
            f"/api/v1/me/orders/{number}/pay", headers=payer.headers, json={"channel": "alipay"}
        )
        assert late.json()["error"] == "order_not_payable"

    async def test_a_payment_made_just_before_closing_is_kept(self, session, client, run_jobs, payer):
        clock.freeze()
        number = (await make_order(session, payer)).order_number
        await open_payment(client, payer, number, "wechat")
        with wechat.holding_notifications():
            await sandbox.simulate_payment(session, "wechat", number)
        await session.commit()
        clock.travel(timedelta(minutes=15, seconds=1))
        await run_jobs()
        assert (await reload(session, number)).state == "paid"


class TestLatePayment:
    async def test_money_for_a_closed_order_is_refunded_and_flagged(self, session, client, run_jobs, payer):
        clock.freeze()
        number = (await make_order(session, payer)).order_number
        # UnionPay cannot close an order at its side: the cardholder can still pay after ihos gave up.
        await open_payment(client, payer, number, "unionpay")
        clock.travel(timedelta(minutes=15, seconds=1))
        await run_jobs()
        assert (await reload(session, number)).state == "closed"
        # UnionPay's clock runs behind the hospital's: to UnionPay the order is still open.
        ledger = await session.scalar(
            select(SandboxUnionPayOrder).where(SandboxUnionPayOrder.order_id == number)
        )
        ledger.pay_timeout = clock.now() + timedelta(minutes=2)

        await sandbox.simulate_payment(session, "unionpay", number)
        await session.commit()
        await run_jobs()

        order = await reload(session, number)
        assert (order.state, order.paid_fen) == ("closed", 0)  # the business never counts it as paid
        [payment] = (await session.scalars(select(Payment).where(Payment.order_id == order.id))).all()
        assert (payment.disposition, payment.amount_fen) == ("surplus", 3_500)
        refund = await session.scalar(select(Refund).where(Refund.payment_id == payment.id))
        assert (refund.is_automatic, refund.amount_fen) == (True, 3_500)
        assert refund.state in ("executing", "succeeded")
        anomaly = await session.scalar(select(Anomaly).where(Anomaly.order_id == order.id))
        assert anomaly.kind == "paid_after_close" and anomaly.state == "open"


class TestPaidTwice:
    async def test_switching_channel_when_the_first_was_paid_is_refused(
        self, session, client, run_jobs, payer
    ):
        number = (await make_order(session, payer)).order_number
        await open_payment(client, payer, number, "wechat")
        with wechat.holding_notifications():
            await sandbox.simulate_payment(session, "wechat", number)
        await session.commit()
        response = await client.post(
            f"/api/v1/me/orders/{number}/pay", headers=payer.headers, json={"channel": "alipay"}
        )
        assert response.json()["message"] == "该订单已在其他渠道支付成功"
        assert (await reload(session, number)).state == "paid"

    async def test_a_second_payment_is_refunded_and_flagged(self, session, client, run_jobs, payer):
        number = (await make_order(session, payer)).order_number
        await open_payment(client, payer, number, "unionpay")  # cannot be closed at UnionPay
        await paid(client, session, run_jobs, payer, number, "wechat")
        await sandbox.simulate_payment(session, "unionpay", number)
        await session.commit()
        await run_jobs()

        order = await reload(session, number)
        assert (order.state, order.channel, order.paid_fen) == ("paid", "wechat", 3_500)
        payments = (
            await session.scalars(
                select(Payment).where(Payment.order_id == order.id).order_by(Payment.paid_at)
            )
        ).all()
        assert [(p.channel, p.disposition) for p in payments] == [
            ("wechat", "applied"),
            ("unionpay", "surplus"),
        ]
        anomaly = await session.scalar(select(Anomaly).where(Anomaly.kind == "paid_twice"))
        assert anomaly.order_id == order.id
        refund = await session.scalar(select(Refund).where(Refund.payment_id == payments[1].id))
        assert refund.is_automatic and refund.amount_fen == 3_500
