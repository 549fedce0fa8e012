"""Alipay payment: the real channel (python-alipay-sdk, RSA2 both ways) against the sandbox gateway, the
sandbox's notifications through the courier, and the refusal of notifications not to be believed."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select

from ihos.integrations.alipay import signing
from ihos.integrations.alipay.sandbox import SANDBOX_APP_ID, SANDBOX_GATEWAY, generated_key
from ihos.integrations.payment.alipay import (
    AlipayKeyError,
    AlipayPayChannel,
    AlipayPaySettings,
    SandboxPaymentError,
    alipay_channel,
    control,
    get_alipay_pay_sandbox,
    parse_bill,
    simulate_payment,
)
from ihos.integrations.payment.alipay.client import ALIPAY_ZONE, AlipayPayConfig
from ihos.integrations.payment.base import (
    ChannelError,
    NotificationRejected,
    Payer,
    PrepayRequest,
    RefundRequest,
)
from ihos.kit.time import clock, now
from ihos.models.sandbox_alipay_unionpay import SandboxAlipayRefund, SandboxAlipayTrade

NOTIFY_URL = "https://ihos.example.cn/api/v1/payments/notifications/alipay"
BUYER = "2088000000000001"


def order_number() -> str:
    return "AP" + secrets.token_hex(8).upper()


def prepay_request(
    number: str | None = None,
    *,
    amount_fen: int = 2501,
    scene: str = "mini_program",
    buyer: str | None = BUYER,
) -> PrepayRequest:
    return PrepayRequest(
        order_number=number or order_number(),
        description="挂号费 内科 张医生",
        amount_fen=amount_fen,
        expires_at=now() + timedelta(minutes=30),
        scene=scene,  # type: ignore[arg-type]
        notify_url=NOTIFY_URL,
        payer=Payer(alipay_user_id=buyer),
    )


def refund_request(number: str, refund_number: str, amount_fen: int, *, total: int = 2501) -> RefundRequest:
    return RefundRequest(
        refund_number=refund_number,
        order_number=number,
        transaction_id=None,
        amount_fen=amount_fen,
        order_total_fen=total,
        reason="患者取消预约",
        notify_url=NOTIFY_URL,
    )


def channel_with(session, *, app_key=None, alipay_public_key=None) -> AlipayPayChannel:
    sandbox = get_alipay_pay_sandbox(session)
    config = AlipayPayConfig(
        app_id=SANDBOX_APP_ID,
        app_private_key=app_key or generated_key("app"),
        alipay_public_key=alipay_public_key or sandbox.alipay_private_key.public_key(),
        gateway=SANDBOX_GATEWAY,
        timeout=5,
    )
    return AlipayPayChannel(
        session, config, transport=sandbox.transport(), on_cashier=sandbox.register_cashier
    )


async def paid_order(session, run_jobs, inbox, *, amount_fen: int = 2501) -> str:
    channel = alipay_channel(session)
    number = order_number()
    await channel.create_prepay(prepay_request(number, amount_fen=amount_fen))
    await simulate_payment(session, number)
    await run_jobs()
    inbox.requests.clear()
    return number


def form(body: bytes) -> dict[str, str]:
    return dict(parse_qsl(body.decode(), keep_blank_values=True))


def resign(params: dict[str, str], key: rsa.RSAPrivateKey | None = None) -> bytes:
    """The notification as the holder of ``key`` (default: the sandbox's Alipay key) would sign it."""
    params = {name: value for name, value in params.items() if name != "sign"}
    content = "&".join(f"{name}={value}" for name, value in sorted(params.items()) if name != "sign_type")
    params["sign"] = signing.sign(key or generated_key("alipay"), content)
    return urlencode(params).encode()


async def trade_row(session, number: str) -> SandboxAlipayTrade:
    return (
        await session.scalars(select(SandboxAlipayTrade).where(SandboxAlipayTrade.out_trade_no == number))
    ).one()


class TestPrepay:
    async def test_it_works(self, session):
        request = prepay_request()
        prepay = await alipay_channel(session).create_prepay(request)

        assert prepay.channel == "alipay"
        assert prepay.params == {"tradeNO": prepay.channel_reference}
        assert prepay.channel_reference is not None and len(prepay.channel_reference) == 28
        trade = await trade_row(session, request.order_number)
        assert (trade.status, trade.total_fen, trade.buyer_id, trade.notify_url) == (
            "WAIT_BUYER_PAY",
            2501,
            BUYER,
            NOTIFY_URL,
        )
        result = await alipay_channel(session).query_payment(request.order_number)
        assert (result.state, result.amount_fen) == ("pending", None)

    async def test_the_request_is_signed_by_the_sdk_with_beijing_time(self, session):
        sandbox = get_alipay_pay_sandbox(session)
        seen: list[httpx.Request] = []

        async def spy(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return await sandbox.handle(request)

        clock.freeze()
        channel = alipay_channel(session)
        channel.transport = httpx.MockTransport(spy)
        request = prepay_request()
        await channel.create_prepay(request)

        (sent,) = seen
        params = dict(sent.url.params)
        assert sent.method == "GET"
        assert params["method"] == "alipay.trade.create"
        assert params["timestamp"] == now().astimezone(ALIPAY_ZONE).strftime("%Y-%m-%d %H:%M:%S")
        assert params["sign_type"] == "RSA2"
        assert params["notify_url"] == NOTIFY_URL
        assert signing.verify(
            generated_key("app").public_key(), signing.signing_string(params), params["sign"]
        )
        biz = json.loads(params["biz_content"])
        assert biz["total_amount"] == "25.01"
        assert biz["product_code"] == "JSAPI_PAY"
        assert biz["buyer_id"] == BUYER
        assert biz["time_expire"] == request.expires_at.astimezone(ALIPAY_ZONE).strftime("%Y-%m-%d %H:%M:%S")

    async def test_h5_gives_the_signed_cashier_url(self, session):
        request = prepay_request(scene="h5", buyer=None)
        prepay = await alipay_channel(session).create_prepay(request)

        assert prepay.url is not None and prepay.url.startswith(SANDBOX_GATEWAY + "?")
        params = dict(parse_qsl(urlsplit(prepay.url).query))
        assert params["method"] == "alipay.trade.wap.pay"
        assert signing.verify(
            generated_key("app").public_key(), signing.signing_string(params), params["sign"]
        )
        biz = json.loads(params["biz_content"])
        assert (biz["product_code"], biz["total_amount"], biz["out_trade_no"]) == (
            "QUICK_WAP_WAY",
            "25.01",
            request.order_number,
        )
        # Alipay knows the trade only once the cashier is opened.
        channel = alipay_channel(session)
        assert (await channel.query_payment(request.order_number)).state == "pending"
        page = await get_alipay_pay_sandbox(session).open_cashier(prepay.url)
        assert "25.01" in page
        assert (await trade_row(session, request.order_number)).is_opened

    async def test_an_unopened_h5_order_can_be_paid(self, session, run_jobs, inbox):
        request = prepay_request(scene="h5", buyer=None)
        await alipay_channel(session).create_prepay(request)
        payment = await simulate_payment(session, request.order_number)

        assert payment.amount_fen == 2501
        assert (await alipay_channel(session).query_payment(request.order_number)).state == "paid"

    async def test_native_gives_a_qr_code(self, session):
        prepay = await alipay_channel(session).create_prepay(prepay_request(scene="native", buyer=None))
        assert prepay.url is not None and prepay.url.startswith("https://qr.alipay.sandbox.ihos.invalid/")
        assert prepay.params == {"qr_code": prepay.url}

    async def test_the_mini_program_needs_the_buyer(self, session):
        with pytest.raises(ChannelError) as caught:
            await alipay_channel(session).create_prepay(prepay_request(buyer=None))
        assert caught.value.code == "ihos.payer_missing"

    async def test_the_same_order_again_gives_the_same_trade(self, session):
        request = prepay_request()
        first = await alipay_channel(session).create_prepay(request)
        second = await alipay_channel(session).create_prepay(request)
        assert first.channel_reference == second.channel_reference

    async def test_the_same_order_with_another_amount_is_refused(self, session):
        request = prepay_request()
        await alipay_channel(session).create_prepay(request)
        with pytest.raises(ChannelError) as caught:
            await alipay_channel(session).create_prepay(prepay_request(request.order_number, amount_fen=1))
        assert caught.value.code == "ACQ.CONTEXT_INCONSISTENT"
        assert not caught.value.retryable


class TestSandboxGateway:
    async def test_it_refuses_a_badly_signed_request(self, session):
        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        with pytest.raises(ChannelError) as caught:
            await channel_with(session, app_key=stranger).create_prepay(prepay_request())
        assert caught.value.code == "isv.invalid-signature"
        assert not caught.value.retryable
        assert await session.scalar(select(func.count()).select_from(SandboxAlipayTrade)) == 0

    async def test_a_forged_answer_is_not_believed(self, session):
        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        with pytest.raises(ChannelError) as caught:
            await channel_with(session, alipay_public_key=stranger.public_key()).create_prepay(
                prepay_request()
            )
        assert caught.value.code == "invalid_response_signature"

    async def test_a_stale_request_is_refused(self, session):
        sandbox = get_alipay_pay_sandbox(session)

        async def late(request: httpx.Request) -> httpx.Response:
            clock.travel(timedelta(minutes=20))
            return await sandbox.handle(request)

        channel = alipay_channel(session)
        channel.transport = httpx.MockTransport(late)
        with pytest.raises(ChannelError) as caught:
            await channel.query_payment("AP0000")
        assert caught.value.code == "isv.invalid-timestamp"


class TestNotifications:
    async def test_simulate_payment_notifies_the_exact_amount(self, session, run_jobs, inbox):
        channel = alipay_channel(session)
        request = prepay_request(amount_fen=2501)
        prepay = await channel.create_prepay(request)
        await simulate_payment(session, request.order_number)
        assert inbox.requests == []  # nothing leaves before the transaction's jobs run

        await run_jobs()
        assert len(inbox.requests) == 1
        (delivered,) = inbox.requests
        assert str(delivered.url) == NOTIFY_URL
        assert delivered.headers["content-type"].startswith("application/x-www-form-urlencoded")
        params = form(delivered.content)
        assert (params["total_amount"], params["trade_status"]) == ("25.01", "TRADE_SUCCESS")

        notification = await channel.parse_notification(dict(delivered.headers), delivered.content)
        assert notification.kind == "payment"
        assert notification.notification_id == params["notify_id"]
        payment = notification.payment
        assert payment is not None
        assert (payment.order_number, payment.state, payment.amount_fen) == (
            request.order_number,
            "paid",
            2501,
        )
        assert payment.transaction_id == prepay.channel_reference
        assert payment.paid_at is not None and payment.paid_at.tzinfo is not None
        assert abs(payment.paid_at - now()) < timedelta(seconds=5)

    async def test_acknowledgements(self, session):
        channel = alipay_channel(session)
        accepted = channel.acknowledge(accepted=True)
        refused = channel.acknowledge(accepted=False)
        assert (accepted.status, accepted.body) == (200, b"success")
        assert (refused.status, refused.body) == (200, b"fail")

    async def test_a_tampered_notification_is_refused(self, session, run_jobs, inbox):
        channel = alipay_channel(session)
        request = prepay_request()
        await channel.create_prepay(request)
        await simulate_payment(session, request.order_number)
        await run_jobs()
        params = form(inbox.bodies[0])
        params["total_amount"] = "0.01"

        with pytest.raises(NotificationRejected, match="signature"):
            await channel.parse_notification({}, urlencode(params).encode())

    async def test_a_wrongly_signed_notification_is_refused(self, session, run_jobs, inbox):
        channel = alipay_channel(session)
        request = prepay_request()
        await channel.create_prepay(request)
        await simulate_payment(session, request.order_number)
        await run_jobs()
        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)

        with pytest.raises(NotificationRejected, match="signature"):
            await channel.parse_notification({}, resign(form(inbox.bodies[0]), stranger))
        params = form(inbox.bodies[0])
        del params["sign"]
        with pytest.raises(NotificationRejected, match="unsigned"):
            await channel.parse_notification({}, urlencode(params).encode())
        params = form(inbox.bodies[0])
        params["sign"] = "not base64!"
        with pytest.raises(NotificationRejected, match="signature"):
            await channel.parse_notification({}, urlencode(params).encode())

    async def test_a_notification_for_another_app_is_refused(self, session, run_jobs, inbox):
        channel = alipay_channel(session)
        request = prepay_request()
        await channel.create_prepay(request)
        await simulate_payment(session, request.order_number)
        await run_jobs()
        params = form(inbox.bodies[0])
        params["app_id"] = "2021000000000001"

        with pytest.raises(NotificationRejected, match="another app"):
            await channel.parse_notification({}, resign(params))

    async def test_a_stale_notification_is_refused(self, session, run_jobs, inbox):
        channel = alipay_channel(session)
        request = prepay_request()
        await channel.create_prepay(request)
        await simulate_payment(session, request.order_number)
        clock.travel(timedelta(hours=27))
        await run_jobs()

        with pytest.raises(NotificationRejected, match="stale"):
            await channel.parse_notification({}, inbox.bodies[0])

    async def test_a_notification_from_the_future_is_refused(self, session, run_jobs, inbox):
        channel = alipay_channel(session)
        request = prepay_request()
        await channel.create_prepay(request)
        await simulate_payment(session, request.order_number)
        await run_jobs()
        params = form(inbox.bodies[0])
        params["notify_time"] = (
            (now() + timedelta(hours=1)).astimezone(ALIPAY_ZONE).strftime("%Y-%m-%d %H:%M:%S")
        )

        with pytest.raises(NotificationRejected, match="future"):
            await channel.parse_notification({}, resign(params))

    async def test_a_replayed_notification_is_refused(self, session, run_jobs, inbox):
        channel = alipay_channel(session)
        request = prepay_request()
        await channel.create_prepay(request)
        await simulate_payment(session, request.order_number)
        await run_jobs()
        body = inbox.bodies[0]

        await channel.parse_notification({}, body)
        with pytest.raises(NotificationRejected, match="replayed"):
            await alipay_channel(session).parse_notification({}, body)

    async def test_a_rolled_back_acceptance_is_forgotten(self, session, run_jobs, inbox):
        """Alipay resends with the same notify_id when the receiver's transaction failed."""
        channel = alipay_channel(session)
        request = prepay_request()
        await channel.create_prepay(request)
        await simulate_payment(session, request.order_number)
        await run_jobs()
        body = inbox.bodies[0]

        async with session.begin_nested() as attempt:
            await channel.parse_notification({}, body)
            await attempt.rollback()
        notification = await channel.parse_notification({}, body)
        assert notification.payment is not None and notification.payment.state == "paid"

    async def test_malformed_bodies_are_refused(self, session):
        channel = alipay_channel(session)
        for body in (b"\xff\xfe", b"a=1&a=2", b"sign=x&sign_type=RSA2&a"):
            with pytest.raises(NotificationRejected):
                await channel.parse_notification({}, body)

    async def test_closing_notifies_the_closed_trade(self, session, run_jobs, inbox):
        channel = alipay_channel(session)
        request = prepay_request()
        await channel.create_prepay(request)
        await channel.close(request.order_number)
        await run_jobs()

        notification = await channel.parse_notification({}, inbox.bodies[0])
        assert notification.payment is not None
        assert (notification.payment.state, notification.payment.amount_fen) == ("closed", None)


class TestQueryCloseRefund:
    async def test_query_after_payment(self, session, run_jobs, inbox):
        number = await paid_order(session, run_jobs, inbox)
        result = await alipay_channel(session).query_payment(number)
        trade = await trade_row(session, number)

        assert (result.state, result.amount_fen, result.transaction_id) == ("paid", 2501, trade.trade_no)
        assert result.paid_at is not None

    async def test_close_an_unpaid_order(self, session):
        channel = alipay_channel(session)
        request = prepay_request()
        await channel.create_prepay(request)

        await channel.close(request.order_number)
        await channel.close(request.order_number)  # again: already closed is fine
        assert (await channel.query_payment(request.order_number)).state == "closed"
        with pytest.raises(SandboxPaymentError):
            await simulate_payment(session, request.order_number)

    async def test_closing_an_unknown_order_is_a_no_op(self, session):
        await alipay_channel(session).close("AP404")

    async def test_a_paid_order_cannot_be_closed(self, session, run_jobs, inbox):
        number = await paid_order(session, run_jobs, inbox)
        with pytest.raises(ChannelError) as caught:
            await alipay_channel(session).close(number)
        assert caught.value.code == "ACQ.TRADE_STATUS_ERROR"
        assert not caught.value.retryable

    async def test_an_expired_order_is_closed(self, session):
        channel = alipay_channel(session)
        request = prepay_request()
        await channel.create_prepay(request)
        clock.travel(timedelta(minutes=31))
        assert (await channel.query_payment(request.order_number)).state == "closed"

    async def test_refund_and_query_refund(self, session, run_jobs, inbox):
        number = await paid_order(session, run_jobs, inbox)
        channel = alipay_channel(session)

        refund = await channel.refund(refund_request(number, "RF" + number, 1000))
        assert (refund.refund_number, refund.state, refund.amount_fen) == ("RF" + number, "succeeded", 1000)
        queried = await channel.query_refund("RF" + number, order_number=number)
        assert (queried.state, queried.amount_fen) == ("succeeded", 1000)
        assert queried.succeeded_at is not None

        await run_jobs()
        params = form(inbox.bodies[0])
        assert (params["out_biz_no"], params["refund_fee"]) == ("RF" + number, "10.00")
        notification = await channel.parse_notification({}, inbox.bodies[0])
        assert notification.kind == "refund"
        assert notification.refund is not None
        assert (notification.refund.refund_number, notification.refund.amount_fen) == ("RF" + number, 1000)

    async def test_a_refund_notification_carries_this_refunds_amount(self, session, run_jobs, inbox):
        """refund_fee is the trade's total refunded; the result is this refund's own amount."""
        number = await paid_order(session, run_jobs, inbox)
        channel = alipay_channel(session)
        await channel.refund(refund_request(number, "RA" + number, 1000))
        await channel.refund(refund_request(number, "RB" + number, 500))
        await run_jobs()

        second = form(inbox.bodies[1])
        assert (second["out_biz_no"], second["refund_fee"]) == ("RB" + number, "15.00")
        notification = await channel.parse_notification({}, inbox.bodies[1])
        assert notification.refund is not None and notification.refund.amount_fen == 500

    async def test_the_refund_number_is_reused_on_retry(self, session, run_jobs, inbox):
        number = await paid_order(session, run_jobs, inbox)
        channel = alipay_channel(session)

        first = await channel.refund(refund_request(number, "RF" + number, 1000))
        again = await channel.refund(refund_request(number, "RF" + number, 1000))

        assert (again.state, again.amount_fen) == (first.state, first.amount_fen)
        trade = await trade_row(session, number)
        await session.refresh(trade)
        assert trade.refunded_fen == 1000
        assert await session.scalar(select(func.count()).select_from(SandboxAlipayRefund)) == 1
        await run_jobs()
        assert len(inbox.requests) == 1

    async def test_a_refund_number_cannot_change_its_amount(self, session, run_jobs, inbox):
        number = await paid_order(session, run_jobs, inbox)
        channel = alipay_channel(session)
        await channel.refund(refund_request(number, "RF" + number, 1000))

        with pytest.raises(ChannelError) as caught:
            await channel.refund(refund_request(number, "RF" + number, 900))
        assert caught.value.code == "ACQ.DISCORDANT_REPEAT_REQUEST"

    async def test_an_over_refund_is_refused_with_alipays_error(self, session, run_jobs, inbox):
        number = await paid_order(session, run_jobs, inbox)
        channel = alipay_channel(session)
        await channel.refund(refund_request(number, "RA" + number, 2000))

        with pytest.raises(ChannelError) as caught:
            await channel.refund(refund_request(number, "RB" + number, 502))
        assert caught.value.code == "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"
        assert caught.value.message == "退款金额超过可退金额"
        assert not caught.value.retryable
        trade = await trade_row(session, number)
        await session.refresh(trade)
        assert trade.refunded_fen == 2000
        assert (await channel.query_refund("RB" + number, order_number=number)).state == "failed"

    async def test_a_full_refund_leaves_the_trade_refunded(self, session, run_jobs, inbox):
        number = await paid_order(session, run_jobs, inbox)
        channel = alipay_channel(session)
        await channel.refund(refund_request(number, "RF" + number, 2501))

        result = await channel.query_payment(number)
        assert (result.state, result.amount_fen) == ("refunded", 2501)
        await run_jobs()
        assert form(inbox.bodies[0])["trade_status"] == "TRADE_CLOSED"
        notification = await channel.parse_notification({}, inbox.bodies[0])
        assert notification.kind == "refund"

    async def test_an_unpaid_order_cannot_be_refunded(self, session):
        channel = alipay_channel(session)
        request = prepay_request()
        await channel.create_prepay(request)
        with pytest.raises(ChannelError) as caught:
            await channel.refund(refund_request(request.order_number, "RF1", 100))
        assert caught.value.code == "ACQ.TRADE_STATUS_ERROR"

    async def test_an_unknown_refund_is_not_found(self, session, run_jobs, inbox):
        number = await paid_order(session, run_jobs, inbox)
        result = await alipay_channel(session).query_refund("RF404", order_number=number)
        assert (result.state, result.amount_fen) == ("failed", 0)


class TestControls:
    @pytest.mark.parametrize(
        ("mode", "code"),
        [("unavailable", "isp.unknow-error"), ("timeout", "timeout"), ("system_error", "ACQ.SYSTEM_ERROR")],
    )
    async def test_failures_are_retryable(self, session, mode, code):
        with control.failing(mode), pytest.raises(ChannelError) as caught:
            await alipay_channel(session).create_prepay(prepay_request())
        assert caught.value.code == code
        assert caught.value.retryable

    async def test_the_failure_setting(self, session):
        settings = AlipayPaySettings.model_validate({"sandbox": {"failure_mode": "unavailable"}})
        with pytest.raises(ChannelError) as caught:
            await alipay_channel(session, settings).query_payment("AP1")
        assert caught.value.code == "isp.unknow-error"

    async def test_duplicated_notifications(self, session, run_jobs, inbox):
        channel = alipay_channel(session)
        request = prepay_request()
        await channel.create_prepay(request)
        with control.duplicating(2):
            await simulate_payment(session, request.order_number)
        await run_jobs()

        first, second = inbox.bodies
        assert first == second
        await channel.parse_notification({}, first)
        with pytest.raises(NotificationRejected, match="replayed"):
            await channel.parse_notification({}, second)

    async def test_delayed_notifications(self, session, run_jobs, inbox):
        request = prepay_request()
        await alipay_channel(session).create_prepay(request)
        with control.delaying(timedelta(minutes=5)):
            await simulate_payment(session, request.order_number)

        await run_jobs()
        assert len(inbox.requests) == 0
        clock.travel(timedelta(minutes=5))
        await run_jobs()
        assert len(inbox.requests) == 1

    async def test_reordered_notifications(self, session, run_jobs, inbox):
        channel = alipay_channel(session)
        request = prepay_request()
        await channel.create_prepay(request)
        with control.reordering():
            await simulate_payment(session, request.order_number)
            await channel.refund(refund_request(request.order_number, "RF1", 100))
        clock.travel(timedelta(minutes=1))
        await run_jobs()

        kinds = [(await channel.parse_notification({}, body)).kind for body in inbox.bodies]
        assert kinds == ["refund", "payment"]

    async def test_dropped_notifications_leave_the_query(self, session, run_jobs, inbox):
        request = prepay_request()
        await alipay_channel(session).create_prepay(request)
        with control.dropping():
            await simulate_payment(session, request.order_number)

        await run_jobs()
        assert len(inbox.requests) == 0
        assert (await alipay_channel(session).query_payment(request.order_number)).state == "paid"

    async def test_paying_another_amount(self, session, run_jobs, inbox):
        channel = alipay_channel(session)
        request = prepay_request(amount_fen=2501)
        await channel.create_prepay(request)
        with control.paying(1):
            await simulate_payment(session, request.order_number)
        await run_jobs()

        notification = await channel.parse_notification({}, inbox.bodies[0])
        assert notification.payment is not None and notification.payment.amount_fen == 1
        assert (await channel.query_payment(request.order_number)).amount_fen == 1

    async def test_an_unacknowledged_notification_is_resent(self, session, run_jobs, inbox):
        request = prepay_request()
        await alipay_channel(session).create_prepay(request)
        await simulate_payment(session, request.order_number)
        inbox.answer = 500
        await run_jobs()
        inbox.answer = 200
        clock.travel(timedelta(hours=1))
        await run_jobs()

        assert len(inbox.requests) == 2
        assert inbox.bodies[0] == inbox.bodies[1]


class TestStatement:
    async def test_the_downloaded_bill_parses(self, session, run_jobs, inbox):
        # Mid-morning, so that the payment and the refund fall on the same Beijing day.
        clock.freeze(now().astimezone(ALIPAY_ZONE).replace(hour=10, minute=0) - timedelta(days=2))
        number = await paid_order(session, run_jobs, inbox)
        channel = alipay_channel(session)
        await channel.refund(refund_request(number, "RF" + number, 1000))
        day = now().astimezone(ALIPAY_ZONE).date()
        clock.travel(timedelta(days=1))

        lines = parse_bill(await channel.download_statement(day))

        trade = await trade_row(session, number)
        payment, refund = lines
        assert (payment.kind, payment.order_number, payment.transaction_id) == (
            "交易",
            number,
            trade.trade_no,
        )
        assert (payment.order_amount_fen, payment.received_fen) == (2501, 2501)
        assert payment.subject == "挂号费 内科 张医生"
        assert payment.finished_at is not None and payment.finished_at.tzinfo is not None
        assert (refund.kind, refund.received_fen, refund.refund_number) == ("退款", -1000, "RF" + number)

    async def test_a_day_without_business_gives_an_empty_bill(self, session):
        day = now().astimezone(ALIPAY_ZONE).date() - timedelta(days=3)
        assert parse_bill(await alipay_channel(session).download_statement(day)) == []

    async def test_todays_bill_does_not_exist_yet(self, session):
        with pytest.raises(ChannelError) as caught:
            await alipay_channel(session).download_statement(now().astimezone(ALIPAY_ZONE).date())
        assert caught.value.code == "isp.bill_not_exist"
        assert caught.value.retryable


class TestSettings:
    def test_live_needs_an_app_id_and_keys(self, session):
        with pytest.raises(AlipayKeyError):
            alipay_channel(session, AlipayPaySettings(provider="live"))
        with pytest.raises(AlipayKeyError):
            alipay_channel(session, AlipayPaySettings(provider="live", app_id="2021000000000001"))

    def test_live_reads_keys_from_files(self, session, tmp_path):
        app_key = generated_key("app")
        alipay_key = generated_key("alipay").public_key()
        from cryptography.hazmat.primitives import serialization

        (tmp_path / "app.pem").write_bytes(
            app_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        settings = AlipayPaySettings(
            provider="live",
            app_id="2021000000000001",
            app_private_key_path=tmp_path / "app.pem",
            alipay_public_key=signing.public_key_text(alipay_key),
        )
        channel = alipay_channel(session, settings)
        assert channel.transport is None
        assert channel.config.gateway == "https://openapi.alipay.com/gateway.do"
