"""Notifications: the sandbox signs, encrypts and delivers them through the courier; the channel
believes only what is signed by the platform key, fresh, not replayed and decryptable with the
APIv3 key. Duplicates, delays and reordering come from the sandbox's control."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ihos.db import commit
from ihos.integrations.payment.base import NotificationRejected
from ihos.integrations.payment.wechat import WeChatPayChannel, control, purge_expired_nonces, wire
from ihos.integrations.payment.wechat.channel import DatabaseNonceStore
from ihos.integrations.payment.wechat.sandbox import generated_key, sandbox_merchant
from ihos.kit.time import clock
from ihos.models.sandbox_wechat_pay import WeChatPayNonce
from tests.integrations.payment.wechat.helpers import (
    NOTIFY_URL,
    Delivered,
    paid_order,
    prepay_request,
    refund_request,
)


async def deliver(session, run_jobs) -> None:
    await commit(session)
    await run_jobs()


def with_headers(delivery: Delivered, **changes: str) -> dict[str, str]:
    headers = dict(delivery.headers)
    for name, value in changes.items():
        headers[name.replace("_", "-")] = value
    return headers


class TestPaymentNotification:
    async def test_it_works(self, session, run_jobs, channel, sandbox, deliveries):
        clock.freeze()
        paid = await paid_order(channel, sandbox)
        await deliver(session, run_jobs)

        (delivery,) = deliveries
        assert delivery.url == NOTIFY_URL
        notification = await channel.parse_notification(delivery.headers, delivery.body)
        assert notification.kind == "payment"
        assert notification.notification_id == delivery.envelope["id"]
        payment = notification.payment
        assert payment.order_number == paid.order_number
        assert payment.state == "paid"
        assert payment.amount_fen == 2500
        assert payment.transaction_id == paid.transaction_id
        assert payment.paid_at == clock.now().replace(microsecond=0)

    async def test_it_is_shaped_as_wechat_sends_it(self, session, run_jobs, channel, sandbox, deliveries):
        await paid_order(channel, sandbox)
        await deliver(session, run_jobs)

        (delivery,) = deliveries
        headers = {name.lower(): value for name, value in delivery.headers.items()}
        assert headers["wechatpay-serial"] == (await sandbox.platform_key()).key_id
        assert headers["wechatpay-signature-type"] == "WECHATPAY2-SHA256-RSA2048"
        assert headers["content-type"] == "application/json"
        envelope = delivery.envelope
        assert envelope["event_type"] == "TRANSACTION.SUCCESS"
        assert envelope["resource_type"] == "encrypt-resource"
        resource = envelope["resource"]
        assert resource["algorithm"] == "AEAD_AES_256_GCM"
        assert resource["original_type"] == "transaction"
        assert len(resource["nonce"]) == 12
        plaintext = json.loads(
            wire.decrypt_resource(
                sandbox.merchant.apiv3_key,
                nonce=resource["nonce"],
                ciphertext=resource["ciphertext"],
                associated_data=resource["associated_data"],
            )
        )
        assert plaintext["trade_state"] == "SUCCESS"
        assert plaintext["amount"] == {
            "total": 2500,
            "payer_total": 2500,
            "currency": "CNY",
            "payer_currency": "CNY",
        }

    async def test_the_acknowledgements(self, channel):
        accepted = channel.acknowledge(accepted=True)
        refused = channel.acknowledge(accepted=False)

        assert (accepted.status, accepted.content_type) == (200, "application/json")
        assert json.loads(accepted.body) == {"code": "SUCCESS", "message": "成功"}
        assert refused.status == 500
        assert json.loads(refused.body) == {"code": "FAIL", "message": "失败"}

    async def test_an_amount_other_than_asked_is_reported_as_paid(
        self, session, run_jobs, channel, sandbox, deliveries
    ):
        with control.paying(1):
            await paid_order(channel, sandbox, amount_fen=2500)
        await deliver(session, run_jobs)

        notification = await channel.parse_notification(deliveries[0].headers, deliveries[0].body)
        assert notification.payment.amount_fen == 1

    async def test_headers_in_any_case(self, session, run_jobs, channel, sandbox, deliveries):
        await paid_order(channel, sandbox)
        await deliver(session, run_jobs)

        headers = {name.upper(): value for name, value in deliveries[0].headers.items()}
        assert (await channel.parse_notification(headers, deliveries[0].body)).kind == "payment"


class TestRejected:
    @pytest.fixture
    async def delivery(self, session, run_jobs, channel, sandbox, deliveries) -> Delivered:
        await paid_order(channel, sandbox)
        await deliver(session, run_jobs)
        return deliveries[0]

    async def rejected(self, channel, headers, body) -> str:
        with pytest.raises(NotificationRejected) as rejection:
            await channel.parse_notification(headers, body)
        return rejection.value.reason

    async def test_a_tampered_body(self, channel, delivery):
        body = delivery.body.replace(b"TRANSACTION.SUCCESS", b"TRANSACTION.SUCCESS ")

        assert await self.rejected(channel, delivery.headers, body) == "bad signature"

    async def test_a_signature_by_another_key(self, channel, delivery):
        headers = dict(delivery.headers)
        message = wire.signed_message(
            headers["wechatpay-timestamp"], headers["wechatpay-nonce"], delivery.body
        )
        headers["wechatpay-signature"] = wire.sign(generated_key("forger"), message)

        assert await self.rejected(channel, headers, delivery.body) == "bad signature"

    async def test_wechats_signature_probe(self, channel, delivery):
        headers = with_headers(delivery, wechatpay_signature="WECHATPAY/SIGNTEST/" + "A" * 40)

        assert await self.rejected(channel, headers, delivery.body) == "bad signature"

    async def test_a_timestamp_six_minutes_old(self, channel, delivery):
        clock.travel(timedelta(minutes=6))

        assert "five minutes" in await self.rejected(channel, delivery.headers, delivery.body)

    async def test_a_timestamp_six_minutes_ahead(self, channel, delivery):
        clock.travel(-timedelta(minutes=6))

        assert "five minutes" in await self.rejected(channel, delivery.headers, delivery.body)

    async def test_within_five_minutes_it_is_believed(self, channel, delivery):
        clock.travel(timedelta(minutes=4, seconds=50))

        assert (await channel.parse_notification(delivery.headers, delivery.body)).kind == "payment"

    async def test_a_replayed_nonce(self, channel, delivery):
        await channel.parse_notification(delivery.headers, delivery.body)

        assert await self.rejected(channel, delivery.headers, delivery.body) == "replayed Wechatpay-Nonce"

    async def test_a_replay_is_caught_by_another_process(self, session, sandbox, channel, delivery):
        await channel.parse_notification(delivery.headers, delivery.body)
        elsewhere = WeChatPayChannel(
            sandbox.merchant, counterpart=sandbox, nonces=DatabaseNonceStore(session)
        )

        assert await self.rejected(elsewhere, delivery.headers, delivery.body) == "replayed Wechatpay-Nonce"

    async def test_the_wrong_apiv3_key(self, session, sandbox, delivery):
        wrong_key = sandbox_merchant(apiv3_key="0123456789abcdef0123456789abcdef")
        channel = WeChatPayChannel(wrong_key, counterpart=sandbox, nonces=DatabaseNonceStore(session))

        assert "undecryptable" in await self.rejected(channel, delivery.headers, delivery.body)

    async def test_a_refused_notification_keeps_its_nonce_free(self, session, sandbox, channel, delivery):
        wrong_key = sandbox_merchant(apiv3_key="0123456789abcdef0123456789abcdef")
        mistaken = WeChatPayChannel(wrong_key, counterpart=sandbox, nonces=DatabaseNonceStore(session))
        await self.rejected(mistaken, delivery.headers, delivery.body)

        assert (await channel.parse_notification(delivery.headers, delivery.body)).kind == "payment"

    async def test_an_unknown_serial(self, channel, delivery):
        headers = with_headers(delivery, wechatpay_serial="PUB_KEY_ID_0000000000000000000000000001")

        assert "unknown serial" in await self.rejected(channel, headers, delivery.body)

    async def test_another_signature_type(self, channel, delivery):
        headers = with_headers(delivery, wechatpay_signature_type="WECHATPAY2-SM2-WITH-SM3")

        assert "signature type" in await self.rejected(channel, headers, delivery.body)

    @pytest.mark.parametrize(
        "header", ["wechatpay-signature", "wechatpay-timestamp", "wechatpay-nonce", "wechatpay-serial"]
    )
    async def test_a_missing_header(self, channel, delivery, header):
        headers = {name: value for name, value in delivery.headers.items() if name.lower() != header}

        assert "missing" in await self.rejected(channel, headers, delivery.body)

    async def test_a_notification_for_another_merchant(self, session, sandbox, delivery):
        other = sandbox_merchant(mchid="1900000999")
        channel = WeChatPayChannel(other, counterpart=sandbox, nonces=DatabaseNonceStore(session))

        assert (
            await self.rejected(channel, delivery.headers, delivery.body)
            == "notification for another merchant"
        )


class TestRefundNotification:
    @pytest.mark.parametrize(
        ("outcome", "state"), [("SUCCESS", "succeeded"), ("ABNORMAL", "processing"), ("CLOSED", "failed")]
    )
    async def test_the_outcome(self, session, run_jobs, channel, sandbox, deliveries, outcome, state):
        paid = await paid_order(channel, sandbox)
        with control.refunding(outcome=outcome):
            refund = await channel.refund(refund_request(paid.order_number, "RF1"))
        await deliver(session, run_jobs)

        _payment, refund_delivery = deliveries
        assert refund_delivery.url == NOTIFY_URL + "/refunds"
        assert refund_delivery.envelope["event_type"] == f"REFUND.{outcome}"
        notification = await channel.parse_notification(refund_delivery.headers, refund_delivery.body)
        assert notification.kind == "refund"
        assert notification.notification_id == refund_delivery.envelope["id"]
        result = notification.refund
        assert (result.refund_number, result.state, result.amount_fen) == ("RF1", state, 1000)
        assert result.channel_refund_id == refund.channel_refund_id
        assert (result.succeeded_at is not None) == (outcome == "SUCCESS")
        assert result.raw["refund_status"] == outcome

    async def test_it_comes_when_the_refund_is_done(self, session, run_jobs, channel, sandbox, deliveries):
        clock.freeze()
        accepted_at = clock.now().replace(microsecond=0)
        paid = await paid_order(channel, sandbox)
        with control.refunding(delay=timedelta(minutes=10)):
            await channel.refund(refund_request(paid.order_number, "RF1"))
        await deliver(session, run_jobs)
        assert [d.envelope["event_type"] for d in deliveries] == ["TRANSACTION.SUCCESS"]

        clock.travel(timedelta(minutes=10))
        await run_jobs()
        refund_delivery = deliveries[-1]
        assert refund_delivery.envelope["event_type"] == "REFUND.SUCCESS"
        notification = await channel.parse_notification(refund_delivery.headers, refund_delivery.body)
        assert notification.refund.succeeded_at == accepted_at + timedelta(minutes=10)


class TestDeliveryControls:
    async def test_duplicates_are_signed_afresh_and_carry_one_id(
        self, session, run_jobs, channel, sandbox, deliveries
    ):
        with control.duplicating(3):
            await paid_order(channel, sandbox)
        await deliver(session, run_jobs)

        assert len(deliveries) == 3
        assert len({d.body for d in deliveries}) == 1
        assert len({d.headers["wechatpay-nonce"] for d in deliveries}) == 3
        notifications = [await channel.parse_notification(d.headers, d.body) for d in deliveries]
        assert len({n.notification_id for n in notifications}) == 1

    async def test_the_copies_setting(self, session, run_jobs, deliveries):
        from ihos.integrations.payment.wechat import WeChatPaySettings, wechat_pay_channel, wechat_pay_sandbox

        settings = WeChatPaySettings.model_validate({"sandbox": {"notification_copies": 2}})
        request = prepay_request()
        await wechat_pay_channel(session, settings).create_prepay(request)
        await wechat_pay_sandbox(session, settings).simulate_payment(request.order_number)
        await deliver(session, run_jobs)

        assert len(deliveries) == 2

    async def test_a_delayed_notification(self, session, run_jobs, channel, sandbox, deliveries):
        with control.delaying(timedelta(minutes=2)):
            await paid_order(channel, sandbox)
        await deliver(session, run_jobs)
        assert deliveries == []

        clock.travel(timedelta(minutes=2))
        await run_jobs()
        (delivery,) = deliveries
        assert (await channel.parse_notification(delivery.headers, delivery.body)).kind == "payment"

    async def test_reordered_notifications(self, session, run_jobs, channel, sandbox, deliveries):
        with control.holding_notifications():
            paid = await paid_order(channel, sandbox)
            await channel.refund(refund_request(paid.order_number, "RF1"))
        await deliver(session, run_jobs)
        assert deliveries == []

        assert await sandbox.release_notifications() == 2
        await deliver(session, run_jobs)
        assert [d.envelope["event_type"] for d in deliveries] == ["REFUND.SUCCESS", "TRANSACTION.SUCCESS"]
        for delivery in deliveries:
            await channel.parse_notification(delivery.headers, delivery.body)

    async def test_released_in_order_when_asked(self, session, run_jobs, channel, sandbox, deliveries):
        with control.holding_notifications():
            paid = await paid_order(channel, sandbox)
            await channel.refund(refund_request(paid.order_number, "RF1"))
        await sandbox.release_notifications(reverse=False)
        await deliver(session, run_jobs)

        assert [d.envelope["event_type"] for d in deliveries] == ["TRANSACTION.SUCCESS", "REFUND.SUCCESS"]


class TestNonces:
    async def test_expired_nonces_are_forgotten(self, session, run_jobs, channel, sandbox, deliveries):
        await paid_order(channel, sandbox)
        await deliver(session, run_jobs)
        await channel.parse_notification(deliveries[0].headers, deliveries[0].body)
        count = select(func.count()).select_from(WeChatPayNonce)

        assert await purge_expired_nonces(session) == 0
        clock.travel(timedelta(minutes=7))
        assert await purge_expired_nonces(session) == 1
        assert await session.scalar(count) == 0

    async def test_an_injected_store(self, session, run_jobs, sandbox, deliveries):
        class Remembering:
            def __init__(self) -> None:
                self.seen: set[str] = set()

            async def remember(self, nonce, *, expires_at) -> bool:
                fresh = nonce not in self.seen
                self.seen.add(nonce)
                return fresh

        channel = WeChatPayChannel(sandbox.merchant, counterpart=sandbox, nonces=Remembering())
        await paid_order(channel, sandbox)
        await deliver(session, run_jobs)
        await channel.parse_notification(deliveries[0].headers, deliveries[0].body)

        with pytest.raises(NotificationRejected):
            await channel.parse_notification(deliveries[0].headers, deliveries[0].body)
        assert await session.scalar(select(func.count()).select_from(WeChatPayNonce)) == 0
