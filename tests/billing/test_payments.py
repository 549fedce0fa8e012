"""Paying an order through each channel: prepay, the channel's notification, the HIS write-back."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from ihos.auth import system_clients
from ihos.billing import sandbox
from ihos.integrations.payment.insurance.sandbox import issue_authorisation
from ihos.models.accounts import ExternalLogin
from ihos.models.audit import AuditEntry
from ihos.models.billing import ChannelNotification, Order, Payment, PaymentAttempt
from ihos.models.sandbox_alipay_unionpay import SandboxAlipayTrade
from ihos.models.sandbox_hospital import SandboxHisCharge, SandboxInsuranceOrder
from ihos.models.sandbox_wechat_pay import SandboxWeChatPayTransaction
from tests.auth.test_system_clients import signed_headers
from tests.billing.conftest import LIU_YANG, ZHANG_WEI, PayingPatient, make_order, paid, verified_patient
from tests.factories import make_org

OPENID = "oIhosTestOpenid000000000000001"
ALIPAY_USER_ID = "2088000000000001"


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
        await signed_in_with(session, payer, "wechat", OPENID)
        order = await make_order(session, payer)
        response = await client.post(
            f"/api/v1/me/orders/{order.order_number}/pay",
            headers=payer.headers,
            json={"channel": "wechat", "scene": "mini_program"},
        )
        body = response.json()
        assert set(body["params"]) >= {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
        assert body["params"]["package"].startswith("prepay_id=")
        assert (body["url"], body["method"], body["fields"]) == (None, None, {})

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


async def signed_in_with(session, payer: PayingPatient, provider: str, subject: str) -> None:
    """The account signed in through the WeChat or Alipay mini-program once (its openid / user id kept)."""
    session.add(ExternalLogin(account_id=payer.account_id, provider=provider, subject=subject))
    await session.flush()


async def attempts(session, order_number: str) -> int:
    order = await reload(session, order_number)
    return await session.scalar(
        select(func.count()).select_from(PaymentAttempt).where(PaymentAttempt.order_id == order.id)
    )


class TestPayer:
    """A mini-program payment names the payer the channel knows (openid, Alipay user id): the server takes
    it from the account's own sign-in, never from the app."""

    async def test_it_works(self, session, client, payer):
        await signed_in_with(session, payer, "wechat", OPENID)
        number = (await make_order(session, payer)).order_number

        response = await client.post(
            f"/api/v1/me/orders/{number}/pay",
            headers=payer.headers,
            json={"channel": "wechat", "scene": "mini_program"},
        )

        assert response.status_code == 200, response.text
        transaction = await session.scalar(
            select(SandboxWeChatPayTransaction).where(SandboxWeChatPayTransaction.out_trade_no == number)
        )
        assert transaction.payer_openid == OPENID

    async def test_the_alipay_mini_program_pays_as_the_alipay_user(self, session, client, payer):
        await signed_in_with(session, payer, "alipay", ALIPAY_USER_ID)
        number = (await make_order(session, payer)).order_number

        response = await client.post(
            f"/api/v1/me/orders/{number}/pay",
            headers=payer.headers,
            json={"channel": "alipay", "scene": "mini_program"},
        )

        assert response.status_code == 200, response.text
        assert response.json()["params"]["tradeNO"]
        trade = await session.scalar(
            select(SandboxAlipayTrade).where(SandboxAlipayTrade.out_trade_no == number)
        )
        assert trade.buyer_id == ALIPAY_USER_ID

    async def test_its_own_id_sent_again_is_accepted(self, session, client, payer):
        await signed_in_with(session, payer, "wechat", OPENID)
        number = (await make_order(session, payer)).order_number
        response = await client.post(
            f"/api/v1/me/orders/{number}/pay",
            headers=payer.headers,
            json={"channel": "wechat", "scene": "mini_program", "wechat_openid": OPENID},
        )
        assert response.status_code == 200, response.text

    @pytest.mark.parametrize(
        ("field", "channel"), [("wechat_openid", "wechat"), ("alipay_user_id", "alipay")]
    )
    async def test_someone_elses_id_is_refused(self, session, client, payer, field, channel):
        await signed_in_with(session, payer, "wechat", OPENID)
        await signed_in_with(session, payer, "alipay", ALIPAY_USER_ID)
        number = (await make_order(session, payer)).order_number

        response = await client.post(
            f"/api/v1/me/orders/{number}/pay",
            headers=payer.headers,
            json={"channel": channel, "scene": "mini_program", field: "o-someone-else"},
        )

        assert (response.status_code, response.json()["error"]) == (403, "payer_mismatch")
        assert (await reload(session, number)).state == "created"
        assert await attempts(session, number) == 0

    async def test_an_id_is_refused_from_an_account_without_one(self, session, client, payer):
        number = (await make_order(session, payer)).order_number
        response = await client.post(
            f"/api/v1/me/orders/{number}/pay",
            headers=payer.headers,
            json={"channel": "wechat", "scene": "h5", "wechat_openid": OPENID},
        )
        assert (response.status_code, response.json()["error"]) == (403, "payer_mismatch")

    @pytest.mark.parametrize(
        ("channel", "message"),
        [("wechat", "请在微信小程序中登录后再支付"), ("alipay", "请在支付宝小程序中登录后再支付")],
    )
    async def test_without_a_mini_program_sign_in_it_says_so(self, session, client, payer, channel, message):
        # Signed in with phone and password: no openid, no Alipay user id. The other provider's id is no help.
        await signed_in_with(
            session, payer, "alipay" if channel == "wechat" else "wechat", "other-provider-id"
        )
        number = (await make_order(session, payer)).order_number

        response = await client.post(
            f"/api/v1/me/orders/{number}/pay",
            headers=payer.headers,
            json={"channel": channel, "scene": "mini_program"},
        )

        assert response.status_code == 409
        assert response.json() == {"error": "mini_program_sign_in_required", "message": message}
        assert (await reload(session, number)).state == "created"
        assert await attempts(session, number) == 0

    async def test_a_system_client_names_the_payer(self, session, client, payer):
        org = await make_org(session)
        kiosk = await system_clients.create_client(
            session, org.admin, name="自助机", kind="his", campus_id=None
        )
        key_id, secret = kiosk.client.key_id, kiosk.secret  # readable after a refused request
        number = (await make_order(session, payer)).order_number
        path = f"/api/v1/system/orders/{number}/pay"

        async def pay(body: dict[str, str]) -> Any:
            content = json.dumps(body).encode()
            headers = signed_headers(key_id, secret, method="POST", path=path, body=content)
            return await client.post(
                path, content=content, headers=headers | {"Content-Type": "application/json"}
            )

        missing = await pay({"channel": "wechat", "scene": "mini_program"})
        named = await pay({"channel": "wechat", "scene": "mini_program", "wechat_openid": OPENID})

        assert missing.status_code == 409
        assert missing.json() == {
            "error": "mini_program_sign_in_required",
            "message": "小程序支付须提供付款人的微信 openid",
        }
        assert named.status_code == 200, named.text
        transaction = await session.scalar(
            select(SandboxWeChatPayTransaction).where(SandboxWeChatPayTransaction.out_trade_no == number)
        )
        assert transaction.payer_openid == OPENID

    async def test_h5_needs_no_mini_program_sign_in(self, session, client, payer):
        number = (await make_order(session, payer)).order_number
        response = await client.post(
            f"/api/v1/me/orders/{number}/pay",
            headers=payer.headers,
            json={"channel": "wechat", "scene": "h5"},
        )
        assert response.status_code == 200, response.text


