"""Paying an order through each channel: prepay, the channel's notification, the HIS write-back."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ihos.billing import sandbox
from ihos.models.billing import ChannelNotification, Order, Payment
from ihos.models.sandbox_hospital import SandboxHisCharge
from tests.billing.conftest import make_order, paid


async def reload(session, order_number: str) -> Order:
    return await session.scalar(
        select(Order).where(Order.order_number == order_number).execution_options(populate_existing=True)
    )


class TestPay:
    @pytest.mark.parametrize("channel", ["wechat", "alipay", "unionpay", "insurance"])
    async def test_it_works(self, session, client, run_jobs, payer, channel):
        order = await make_order(session, payer)
        number = order.order_number

        await paid(client, session, run_jobs, payer, number, channel)

        order = await reload(session, number)
        assert (order.state, order.channel, order.paid_fen) == ("paid", channel, 3_500)
        assert order.his_state == "written" and order.his_receipt_number
        [payment] = (await session.scalars(select(Payment).where(Payment.order_id == order.id))).all()
        assert (payment.amount_fen, payment.disposition) == (3_500, "applied")

    async def test_wechat_mini_program_parameters(self, session, client, payer):
        order = await make_order(session, payer)
        response = await client.post(
            f"/api/v1/me/orders/{order.order_number}/pay",
            headers=payer.headers,
            json={"channel": "wechat", "scene": "mini_program", "wechat_openid": "o-demo"},
        )
        params = response.json()["params"]
        assert set(params) >= {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
        assert params["package"].startswith("prepay_id=")

    async def test_insurance_split_comes_from_the_insurance(self, session, client, payer):
        order = await make_order(session, payer)
        response = await client.post(
            f"/api/v1/me/orders/{order.order_number}/pay",
            headers=payer.headers,
            json={"channel": "insurance", "scene": "h5"},
        )
        body = response.json()
        assert body["insurance_fund_fen"] + body["personal_account_fen"] + body["self_pay_fen"] == 3_500
        stored = await reload(session, order.order_number)
        assert (
            stored.is_insured and "setl_id" in stored.insurance_settlement
        ) or "payOrdId" in stored.insurance_settlement

    async def test_someone_elses_order_is_not_found(self, session, client, payer):
        from tests.billing.conftest import LIU_YANG, verified_patient

        other = await verified_patient(session, LIU_YANG)
        order = await make_order(session, payer)
        response = await client.post(
            f"/api/v1/me/orders/{order.order_number}/pay", headers=other.headers, json={"channel": "wechat"}
        )
        assert response.status_code == 404

    async def test_a_disabled_channel_is_refused(self, session, client, payer):
        from ihos.models.billing import PaymentChannelSetting

        (await session.get(PaymentChannelSetting, "unionpay")).is_enabled = False
        order = await make_order(session, payer)
        response = await client.post(
            f"/api/v1/me/orders/{order.order_number}/pay", headers=payer.headers, json={"channel": "unionpay"}
        )
        assert response.json()["error"] == "channel_not_available"


class TestNotifications:
    async def test_duplicates_change_nothing(self, session, client, run_jobs, payer):
        order = await make_order(session, payer)
        number = order.order_number
        await client.post(
            f"/api/v1/me/orders/{number}/pay", headers=payer.headers, json={"channel": "wechat"}
        )
        with sandbox_duplicating(10):
            await sandbox.simulate_payment(session, "wechat", number)
        await session.commit()
        await run_jobs()
        order = await reload(session, number)
        assert order.state == "paid"
        assert await session.scalar(select(func.count()).select_from(Payment)) == 1
        his_charges = await session.scalar(
            select(func.count()).select_from(SandboxHisCharge).where(SandboxHisCharge.order_number == number)
        )
        assert his_charges == 1

    async def test_a_forged_notification_is_kept_and_refused(self, session, client, payer):
        order = await make_order(session, payer)
        response = await client.post(
            "/api/v1/payments/notifications/wechat",
            headers={
                "Wechatpay-Signature": "Zm9yZ2Vk",
                "Wechatpay-Timestamp": "1",
                "Wechatpay-Nonce": "n",
                "Wechatpay-Serial": "x",
            },
            content=b'{"id":"forged","event_type":"TRANSACTION.SUCCESS"}',
        )
        assert response.status_code >= 400
        stored = await session.scalar(select(ChannelNotification))
        assert stored.is_verified is False and stored.rejection_reason
        assert (await reload(session, order.order_number)).state == "created"


def sandbox_duplicating(copies: int):  # type: ignore[no-untyped-def]
    from ihos.integrations.payment.wechat.sandbox import control

    return control.duplicating(copies)
