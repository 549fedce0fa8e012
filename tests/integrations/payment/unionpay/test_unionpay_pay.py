"""UnionPay online payment (5.1.0): the real channel against the sandbox gateway over the real wire protocol
(RSA-SHA256 both ways, UnionPay's certificate chain), the sandbox's notifications through the courier, and
the refusal of notifications not to be believed."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from sqlalchemy import func, select

from ihos.integrations.payment.base import (
    ChannelError,
    NotificationRejected,
    PrepayRequest,
    RefundRequest,
)
from ihos.integrations.payment.unionpay import (
    SandboxPaymentError,
    UnionPayChannel,
    UnionPayKeyError,
    UnionPaySettings,
    control,
    get_unionpay_sandbox,
    parse_zip,
    signing,
    simulate_payment,
    unionpay_channel,
)
from ihos.integrations.payment.unionpay.client import UNIONPAY_ZONE
from ihos.integrations.payment.unionpay.sandbox import (
    SANDBOX_MERCHANT_ID,
    SandboxPki,
    UnionPaySandbox,
    _certificate,
    _key,
    _name,
    sandbox_pki,
    settlement_day,
)
from ihos.integrations.payment.unionpay.settings import UnionPaySandboxSettings
from ihos.kit.time import clock, now
from ihos.models.sandbox_alipay_unionpay import (
    SandboxUnionPayOrder,
    SandboxUnionPayRefund,
    UnionPaySubmission,
)

NOTIFY_URL = "https://ihos.example.cn/api/v1/payments/notifications/unionpay"


def order_number() -> str:
    return "UP" + secrets.token_hex(8).upper()


def prepay_request(
    number: str | None = None, *, amount_fen: int = 2501, scene: str = "mini_program"
) -> PrepayRequest:
    return PrepayRequest(
        order_number=number or order_number(),
        description="门诊缴费",
        amount_fen=amount_fen,
        expires_at=now() + timedelta(minutes=30),
        scene=scene,  # type: ignore[arg-type]
        notify_url=NOTIFY_URL,
    )


def refund_request(
    number: str, refund_number: str, amount_fen: int, *, transaction_id: str | None = None
) -> RefundRequest:
    return RefundRequest(
        refund_number=refund_number,
        order_number=number,
        transaction_id=transaction_id,
        amount_fen=amount_fen,
        order_total_fen=2501,
        reason="患者退费",
        notify_url=NOTIFY_URL,
    )


def form(body: bytes) -> dict[str, str]:
    return dict(parse_qsl(body.decode(), keep_blank_values=True))


def resign(fields: dict[str, str], key: rsa.RSAPrivateKey | None = None) -> bytes:
    """The notification as the holder of ``key`` (default: the sandbox's UnionPay key) would sign it."""
    fields = {name: value for name, value in fields.items() if name != "signature"}
    fields["signature"] = signing.sign(key or sandbox_pki().unionpay_key, fields)
    return urlencode(fields).encode()


def pki_naming(owner: str) -> SandboxPki:
    """A root, intermediate and signing certificate whose CN names ``owner``, plus the usual merchant."""
    root_key, middle_key, leaf_key = _key(), _key(), _key()
    root_name, middle_name = _name("test root", "t"), _name("test middle", "t")
    root = _certificate(root_name, root_name, root_key.public_key(), root_key, is_ca=True)
    middle = _certificate(middle_name, root_name, middle_key.public_key(), root_key, is_ca=True)
    leaf = _certificate(
        _name(f"041@Z1@{owner}@1", "t"), middle_name, leaf_key.public_key(), middle_key, is_ca=False
    )
    usual = sandbox_pki()
    return SandboxPki(root, middle, leaf_key, leaf, usual.merchant_key, usual.merchant_certificate)


def channel_on(session, pki: SandboxPki, *, check_name: bool = True) -> UnionPayChannel:
    sandbox = UnionPaySandbox(
        session,
        settings=UnionPaySandboxSettings(),
        merchant_id=SANDBOX_MERCHANT_ID,
        merchant_certificate=pki.merchant_certificate,
        pki=pki,
    )
    channel = unionpay_channel(session)
    channel.config = replace(
        channel.config,
        root_certificate=pki.root,
        middle_certificate=pki.middle,
        check_certificate_name=check_name,
    )
    channel.transport = sandbox.transport()
    return channel


async def paid_order(session, run_jobs, inbox, *, amount_fen: int = 2501) -> tuple[str, str]:
    number = order_number()
    await unionpay_channel(session).create_prepay(prepay_request(number, amount_fen=amount_fen))
    payment = await simulate_payment(session, number)
    await run_jobs()
    inbox.requests.clear()
    return number, payment.transaction_id


class TestPrepay:
    async def test_it_works(self, session):
        request = prepay_request()
        prepay = await unionpay_channel(session).create_prepay(request)

        assert prepay.channel == "unionpay"
        assert prepay.params == {"tn": prepay.channel_reference}
        assert (prepay.url, prepay.url_method) == (None, "get")
        assert prepay.channel_reference is not None and len(prepay.channel_reference) == 21
        order = (
            await session.scalars(
                select(SandboxUnionPayOrder).where(SandboxUnionPayOrder.order_id == request.order_number)
            )
        ).one()
        assert (order.state, order.amount_fen, order.back_url, order.tn) == (
            "issued",
            2501,
            NOTIFY_URL,
            prepay.channel_reference,
        )
        result = await unionpay_channel(session).query_payment(request.order_number)
        assert (result.state, result.amount_fen) == ("pending", None)

    async def test_the_request_is_signed_as_the_5_1_0_rule_says(self, session):
        sandbox = get_unionpay_sandbox(session)
        seen: list[httpx.Request] = []

        async def spy(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return await sandbox.handle(request)

        clock.freeze()
        channel = unionpay_channel(session)
        channel.transport = httpx.MockTransport(spy)
        request = prepay_request()
        await channel.create_prepay(request)

        (sent,) = seen
        assert sent.method == "POST"
        assert sent.url.path == "/gateway/api/appTransReq.do"
        fields = form(sent.content)
        assert (fields["version"], fields["signMethod"], fields["txnType"], fields["bizType"]) == (
            "5.1.0",
            "01",
            "01",
            "000201",
        )
        assert fields["certId"] == str(sandbox_pki().merchant_certificate.serial_number)
        assert (fields["txnAmt"], fields["currencyCode"], fields["backUrl"]) == ("2501", "156", NOTIFY_URL)
        assert fields["txnTime"] == now().astimezone(UNIONPAY_ZONE).strftime("%Y%m%d%H%M%S")
        assert fields["payTimeout"] == request.expires_at.astimezone(UNIONPAY_ZONE).strftime("%Y%m%d%H%M%S")
        # The rule, spelled out: RSA-SHA256 over the lowercase hex SHA-256 of the sorted k=v string.
        content = "&".join(f"{name}={value}" for name, value in sorted(fields.items()) if name != "signature")
        digest = hashlib.sha256(content.encode()).hexdigest().encode()
        sandbox_pki().merchant_certificate.public_key().verify(  # type: ignore[union-attr,call-arg]
            base64.b64decode(fields["signature"]), digest, padding.PKCS1v15(), hashes.SHA256()
        )

    async def test_h5_gives_the_signed_form(self, session, run_jobs, inbox):
        request = prepay_request(scene="h5")
        prepay = await unionpay_channel(session).create_prepay(request)

        assert prepay.url == "https://gateway.unionpay.sandbox.ihos.invalid/gateway/api/frontTransReq.do"
        assert prepay.url_method == "post"  # the browser posts the signed fields to the gateway
        assert prepay.params["orderId"] == request.order_number
        assert prepay.params["channelType"] == "08"
        public_key = sandbox_pki().merchant_certificate.public_key()
        assert isinstance(public_key, rsa.RSAPublicKey)
        assert signing.verify(public_key, prepay.params, prepay.params["signature"])
        # The browser posting the form reaches UnionPay's cashier.
        async with httpx.AsyncClient(transport=get_unionpay_sandbox(session).transport()) as browser:
            page = await browser.post(prepay.url, data=dict(prepay.params))
        assert "25.01" in page.text
        payment = await simulate_payment(session, request.order_number)
        assert payment.amount_fen == 2501

    async def test_unsupported_scenes_and_numbers_are_refused(self, session):
        channel = unionpay_channel(session)
        with pytest.raises(ChannelError) as caught:
            await channel.create_prepay(prepay_request(scene="native"))
        assert caught.value.code == "ihos.unsupported_scene"
        with pytest.raises(ChannelError) as caught:
            await channel.create_prepay(prepay_request("UP1234"))
        assert caught.value.code == "ihos.invalid_order_number"

    async def test_the_same_order_again_gives_the_same_tn(self, session):
        request = prepay_request()
        first = await unionpay_channel(session).create_prepay(request)
        second = await unionpay_channel(session).create_prepay(request)
        assert first.channel_reference == second.channel_reference

    async def test_the_same_order_with_another_amount_is_refused(self, session):
        request = prepay_request()
        await unionpay_channel(session).create_prepay(request)
        with pytest.raises(ChannelError) as caught:
            await unionpay_channel(session).create_prepay(prepay_request(request.order_number, amount_fen=1))
        assert caught.value.code == "12"
        assert not caught.value.retryable


class TestSandboxGateway:
    async def test_it_refuses_a_badly_signed_request(self, session):
        channel = unionpay_channel(session)
        channel.config = replace(channel.config, signing_key=_key())
        with pytest.raises(ChannelError) as caught:
            await channel.create_prepay(prepay_request())
        assert caught.value.code == "11"
        assert not caught.value.retryable
        assert await session.scalar(select(func.count()).select_from(SandboxUnionPayOrder)) == 0

    async def test_it_refuses_an_unknown_certificate(self, session):
        channel = unionpay_channel(session)
        channel.config = replace(channel.config, cert_id="1234567890")
        with pytest.raises(ChannelError) as caught:
            await channel.create_prepay(prepay_request())
        assert caught.value.code == "11"

    async def test_an_answer_from_outside_unionpays_chain_is_not_believed(self, session):
        channel = unionpay_channel(session)
        stranger = pki_naming(signing.UNIONPAY_NAME)
        channel.config = replace(
            channel.config, root_certificate=stranger.root, middle_certificate=stranger.middle
        )
        with pytest.raises(ChannelError) as caught:
            await channel.create_prepay(prepay_request())
        assert caught.value.code == "invalid_response_signature"

    async def test_a_certificate_not_naming_unionpay_is_not_believed(self, session):
        with pytest.raises(ChannelError) as caught:
            await channel_on(session, pki_naming("某某科技有限公司")).create_prepay(prepay_request())
        assert caught.value.code == "invalid_response_signature"

    async def test_the_test_environments_certificate_name_passes_only_when_allowed(self, session):
        pki = pki_naming(signing.TEST_ENVIRONMENT_NAME)
        with pytest.raises(ChannelError):
            await channel_on(session, pki).create_prepay(prepay_request())
        prepay = await channel_on(session, pki, check_name=False).create_prepay(prepay_request())
        assert prepay.channel_reference


class TestNotifications:
    async def test_simulate_payment_notifies_the_exact_amount(self, session, run_jobs, inbox):
        channel = unionpay_channel(session)
        request = prepay_request(amount_fen=2501)
        await channel.create_prepay(request)
        payment = await simulate_payment(session, request.order_number)
        assert inbox.requests == []

        await run_jobs()
        assert len(inbox.requests) == 1
        (delivered,) = inbox.requests
        assert str(delivered.url) == NOTIFY_URL
        assert delivered.headers["content-type"].startswith("application/x-www-form-urlencoded")
        fields = form(delivered.content)
        assert (fields["txnAmt"], fields["respCode"], fields["txnType"]) == ("2501", "00", "01")
        assert fields["signPubKeyCert"].startswith("-----BEGIN CERTIFICATE-----")

        notification = await channel.parse_notification(dict(delivered.headers), delivered.content)
        assert notification.kind == "payment"
        assert notification.notification_id == f"{payment.transaction_id}:01"
        result = notification.payment
        assert result is not None
        assert (result.order_number, result.state, result.amount_fen) == (request.order_number, "paid", 2501)
        assert result.transaction_id == payment.transaction_id
        assert result.paid_at is not None and abs(result.paid_at - now()) < timedelta(seconds=5)
        assert "signPubKeyCert" not in result.raw

    async def test_acknowledgements(self, session):
        channel = unionpay_channel(session)
        assert (channel.acknowledge(accepted=True).status, channel.acknowledge(accepted=True).body) == (
            200,
            b"ok",
        )
        assert channel.acknowledge(accepted=False).status != 200

    async def test_a_tampered_notification_is_refused(self, session, run_jobs, inbox):
        await self._notified(session, run_jobs, inbox)
        fields = form(inbox.bodies[0])
        fields["txnAmt"] = "1"
        with pytest.raises(NotificationRejected, match="signature"):
            await unionpay_channel(session).parse_notification({}, urlencode(fields).encode())

    async def test_a_wrongly_signed_notification_is_refused(self, session, run_jobs, inbox):
        await self._notified(session, run_jobs, inbox)
        channel = unionpay_channel(session)
        with pytest.raises(NotificationRejected, match="signature"):
            await channel.parse_notification({}, resign(form(inbox.bodies[0]), _key()))
        fields = form(inbox.bodies[0])
        del fields["signature"]
        with pytest.raises(NotificationRejected, match="unsigned"):
            await channel.parse_notification({}, urlencode(fields).encode())

    async def test_a_notification_signed_with_a_forged_certificate_is_refused(self, session, run_jobs, inbox):
        await self._notified(session, run_jobs, inbox)
        forger = pki_naming(signing.UNIONPAY_NAME)
        fields = form(inbox.bodies[0])
        fields["signPubKeyCert"] = signing.certificate_pem(forger.unionpay_certificate)
        with pytest.raises(NotificationRejected, match="chain"):
            await unionpay_channel(session).parse_notification({}, resign(fields, forger.unionpay_key))

    async def test_a_notification_for_another_merchant_is_refused(self, session, run_jobs, inbox):
        await self._notified(session, run_jobs, inbox)
        fields = form(inbox.bodies[0])
        fields["merId"] = "777290058000000"
        with pytest.raises(NotificationRejected, match="another merchant"):
            await unionpay_channel(session).parse_notification({}, resign(fields))

    async def test_a_stale_notification_is_refused(self, session, run_jobs, inbox):
        request = prepay_request()
        await unionpay_channel(session).create_prepay(request)
        await simulate_payment(session, request.order_number)
        clock.travel(timedelta(days=3))
        await run_jobs()
        with pytest.raises(NotificationRejected, match="stale"):
            await unionpay_channel(session).parse_notification({}, inbox.bodies[0])

    async def test_a_notification_from_the_future_is_refused(self, session, run_jobs, inbox):
        await self._notified(session, run_jobs, inbox)
        fields = form(inbox.bodies[0])
        fields["txnTime"] = (now() + timedelta(hours=1)).astimezone(UNIONPAY_ZONE).strftime("%Y%m%d%H%M%S")
        with pytest.raises(NotificationRejected, match="future"):
            await unionpay_channel(session).parse_notification({}, resign(fields))

    async def test_a_replayed_notification_is_refused(self, session, run_jobs, inbox):
        await self._notified(session, run_jobs, inbox)
        await unionpay_channel(session).parse_notification({}, inbox.bodies[0])
        with pytest.raises(NotificationRejected, match="replayed"):
            await unionpay_channel(session).parse_notification({}, inbox.bodies[0])

    async def test_a_failed_payment_is_reported_failed(self, session, run_jobs, inbox):
        await self._notified(session, run_jobs, inbox)
        fields = form(inbox.bodies[0])
        fields.update(respCode="61", respMsg="输入的卡号无效")
        notification = await unionpay_channel(session).parse_notification({}, resign(fields))
        assert notification.payment is not None
        assert (notification.payment.state, notification.payment.amount_fen) == ("failed", None)

    async def test_malformed_bodies_are_refused(self, session):
        channel = unionpay_channel(session)
        for body in (b"\xff", b"a=1&a=2", b"signature=x&version=5.0.0&signMethod=01"):
            with pytest.raises(NotificationRejected):
                await channel.parse_notification({}, body)

    @staticmethod
    async def _notified(session, run_jobs, inbox) -> tuple[str, str]:
        request = prepay_request()
        await unionpay_channel(session).create_prepay(request)
        payment = await simulate_payment(session, request.order_number)
        await run_jobs()
        return request.order_number, payment.transaction_id


class TestQueryCloseRefund:
    async def test_query_after_payment(self, session, run_jobs, inbox):
        number, query_id = await paid_order(session, run_jobs, inbox)
        result = await unionpay_channel(session).query_payment(number)
        assert (result.state, result.amount_fen, result.transaction_id) == ("paid", 2501, query_id)
        assert result.paid_at is not None

    async def test_an_order_never_sent_cannot_be_queried(self, session):
        with pytest.raises(ChannelError) as caught:
            await unionpay_channel(session).query_payment("UP00000404")
        assert caught.value.code == "ihos.not_submitted"

    async def test_an_unpaid_order_lapses_at_its_pay_timeout(self, session):
        channel = unionpay_channel(session)
        request = prepay_request()
        await channel.create_prepay(request)
        clock.travel(timedelta(minutes=31))
        assert (await channel.query_payment(request.order_number)).state == "closed"
        with pytest.raises(SandboxPaymentError):
            await simulate_payment(session, request.order_number)

    async def test_close_an_unpaid_order(self, session):
        channel = unionpay_channel(session)
        request = prepay_request()
        await channel.create_prepay(request)
        await channel.close(request.order_number)
        assert (await channel.query_payment(request.order_number)).state == "closed"
        await channel.close("UP00000404")  # never sent: nothing to do

    async def test_a_paid_order_cannot_be_closed(self, session, run_jobs, inbox):
        number, _ = await paid_order(session, run_jobs, inbox)
        with pytest.raises(ChannelError) as caught:
            await unionpay_channel(session).close(number)
        assert caught.value.code == "ihos.order_paid"

    async def test_refund_and_query_refund(self, session, run_jobs, inbox):
        number, query_id = await paid_order(session, run_jobs, inbox)
        channel = unionpay_channel(session)

        refund = await channel.refund(refund_request(number, "RF" + number, 1000, transaction_id=query_id))
        assert (refund.state, refund.amount_fen) == ("processing", 1000)
        assert refund.channel_refund_id
        queried = await channel.query_refund("RF" + number, order_number=number)
        assert (queried.state, queried.amount_fen, queried.channel_refund_id) == (
            "succeeded",
            1000,
            refund.channel_refund_id,
        )

        await run_jobs()
        fields = form(inbox.bodies[0])
        assert (fields["txnType"], fields["origQryId"], fields["orderId"]) == ("04", query_id, "RF" + number)
        notification = await channel.parse_notification({}, inbox.bodies[0])
        assert notification.kind == "refund"
        assert notification.notification_id == f"{refund.channel_refund_id}:04"
        assert notification.refund is not None
        assert (
            notification.refund.refund_number,
            notification.refund.state,
            notification.refund.amount_fen,
        ) == (
            "RF" + number,
            "succeeded",
            1000,
        )

    async def test_a_refund_finds_the_original_query_id_itself(self, session, run_jobs, inbox):
        number, query_id = await paid_order(session, run_jobs, inbox)
        await unionpay_channel(session).refund(refund_request(number, "RF" + number, 1000))
        refund = (await session.scalars(select(SandboxUnionPayRefund))).one()
        assert refund.original_query_id == query_id

    async def test_the_refund_number_is_reused_on_retry(self, session, run_jobs, inbox):
        number, query_id = await paid_order(session, run_jobs, inbox)
        channel = unionpay_channel(session)

        await channel.refund(refund_request(number, "RF" + number, 1000, transaction_id=query_id))
        again = await channel.refund(refund_request(number, "RF" + number, 1000, transaction_id=query_id))

        assert (again.state, again.amount_fen) == ("succeeded", 1000)
        order = (
            await session.scalars(select(SandboxUnionPayOrder).where(SandboxUnionPayOrder.order_id == number))
        ).one()
        await session.refresh(order)
        assert order.refunded_fen == 1000
        assert await session.scalar(select(func.count()).select_from(SandboxUnionPayRefund)) == 1
        submissions = (
            await session.scalars(select(UnionPaySubmission).where(UnionPaySubmission.txn_type == "04"))
        ).all()
        assert len(submissions) == 1
        await run_jobs()
        assert len(inbox.requests) == 1

    async def test_a_refund_number_cannot_change_its_amount(self, session, run_jobs, inbox):
        number, query_id = await paid_order(session, run_jobs, inbox)
        channel = unionpay_channel(session)
        await channel.refund(refund_request(number, "RF" + number, 1000, transaction_id=query_id))
        with pytest.raises(ChannelError) as caught:
            await channel.refund(refund_request(number, "RF" + number, 900, transaction_id=query_id))
        assert caught.value.code == "12"

    async def test_an_over_refund_is_refused_with_unionpays_answer(self, session, run_jobs, inbox):
        number, query_id = await paid_order(session, run_jobs, inbox)
        channel = unionpay_channel(session)
        await channel.refund(refund_request(number, "RA" + number, 2000, transaction_id=query_id))

        with pytest.raises(ChannelError) as caught:
            await channel.refund(refund_request(number, "RB" + number, 502, transaction_id=query_id))
        assert caught.value.code == "35"
        assert caught.value.message == "原交易不存在或状态不正确"
        assert not caught.value.retryable
        order = (
            await session.scalars(select(SandboxUnionPayOrder).where(SandboxUnionPayOrder.order_id == number))
        ).one()
        await session.refresh(order)
        assert order.refunded_fen == 2000
        assert (await channel.query_refund("RB" + number, order_number=number)).state == "failed"

    async def test_an_unpaid_order_cannot_be_refunded(self, session):
        channel = unionpay_channel(session)
        request = prepay_request()
        await channel.create_prepay(request)
        with pytest.raises(ChannelError) as caught:
            await channel.refund(refund_request(request.order_number, "RF" + request.order_number, 100))
        assert caught.value.code == "35"

    async def test_an_unknown_refund_is_not_found(self, session):
        result = await unionpay_channel(session).query_refund("RF00000404", order_number="UP00000404")
        assert (result.state, result.amount_fen) == ("failed", 0)


class TestControls:
    @pytest.mark.parametrize(
        ("mode", "code"), [("unavailable", "bad_response"), ("timeout", "timeout"), ("busy", "06")]
    )
    async def test_failures_are_retryable(self, session, mode, code):
        with control.failing(mode), pytest.raises(ChannelError) as caught:
            await unionpay_channel(session).create_prepay(prepay_request())
        assert caught.value.code == code
        assert caught.value.retryable

    async def test_duplicated_notifications(self, session, run_jobs, inbox):
        request = prepay_request()
        await unionpay_channel(session).create_prepay(request)
        with control.duplicating(3):
            await simulate_payment(session, request.order_number)
        await run_jobs()

        assert len(set(inbox.bodies)) == 1 and len(inbox.bodies) == 3
        await unionpay_channel(session).parse_notification({}, inbox.bodies[0])
        for body in inbox.bodies[1:]:
            with pytest.raises(NotificationRejected, match="replayed"):
                await unionpay_channel(session).parse_notification({}, body)

    async def test_delayed_notifications(self, session, run_jobs, inbox):
        request = prepay_request()
        await unionpay_channel(session).create_prepay(request)
        with control.delaying(timedelta(minutes=5)):
            await simulate_payment(session, request.order_number)
        await run_jobs()
        assert len(inbox.requests) == 0
        clock.travel(timedelta(minutes=5))
        await run_jobs()
        assert len(inbox.requests) == 1

    async def test_reordered_notifications(self, session, run_jobs, inbox):
        channel = unionpay_channel(session)
        request = prepay_request()
        await channel.create_prepay(request)
        with control.reordering():
            payment = await simulate_payment(session, request.order_number)
            await channel.refund(
                refund_request(
                    request.order_number,
                    "RF" + request.order_number,
                    100,
                    transaction_id=payment.transaction_id,
                )
            )
        clock.travel(timedelta(minutes=1))
        await run_jobs()

        kinds = [(await channel.parse_notification({}, body)).kind for body in inbox.bodies]
        assert kinds == ["refund", "payment"]

    async def test_dropped_notifications_leave_the_query(self, session, run_jobs, inbox):
        request = prepay_request()
        await unionpay_channel(session).create_prepay(request)
        with control.dropping():
            await simulate_payment(session, request.order_number)
        await run_jobs()
        assert len(inbox.requests) == 0
        assert (await unionpay_channel(session).query_payment(request.order_number)).state == "paid"

    async def test_paying_another_amount(self, session, run_jobs, inbox):
        channel = unionpay_channel(session)
        request = prepay_request(amount_fen=2501)
        await channel.create_prepay(request)
        with control.paying(2500):
            await simulate_payment(session, request.order_number)
        await run_jobs()
        notification = await channel.parse_notification({}, inbox.bodies[0])
        assert notification.payment is not None and notification.payment.amount_fen == 2500
        assert (await channel.query_payment(request.order_number)).amount_fen == 2500

    async def test_an_unacknowledged_notification_is_resent(self, session, run_jobs, inbox):
        request = prepay_request()
        await unionpay_channel(session).create_prepay(request)
        await simulate_payment(session, request.order_number)
        inbox.answer = 400
        await run_jobs()
        inbox.answer = 200
        clock.travel(timedelta(hours=1))
        await run_jobs()
        assert len(inbox.requests) == 2


class TestStatement:
    async def test_the_downloaded_file_parses(self, session, run_jobs, inbox):
        # Mid-morning, so that the payment and the refund fall on the same settlement day.
        clock.freeze(now().astimezone(UNIONPAY_ZONE).replace(hour=10, minute=0) - timedelta(days=2))
        number, query_id = await paid_order(session, run_jobs, inbox)
        channel = unionpay_channel(session)
        refund = await channel.refund(refund_request(number, "RF" + number, 1000, transaction_id=query_id))
        day = settlement_day(now())
        clock.travel(timedelta(days=1))

        payment_line, refund_line = parse_zip(await channel.download_statement(day))

        assert (payment_line.txn_type, payment_line.order_number, payment_line.query_id) == (
            "01",
            number,
            query_id,
        )
        assert (payment_line.amount_fen, payment_line.settlement_fen) == (2501, 2501)
        assert payment_line.merchant_id == SANDBOX_MERCHANT_ID
        assert (refund_line.txn_type, refund_line.order_number, refund_line.amount_fen) == (
            "04",
            "RF" + number,
            1000,
        )
        assert (refund_line.settlement_fen, refund_line.original_query_id) == (-1000, query_id)
        assert refund_line.query_id == refund.channel_refund_id

    async def test_the_settlement_day_turns_at_23_00(self):
        late = now().astimezone(UNIONPAY_ZONE).replace(hour=23, minute=30)
        assert settlement_day(late) == late.date() + timedelta(days=1)
        assert settlement_day(late.replace(hour=22, minute=59)) == late.date()

    async def test_an_open_settlement_day_has_no_file_yet(self, session):
        with pytest.raises(ChannelError) as caught:
            await unionpay_channel(session).download_statement(settlement_day(now()))
        assert caught.value.code == "98"
        assert caught.value.retryable


class TestSettings:
    def test_live_needs_the_merchant_and_certificates(self, session):
        with pytest.raises(UnionPayKeyError):
            unionpay_channel(session, UnionPaySettings(provider="live"))
        with pytest.raises(UnionPayKeyError):
            unionpay_channel(session, UnionPaySettings(provider="live", merchant_id="898000000000001"))

    def test_live_reads_the_pfx_and_the_chain(self, session, tmp_path):
        pki = sandbox_pki()
        (tmp_path / "sign.pfx").write_bytes(
            pkcs12.serialize_key_and_certificates(
                b"sign",
                pki.merchant_key,
                pki.merchant_certificate,
                None,
                serialization.BestAvailableEncryption(b"000000"),
            )
        )
        (tmp_path / "root.cer").write_bytes(pki.root.public_bytes(serialization.Encoding.DER))
        settings = UnionPaySettings(
            provider="live",
            merchant_id="898000000000001",
            signing_certificate_path=tmp_path / "sign.pfx",
            signing_certificate_password="000000",  # type: ignore[arg-type]
            root_certificate_path=tmp_path / "root.cer",
            middle_certificate=signing.certificate_pem(pki.middle),
        )
        channel = unionpay_channel(session, settings)
        assert channel.config.cert_id == str(pki.merchant_certificate.serial_number)
        assert channel.config.gateway == "https://gateway.95516.com"
        assert channel.transport is None

    def test_a_wrong_pfx_password_is_reported(self, session, tmp_path):
        pki = sandbox_pki()
        (tmp_path / "sign.pfx").write_bytes(
            pkcs12.serialize_key_and_certificates(
                b"sign",
                pki.merchant_key,
                pki.merchant_certificate,
                None,
                serialization.BestAvailableEncryption(b"1"),
            )
        )
        settings = UnionPaySettings(signing_certificate_path=tmp_path / "sign.pfx")
        with pytest.raises(UnionPayKeyError):
            unionpay_channel(session, settings)


class TestAnswerFormat:
    def test_answers_are_read_as_the_acp_sdk_reads_them(self):
        text = (
            "respCode=00&respMsg=成功[0000000]&reserved={a=1&b=2}"
            "&signPubKeyCert=-----BEGIN CERTIFICATE-----\r\nAB+/=\r\n"
        )
        assert signing.parse_answer(text) == {
            "respCode": "00",
            "respMsg": "成功[0000000]",
            "reserved": "{a=1&b=2}",
            "signPubKeyCert": "-----BEGIN CERTIFICATE-----\r\nAB+/=\r\n",
        }
