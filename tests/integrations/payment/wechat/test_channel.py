"""The WeChat Pay channel against the sandbox, over the real SDK and wire protocol: prepay, query,
close, refund and refund query, the request signature both ways, and the errors."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from ihos.integrations.payment.base import ChannelError, Payer
from ihos.integrations.payment.wechat import WeChatPayChannel, control, wire
from ihos.integrations.payment.wechat.channel import DatabaseNonceStore, PlatformKey
from ihos.integrations.payment.wechat.sandbox import (
    SANDBOX_GATEWAY,
    SANDBOX_H5_CASHIER,
    generated_key,
    sandbox_merchant,
)
from ihos.kit.time import clock
from ihos.models.sandbox_wechat_pay import SandboxWeChatPayRefund, SandboxWeChatPayTransaction
from tests.integrations.payment.wechat.helpers import (
    NOTIFY_URL,
    OPENID,
    order_number,
    paid_order,
    prepay_request,
    refund_request,
)


def spy_on(sandbox) -> list[httpx.Request]:
    """Record every request the sandbox receives."""
    seen: list[httpx.Request] = []
    handle = sandbox.handle

    async def spy(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return await handle(request)

    sandbox.handle = spy
    return seen


async def ledger_rows(session, model) -> int:
    return await session.scalar(select(func.count()).select_from(model))


class TestMiniProgramPrepay:
    async def test_it_works(self, channel):
        prepay = await channel.create_prepay(prepay_request())

        assert prepay.channel == "wechat"
        assert prepay.channel_reference.startswith("wx")
        assert set(prepay.params) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
        assert prepay.params["package"] == f"prepay_id={prepay.channel_reference}"
        assert prepay.params["signType"] == "RSA"
        assert prepay.params["appId"] == channel.config.appid
        assert prepay.url is None

    async def test_pay_sign_verifies_with_the_merchant_public_key(self, channel):
        clock.freeze()
        params = (await channel.create_prepay(prepay_request())).params

        assert params["timeStamp"] == str(int(clock.now().timestamp()))
        assert len(params["nonceStr"]) == 32
        message = wire.signed_message(
            params["appId"], params["timeStamp"], params["nonceStr"], params["package"]
        )
        merchant_public_key = channel.config.private_key.public_key()
        assert wire.verify(merchant_public_key, message, params["paySign"])
        assert not wire.verify(generated_key("other").public_key(), message, params["paySign"])

    async def test_the_request_is_shaped_and_signed_as_wechat_expects(self, channel, sandbox):
        seen = spy_on(sandbox)
        request = prepay_request()
        await channel.create_prepay(request)

        (sent,) = seen
        assert sent.method == "POST"
        assert str(sent.url) == f"{SANDBOX_GATEWAY}/v3/pay/transactions/jsapi"
        body = json.loads(sent.content)
        assert body == {
            "notify_url": NOTIFY_URL,
            "description": request.description,
            "out_trade_no": request.order_number,
            "amount": {"total": 2500, "currency": "CNY"},
            "payer": {"openid": OPENID},
            "time_expire": wire.format_time(request.expires_at),
            "appid": channel.config.appid,
            "mchid": channel.config.mchid,
        }
        assert body["time_expire"].endswith("+08:00")
        scheme, _, fields = sent.headers["Authorization"].partition(" ")
        assert scheme == "WECHATPAY2-SHA256-RSA2048"
        assert f'mchid="{channel.config.mchid}"' in fields
        assert f'serial_no="{channel.config.certificate_serial}"' in fields
        assert sent.headers["Wechatpay-Serial"] == (await sandbox.platform_key()).key_id
        assert sent.headers["Accept"] == "application/json"

    async def test_the_same_order_again_gets_the_same_prepay_id(self, channel, session):
        request = prepay_request()
        first = await channel.create_prepay(request)
        again = await channel.create_prepay(request)

        assert again.channel_reference == first.channel_reference
        assert again.params["paySign"] != first.params["paySign"]  # a fresh nonce each time
        assert await ledger_rows(session, SandboxWeChatPayTransaction) == 1

    async def test_the_same_order_number_with_another_amount_is_refused(self, channel):
        request = prepay_request()
        await channel.create_prepay(request)
        with pytest.raises(ChannelError) as refused:
            await channel.create_prepay(prepay_request(request.order_number, amount_fen=2600))

        assert refused.value.code == "OUT_TRADE_NO_USED"
        assert not refused.value.retryable

    async def test_without_an_openid_nothing_is_sent(self, channel, sandbox, session):
        seen = spy_on(sandbox)
        with pytest.raises(ChannelError) as refused:
            await channel.create_prepay(prepay_request(payer=Payer()))

        assert refused.value.code == "PARAM_ERROR"
        assert seen == []
        assert await ledger_rows(session, SandboxWeChatPayTransaction) == 0

    async def test_an_order_number_wechat_would_refuse_is_not_sent(self, channel, sandbox):
        seen = spy_on(sandbox)
        with pytest.raises(ChannelError) as refused:
            await channel.create_prepay(prepay_request("BAD NUMBER!"))

        assert refused.value.code == "PARAM_ERROR"
        assert seen == []

    async def test_an_expired_time_is_refused_by_wechat(self, channel):
        with pytest.raises(ChannelError) as refused:
            await channel.create_prepay(prepay_request(expires_in=-timedelta(minutes=1)))

        assert refused.value.code == "INVALID_REQUEST"
        assert not refused.value.retryable

    async def test_insurance_is_not_a_wechat_pay_matter(self, channel):
        from ihos.integrations.payment.base import InsuranceClaim

        request = prepay_request()
        claim = InsuranceClaim(insured_name="张三", insured_id_number="x", medical_type="11", fee_lines=())
        with pytest.raises(ChannelError) as refused:
            await channel.create_prepay(type(request)(**{**request.__dict__, "insurance": claim}))

        assert refused.value.code == "PARAM_ERROR"


class TestH5AndNativePrepay:
    async def test_h5_gives_the_cashier_url(self, channel, sandbox):
        seen = spy_on(sandbox)
        prepay = await channel.create_prepay(
            prepay_request(scene="h5", payer=Payer(client_address="203.0.113.10"))
        )

        assert prepay.url.startswith(f"{SANDBOX_H5_CASHIER}?prepay_id=")
        assert prepay.channel_reference and prepay.channel_reference in prepay.url
        assert prepay.params == {}
        (sent,) = seen
        assert sent.url.path == "/v3/pay/transactions/h5"
        assert json.loads(sent.content)["scene_info"] == {
            "payer_client_ip": "203.0.113.10",
            "h5_info": {"type": "Wap"},
        }

    async def test_h5_needs_the_payer_address(self, channel):
        with pytest.raises(ChannelError) as refused:
            await channel.create_prepay(prepay_request(scene="h5", payer=Payer()))

        assert refused.value.code == "PARAM_ERROR"

    async def test_native_gives_the_code_url(self, channel):
        prepay = await channel.create_prepay(prepay_request(scene="native", payer=Payer()))

        assert prepay.url.startswith("weixin://wxpay/bizpayurl?pr=")


class TestSignatures:
    async def test_a_request_signed_with_another_key_is_refused(self, session, sandbox):
        impostor = sandbox_merchant(private_key=generated_key("impostor"))
        channel = WeChatPayChannel(impostor, counterpart=sandbox, nonces=DatabaseNonceStore(session))
        with pytest.raises(ChannelError) as refused:
            await channel.create_prepay(prepay_request())

        assert refused.value.code == "SIGN_ERROR"
        assert not refused.value.retryable
        assert await ledger_rows(session, SandboxWeChatPayTransaction) == 0

    async def test_a_request_under_another_certificate_serial_is_refused(self, session, sandbox):
        other_serial = sandbox_merchant(certificate_serial="0" * 40)
        channel = WeChatPayChannel(other_serial, counterpart=sandbox, nonces=DatabaseNonceStore(session))
        with pytest.raises(ChannelError) as refused:
            await channel.query_payment(order_number())

        assert refused.value.code == "SIGN_ERROR"

    async def test_a_body_changed_after_signing_is_refused(self, sandbox):
        from wechatpayv3.utils import build_authorization

        merchant = sandbox.merchant
        path = "/v3/pay/transactions/out-trade-no/WX0000000001/close"
        signed_body = json.dumps({"mchid": merchant.mchid})
        authorization = build_authorization(
            path, "POST", merchant.mchid, merchant.certificate_serial, merchant.private_key, data=signed_body
        )
        async with httpx.AsyncClient(transport=sandbox.transport(), base_url=SANDBOX_GATEWAY) as http:
            honest = await http.post(path, content=signed_body, headers={"Authorization": authorization})
            tampered = await http.post(
                path, content=json.dumps({"mchid": "1900000001"}), headers={"Authorization": authorization}
            )

        assert honest.json()["code"] == "ORDER_NOT_EXIST"  # authenticated, and there is no such order
        assert tampered.status_code == 401
        assert tampered.json()["code"] == "SIGN_ERROR"

    async def test_a_stale_authorization_is_refused(self, sandbox):
        import time

        merchant = sandbox.merchant
        path = f"/v3/pay/transactions/out-trade-no/WX0000000001?mchid={merchant.mchid}"
        timestamp, nonce = str(int(time.time()) - 301), "N" * 32
        signature = wire.sign(merchant.private_key, wire.signed_message("GET", path, timestamp, nonce, ""))
        authorization = (
            f'WECHATPAY2-SHA256-RSA2048 mchid="{merchant.mchid}",nonce_str="{nonce}",signature="{signature}",'
            f'timestamp="{timestamp}",serial_no="{merchant.certificate_serial}"'
        )
        async with httpx.AsyncClient(transport=sandbox.transport(), base_url=SANDBOX_GATEWAY) as http:
            answer = await http.get(path, headers={"Authorization": authorization})

        assert answer.status_code == 401
        assert answer.json()["code"] == "SIGN_ERROR"

    async def test_answers_are_signed_with_the_platform_key(self, sandbox):
        async with httpx.AsyncClient(transport=sandbox.transport(), base_url=SANDBOX_GATEWAY) as http:
            answer = await http.get("/v3/pay/transactions/out-trade-no/WX0000000001")  # unsigned: refused

        platform = await sandbox.platform_key()
        assert answer.headers["Wechatpay-Serial"] == platform.key_id
        message = wire.signed_message(
            answer.headers["Wechatpay-Timestamp"], answer.headers["Wechatpay-Nonce"], answer.content
        )
        assert wire.verify(platform.public_key, message, answer.headers["Wechatpay-Signature"])

    async def test_an_answer_not_signed_by_wechat_pay_is_not_believed(self, session, sandbox):
        class ForgedAnswers:
            gateway = sandbox.gateway

            async def platform_key(self) -> PlatformKey:
                real = await sandbox.platform_key()  # the right id, the wrong key
                return PlatformKey(real.key_id, generated_key("forger").public_key())

            def adapter(self, loop):
                return sandbox.adapter(loop)

        channel = WeChatPayChannel(
            sandbox.merchant, counterpart=ForgedAnswers(), nonces=DatabaseNonceStore(session)
        )
        with pytest.raises(ChannelError) as refused:
            await channel.create_prepay(prepay_request())

        assert refused.value.code == "invalid_response_signature"


class TestQueryAndClose:
    async def test_an_unpaid_order_is_pending(self, channel):
        request = prepay_request()
        await channel.create_prepay(request)
        result = await channel.query_payment(request.order_number)

        assert result.state == "pending"
        assert result.amount_fen is None
        assert result.transaction_id is None
        assert result.raw["trade_state"] == "NOTPAY"

    async def test_a_paid_order_says_what_was_paid(self, channel, sandbox):
        clock.freeze()
        paid = await paid_order(channel, sandbox)
        result = await channel.query_payment(paid.order_number)

        assert result.state == "paid"
        assert result.amount_fen == 2500
        assert result.transaction_id == paid.transaction_id
        assert result.paid_at == clock.now().replace(microsecond=0)
        assert result.raw["payer"] == {"openid": OPENID}

    async def test_an_order_wechat_never_saw_is_not_found(self, channel):
        with pytest.raises(ChannelError) as refused:
            await channel.query_payment(order_number())

        assert refused.value.code == "ORDER_NOT_EXIST"
        assert not refused.value.retryable

    async def test_close_an_unpaid_order(self, channel, sandbox):
        from ihos.integrations.payment.wechat import SandboxRefused

        request = prepay_request()
        await channel.create_prepay(request)
        await channel.close(request.order_number)
        await channel.close(request.order_number)  # again: nothing to do

        assert (await channel.query_payment(request.order_number)).state == "closed"
        with pytest.raises(SandboxRefused):
            await sandbox.simulate_payment(request.order_number)
        with pytest.raises(ChannelError) as refused:
            await channel.create_prepay(request)
        assert refused.value.code == "ORDER_CLOSED"

    async def test_closing_a_paid_order_is_refused(self, channel, sandbox):
        paid = await paid_order(channel, sandbox)
        with pytest.raises(ChannelError) as refused:
            await channel.close(paid.order_number)

        assert refused.value.code == "ORDERPAID"
        assert (await channel.query_payment(paid.order_number)).state == "paid"

    async def test_closing_an_order_wechat_never_saw_is_done(self, channel):
        await channel.close(order_number())


class TestRefund:
    async def test_it_works(self, channel, sandbox):
        paid = await paid_order(channel, sandbox)
        result = await channel.refund(refund_request(paid.order_number, "RF" + paid.order_number))

        assert result.refund_number == "RF" + paid.order_number
        assert result.state == "processing"
        assert result.amount_fen == 1000
        assert result.channel_refund_id.startswith("50")
        queried = await channel.query_refund(result.refund_number, order_number=paid.order_number)
        assert queried.state == "succeeded"
        assert queried.succeeded_at is not None
        assert queried.channel_refund_id == result.channel_refund_id
        assert (await channel.query_payment(paid.order_number)).state == "refunded"

    async def test_the_refund_request_is_shaped_as_wechat_expects(self, channel, sandbox):
        paid = await paid_order(channel, sandbox)
        seen = spy_on(sandbox)
        await channel.refund(refund_request(paid.order_number, "RF1"))

        (sent,) = seen
        assert sent.url.path == "/v3/refund/domestic/refunds"
        assert json.loads(sent.content) == {
            "notify_url": NOTIFY_URL + "/refunds",
            "out_refund_no": "RF1",
            "amount": {"refund": 1000, "total": 2500, "currency": "CNY"},
            "out_trade_no": paid.order_number,
            "reason": "患者取消问诊",
        }

    async def test_the_same_refund_number_gives_the_same_refund(self, channel, sandbox, session):
        paid = await paid_order(channel, sandbox)
        first = await channel.refund(refund_request(paid.order_number, "RF1"))
        again = await channel.refund(refund_request(paid.order_number, "RF1"))

        assert again.channel_refund_id == first.channel_refund_id
        assert again.amount_fen == 1000
        assert await ledger_rows(session, SandboxWeChatPayRefund) == 1
        transaction = await session.scalar(select(SandboxWeChatPayTransaction))
        assert transaction.refunded_fen == 1000

    async def test_a_retry_after_a_lost_answer_finds_the_refund(self, channel, sandbox, session):
        paid = await paid_order(channel, sandbox)
        control.time_out_next(operation="refund", after_processing=True)
        with pytest.raises(ChannelError) as lost:
            await channel.refund(refund_request(paid.order_number, "RF1"))
        assert lost.value.code == "timeout"
        assert lost.value.retryable

        retried = await channel.refund(refund_request(paid.order_number, "RF1"))
        assert retried.amount_fen == 1000
        assert await ledger_rows(session, SandboxWeChatPayRefund) == 1

    async def test_the_same_number_for_another_amount_is_refused(self, channel, sandbox):
        paid = await paid_order(channel, sandbox)
        await channel.refund(refund_request(paid.order_number, "RF1"))
        with pytest.raises(ChannelError) as refused:
            await channel.refund(refund_request(paid.order_number, "RF1", amount_fen=900))

        assert refused.value.code == "INVALID_REQUEST"

    async def test_more_than_was_paid_is_refused(self, channel, sandbox, session):
        paid = await paid_order(channel, sandbox)
        with pytest.raises(ChannelError) as refused:
            await channel.refund(refund_request(paid.order_number, "RF1", amount_fen=2501))

        assert refused.value.code == "INVALID_REQUEST"
        assert not refused.value.retryable
        assert await ledger_rows(session, SandboxWeChatPayRefund) == 0

    async def test_partial_refunds_stop_at_what_was_paid(self, channel, sandbox):
        paid = await paid_order(channel, sandbox)
        await channel.refund(refund_request(paid.order_number, "RF1", amount_fen=2000))
        with pytest.raises(ChannelError) as refused:
            await channel.refund(refund_request(paid.order_number, "RF2", amount_fen=501))
        assert refused.value.code == "INVALID_REQUEST"

        last = await channel.refund(refund_request(paid.order_number, "RF3", amount_fen=500))
        assert last.amount_fen == 500

    async def test_an_unpaid_order_cannot_be_refunded(self, channel):
        request = prepay_request()
        await channel.create_prepay(request)
        with pytest.raises(ChannelError) as refused:
            await channel.refund(refund_request(request.order_number, "RF1"))

        assert refused.value.code == "INVALID_REQUEST"

    async def test_a_refund_takes_its_time(self, channel, sandbox):
        paid = await paid_order(channel, sandbox)
        with control.refunding(delay=timedelta(minutes=10)):
            await channel.refund(refund_request(paid.order_number, "RF1"))

        query = channel.query_refund
        assert (await query("RF1", order_number=paid.order_number)).state == "processing"
        clock.travel(timedelta(minutes=10))
        assert (await query("RF1", order_number=paid.order_number)).state == "succeeded"

    async def test_a_closed_refund_fails_and_frees_the_amount(self, channel, sandbox):
        paid = await paid_order(channel, sandbox)
        with control.refunding(outcome="CLOSED"):
            await channel.refund(refund_request(paid.order_number, "RF1", amount_fen=2500))

        closed = await channel.query_refund("RF1", order_number=paid.order_number)
        assert closed.state == "failed"
        assert closed.raw["status"] == "CLOSED"
        again = await channel.refund(refund_request(paid.order_number, "RF2", amount_fen=2500))
        assert again.amount_fen == 2500

    async def test_an_abnormal_refund_stays_processing(self, channel, sandbox):
        paid = await paid_order(channel, sandbox)
        with control.refunding(outcome="ABNORMAL"):
            await channel.refund(refund_request(paid.order_number, "RF1"))

        abnormal = await channel.query_refund("RF1", order_number=paid.order_number)
        assert abnormal.state == "processing"
        assert abnormal.raw["status"] == "ABNORMAL"

    async def test_an_unknown_refund_is_not_found(self, channel):
        with pytest.raises(ChannelError) as refused:
            await channel.query_refund("RF404", order_number=order_number())

        assert refused.value.code == "RESOURCE_NOT_EXISTS"

    async def test_a_refund_of_another_order_is_not_believed(self, channel, sandbox):
        paid = await paid_order(channel, sandbox)
        await channel.refund(refund_request(paid.order_number, "RF1"))
        with pytest.raises(ChannelError) as refused:
            await channel.query_refund("RF1", order_number=order_number())

        assert refused.value.code == "bad_response"

    async def test_refund_numbers_with_wechat_punctuation_travel_in_the_path(self, channel, sandbox):
        paid = await paid_order(channel, sandbox)
        await channel.refund(refund_request(paid.order_number, "RF|1@a"))
        queried = await channel.query_refund("RF|1@a", order_number=paid.order_number)

        assert queried.refund_number == "RF|1@a"


class TestFailures:
    @pytest.mark.parametrize("code", ["SYSTEM_ERROR", "FREQUENCY_LIMITED"])
    async def test_busy_wechat_is_retryable(self, channel, code):
        control.fail_next(code)
        with pytest.raises(ChannelError) as failed:
            await channel.create_prepay(prepay_request())

        assert failed.value.code == code
        assert failed.value.retryable

    async def test_a_refusal_is_not_retryable(self, channel, sandbox):
        paid = await paid_order(channel, sandbox)
        control.fail_next("NOT_ENOUGH", operation="refund")
        with pytest.raises(ChannelError) as failed:
            await channel.refund(refund_request(paid.order_number, "RF1"))

        assert failed.value.code == "NOT_ENOUGH"
        assert not failed.value.retryable

    async def test_the_next_call_only(self, channel):
        request = prepay_request()
        control.fail_next()
        with pytest.raises(ChannelError):
            await channel.create_prepay(request)

        assert (await channel.create_prepay(request)).channel_reference

    async def test_a_failure_for_one_operation_waits_for_it(self, channel, sandbox):
        paid = await paid_order(channel, sandbox)
        control.fail_next("SYSTEM_ERROR", operation="query_refund")
        await channel.refund(refund_request(paid.order_number, "RF1"))
        await channel.query_payment(paid.order_number)
        with pytest.raises(ChannelError) as failed:
            await channel.query_refund("RF1", order_number=paid.order_number)

        assert failed.value.code == "SYSTEM_ERROR"

    async def test_a_timeout_before_wechat_saw_the_request(self, channel, session):
        request = prepay_request()
        control.time_out_next()
        with pytest.raises(ChannelError) as failed:
            await channel.create_prepay(request)

        assert failed.value.code == "timeout"
        assert failed.value.retryable
        assert await ledger_rows(session, SandboxWeChatPayTransaction) == 0

    async def test_a_failure_mode_holds_until_switched_off(self, channel):
        with control.failing("system_error"):
            for _ in range(2):
                with pytest.raises(ChannelError):
                    await channel.query_payment(order_number())
        with pytest.raises(ChannelError) as after:
            await channel.query_payment(order_number())
        assert after.value.code == "ORDER_NOT_EXIST"

    async def test_the_failure_mode_setting(self, session):
        from ihos.integrations.payment.wechat import WeChatPaySettings, wechat_pay_channel

        settings = WeChatPaySettings.model_validate({"sandbox": {"failure_mode": "timeout"}})
        with pytest.raises(ChannelError) as failed:
            await wechat_pay_channel(session, settings).query_payment(order_number())

        assert failed.value.code == "timeout"