class TestInsuranceAuthorisation:
    """The patient's authorisation in the insurance e-voucher (payAuthNo) goes to the insurance with the fee
    details (6201), which checks it belongs to the insured person and is still valid."""

    async def test_it_works(self, session, client, payer):
        number = (await make_order(session, payer)).order_number

        response = await client.post(
            f"/api/v1/me/orders/{number}/pay",
            headers=payer.headers,
            json={
                "channel": "insurance",
                "scene": "h5",
                "insurance_authorisation": issue_authorisation(ZHANG_WEI["id_number"]),
            },
        )

        assert response.status_code == 200, response.text
        assert response.json()["self_pay_fen"] is not None
        uploaded = await session.scalar(
            select(SandboxInsuranceOrder).where(SandboxInsuranceOrder.order_number == number)
        )
        assert uploaded is not None

    @pytest.mark.parametrize("whose", ["forged", "another person's"])
    async def test_a_wrong_authorisation_is_refused_in_the_insurances_words(
        self, session, client, payer, whose
    ):
        number = (await make_order(session, payer)).order_number
        authorisation = (
            "AUTH9999999999" + "0" * 24 if whose == "forged" else issue_authorisation(LIU_YANG["id_number"])
        )

        response = await client.post(
            f"/api/v1/me/orders/{number}/pay",
            headers=payer.headers,
            json={"channel": "insurance", "scene": "h5", "insurance_authorisation": authorisation},
        )

        assert response.status_code == 409
        assert response.json()["error"] == "insurance_refused"
        assert response.json()["message"] == "医保电子凭证授权已失效，请重新授权后再支付"
        stored = await reload(session, number)
        assert (stored.state, stored.is_insured, stored.insurance_settlement) == ("created", False, {})


class TestSwitchingChannel:
    async def test_leaving_the_insurance_drops_its_split(self, session, client, run_jobs, payer):
        number = (await make_order(session, payer)).order_number
        insured = await client.post(
            f"/api/v1/me/orders/{number}/pay", headers=payer.headers, json={"channel": "insurance"}
        )
        assert insured.status_code == 200, insured.text
        order = await reload(session, number)
        assert order.is_insured and order.self_pay_fen < 3_500
        pay_order_id = order.insurance_settlement["payOrdId"]

        await paid(client, session, run_jobs, payer, number, "wechat")

        order = await reload(session, number)
        assert (order.state, order.channel, order.paid_fen) == ("paid", "wechat", 3_500)
        assert (
            order.is_insured,
            order.insurance_fund_fen,
            order.personal_account_fen,
            order.self_pay_fen,
        ) == (
            False,
            0,
            0,
            3_500,
        )
        # The insurance order can still be found again (it was closed there, 6401).
        assert order.insurance_settlement["payOrdId"] == pay_order_id
        closed = await session.scalar(
            select(SandboxInsuranceOrder.state).where(SandboxInsuranceOrder.order_number == number)
        )
        assert closed == "closed"
        audited = (
            await session.scalars(
                select(AuditEntry.details).where(
                    AuditEntry.action == "order.pay", AuditEntry.target_id == number
                )
            )
        ).all()
        assert {"channel": "wechat", "scene": "h5", "insurance_split_dropped": True} in audited
        detail = await client.get(f"/api/v1/me/orders/{number}", headers=payer.headers)
        assert (detail.json()["is_insured"], detail.json()["self_pay_fen"]) == (False, 3_500)


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
