"""The sandbox SMS gateway: a fake Aliyun that the real client talks to, with an inbox, carrier
limits and failures on demand."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, text

from ihos.integrations.settings import SmsSandboxSettings, SmsSettings
from ihos.integrations.sms import SmsError, get_sms_gateway, list_inbox
from ihos.integrations.sms.aliyun import AliyunSmsConfig, AliyunSmsGateway
from ihos.integrations.sms.sandbox import (
    SANDBOX_ACCESS_KEY_ID,
    SANDBOX_TEMPLATE_CODES,
    AliyunSmsSandbox,
    control,
    sandbox_config,
)
from ihos.kit.time import clock
from ihos.models.sandbox import SandboxSmsMessage

PHONE = "13900000001"


def sms_settings(**sandbox: object) -> SmsSettings:
    return SmsSettings(provider="sandbox", sandbox=SmsSandboxSettings(**sandbox))


async def send_code(session, phone: str = PHONE, code: str = "123456", **sandbox: object):
    return await get_sms_gateway(session, settings=sms_settings(**sandbox)).send(
        phone, "verification_code", {"code": code}
    )


async def inbox_size(session) -> int:
    return await session.scalar(select(func.count()).select_from(SandboxSmsMessage))


class TestInbox:
    async def test_it_works(self, session):
        receipt = await send_code(session, code="654321")

        (message,) = await list_inbox(session, phone=PHONE)
        assert message.text == "【ihos互联网医院】您的验证码为654321，5分钟内有效，请勿泄露给他人。"
        assert message.phone_masked == "139****0001"
        assert message.template == "verification_code"
        assert message.params == {"code": "654321"}
        assert message.message_id == receipt.message_id
        assert receipt.message_id.endswith("^0")

    async def test_the_number_is_stored_encrypted_and_found_by_its_blind_index(self, session):
        await send_code(session)
        raw = (await session.execute(text("SELECT phone, phone_index FROM sandbox_sms_messages"))).one()
        assert PHONE not in raw.phone
        assert PHONE not in raw.phone_index
        stored = await session.scalar(select(SandboxSmsMessage))
        assert stored.phone == PHONE

    async def test_inbox_filters_by_number_in_any_spelling(self, session):
        await send_code(session, phone=PHONE)
        await send_code(session, phone="13900000002")
        for spelling in (PHONE, "+8613900000001", "139 0000 0001"):
            assert [m.phone_masked for m in await list_inbox(session, phone=spelling)] == ["139****0001"]
        assert len(await list_inbox(session)) == 2
        assert await list_inbox(session, phone="12345") == []

    async def test_inbox_is_newest_first_and_limited(self, session):
        clock.freeze()
        for number in ("13900000001", "13900000002", "13900000003"):
            await send_code(session, phone=number)
            clock.travel(timedelta(seconds=1))
        inbox = await list_inbox(session, limit=2)
        assert [m.phone_masked for m in inbox] == ["139****0003", "139****0002"]

    async def test_prefixed_numbers_are_accepted_as_aliyun_does(self, session):
        await send_code(session, phone="+8613900000001")
        await send_code(session, phone="008613900000002")
        assert {m.phone_masked for m in await list_inbox(session)} == {"139****0001", "139****0002"}

    async def test_every_template_renders_with_the_signature(self, session):
        sms = get_sms_gateway(session, settings=sms_settings())
        await sms.send(PHONE, "temporary_password", {"password": "Xy7#pq2k"})
        await sms.send("13900000002", "notice", {"text": "您预约的门诊将于明天上午9:00开始。"})
        texts = {m.template: m.text for m in await list_inbox(session)}
        assert texts == {
            "temporary_password": (
                "【ihos互联网医院】您的临时密码为Xy7#pq2k，请登录后立即修改密码，请勿泄露给他人。"
            ),
            "notice": "【ihos互联网医院】您预约的门诊将于明天上午9:00开始。",
        }


class TestRefusals:
    @pytest.mark.parametrize("phone", ["1390000000", "139000000011", "12900000001", "2390000000a", ""])
    async def test_malformed_numbers_are_illegal(self, session, phone):
        with pytest.raises(SmsError) as refused:
            await send_code(session, phone=phone)
        assert (refused.value.code, refused.value.retryable) == ("isv.MOBILE_NUMBER_ILLEGAL", False)
        assert await inbox_size(session) == 0

    async def test_wrong_secret_fails_the_signature_check(self, session):
        sandbox = AliyunSmsSandbox(session, settings=SmsSandboxSettings())
        wrong = AliyunSmsConfig(
            access_key_id=SANDBOX_ACCESS_KEY_ID,
            access_key_secret="not-the-secret",
            template_codes=SANDBOX_TEMPLATE_CODES,
            endpoint=sandbox.config.endpoint,
        )
        client = AliyunSmsGateway(wrong, timeout=1, transport=sandbox.transport())
        with pytest.raises(SmsError) as refused:
            await client.send(PHONE, "verification_code", {"code": "123456"})
        assert refused.value.code == "SignatureDoesNotMatch"
        assert await inbox_size(session) == 0

    async def test_unknown_access_key(self, session):
        sandbox = AliyunSmsSandbox(session, settings=SmsSandboxSettings())
        config = sandbox_config()
        stranger = AliyunSmsConfig(
            access_key_id="LTAIstranger",
            access_key_secret=config.access_key_secret,
            template_codes=config.template_codes,
            endpoint=config.endpoint,
        )
        with pytest.raises(SmsError) as refused:
            await AliyunSmsGateway(stranger, timeout=1, transport=sandbox.transport()).send(
                PHONE, "verification_code", {"code": "123456"}
            )
        assert refused.value.code == "InvalidAccessKeyId.NotFound"

    async def test_a_request_signed_too_long_ago_is_expired(self, session):
        sandbox = AliyunSmsSandbox(session, settings=SmsSandboxSettings())
        client = AliyunSmsGateway(sandbox.config, timeout=1, transport=sandbox.transport())
        params = client.signed_params(PHONE, SANDBOX_TEMPLATE_CODES["verification_code"], {"code": "123456"})
        clock.travel(timedelta(minutes=16))
        response = await sandbox.handle(httpx.Request("POST", sandbox.config.endpoint, data=params))
        assert (response.status_code, response.json()["Code"]) == (400, "InvalidTimeStamp.Expired")

    async def test_a_tampered_request_fails_the_signature_check(self, session):
        sandbox = AliyunSmsSandbox(session, settings=SmsSandboxSettings())
        client = AliyunSmsGateway(sandbox.config, timeout=1, transport=sandbox.transport())
        params = client.signed_params(PHONE, SANDBOX_TEMPLATE_CODES["verification_code"], {"code": "123456"})
        params["PhoneNumbers"] = "13900000009"
        response = await sandbox.handle(httpx.Request("POST", sandbox.config.endpoint, data=params))
        assert (response.status_code, response.json()["Code"]) == (400, "SignatureDoesNotMatch")

    async def test_unregistered_template_code(self, session):
        sandbox = AliyunSmsSandbox(session, settings=SmsSandboxSettings())
        config = sandbox_config()
        other = AliyunSmsConfig(
            access_key_id=config.access_key_id,
            access_key_secret=config.access_key_secret,
            template_codes={"verification_code": "SMS_123"},
            endpoint=config.endpoint,
        )
        with pytest.raises(SmsError) as refused:
            await AliyunSmsGateway(other, timeout=1, transport=sandbox.transport()).send(
                PHONE, "verification_code", {"code": "123456"}
            )
        assert refused.value.code == "isv.SMS_TEMPLATE_ILLEGAL"


class TestFlowControl:
    async def test_one_verification_message_per_minute(self, session):
        clock.freeze()
        await send_code(session)
        clock.travel(timedelta(seconds=59))
        with pytest.raises(SmsError) as refused:
            await send_code(session)
        assert (refused.value.code, refused.value.retryable) == ("isv.BUSINESS_LIMIT_CONTROL", False)
        clock.travel(timedelta(seconds=2))
        await send_code(session)
        assert await inbox_size(session) == 2

    async def test_five_per_hour(self, session):
        clock.freeze()
        for _ in range(5):
            await send_code(session)
            clock.travel(timedelta(minutes=2))
        with pytest.raises(SmsError, match="过于频繁"):
            await send_code(session)
        clock.travel(timedelta(minutes=51))
        await send_code(session)

    async def test_ten_per_natural_day(self, session):
        # 00:30 in Beijing; eleven sends an hour apart cross no midnight.
        clock.freeze(clock.now().replace(hour=16, minute=30, second=0, microsecond=0))
        for _ in range(10):
            await send_code(session)
            clock.travel(timedelta(hours=1, minutes=1))
        with pytest.raises(SmsError):
            await send_code(session)
        clock.travel(timedelta(hours=14))  # past midnight in Beijing
        await send_code(session)

    async def test_limits_are_per_number(self, session):
        clock.freeze()
        await send_code(session, phone="13900000001")
        await send_code(session, phone="13900000002")
        assert await inbox_size(session) == 2

    async def test_notices_are_not_held_to_the_verification_limits(self, session):
        clock.freeze()
        sms = get_sms_gateway(session, settings=sms_settings(notice_per_day=3))
        await send_code(session)
        for _ in range(3):
            await sms.send(PHONE, "notice", {"text": "提醒"})
        with pytest.raises(SmsError) as refused:
            await sms.send(PHONE, "notice", {"text": "提醒"})
        assert refused.value.code == "isv.BUSINESS_LIMIT_CONTROL"

    async def test_limits_come_from_the_settings(self, session):
        clock.freeze()
        for _ in range(3):
            await send_code(session, verification_per_minute=3)
        with pytest.raises(SmsError):
            await send_code(session, verification_per_minute=3)


class TestFailureModes:
    @pytest.mark.parametrize(
        ("mode", "code", "retryable"),
        [
            ("unavailable", "ServiceUnavailable", True),
            ("timeout", "timeout", True),
            ("reject", "isv.OUT_OF_SERVICE", False),
        ],
    )
    async def test_from_the_settings(self, session, mode, code, retryable):
        with pytest.raises(SmsError) as failed:
            await send_code(session, failure_mode=mode)
        assert (failed.value.code, failed.value.retryable) == (code, retryable)
        assert await inbox_size(session) == 0

    async def test_from_the_control_object(self, session):
        with control.failing("timeout"), pytest.raises(SmsError) as failed:
            await send_code(session)
        assert failed.value.code == "timeout"
        await send_code(session)
        assert await inbox_size(session) == 1

    @pytest.mark.parametrize(
        ("phone", "code", "retryable"),
        [
            ("19900000001", "isp.SYSTEM_ERROR", True),
            ("19900000002", "timeout", True),
            ("19900000003", "isv.OUT_OF_SERVICE", False),
        ],
    )
    async def test_reserved_numbers_always_fail(self, session, phone, code, retryable):
        with pytest.raises(SmsError) as failed:
            await send_code(session, phone=phone)
        assert (failed.value.code, failed.value.retryable) == (code, retryable)
        assert await inbox_size(session) == 0


class TestFactory:
    def test_sandbox_is_the_default(self, session):
        sms = get_sms_gateway(session)
        assert isinstance(sms, AliyunSmsGateway)
        assert isinstance(sms.transport, httpx.MockTransport)
        assert sms.config.endpoint.endswith(".invalid/")

    def test_aliyun_uses_the_configured_credentials_and_the_real_network(self, session):
        settings = SmsSettings.model_validate(
            {
                "provider": "aliyun",
                "timeout_seconds": 3,
                "aliyun": {
                    "access_key_id": "LTAIlive",
                    "access_key_secret": "live-secret",
                    "template_codes": {"verification_code": "SMS_1"},
                },
            }
        )
        sms = get_sms_gateway(session, settings=settings)
        assert isinstance(sms, AliyunSmsGateway)
        assert sms.transport is None
        assert sms.timeout == 3
        assert (sms.config.access_key_id, sms.config.access_key_secret) == ("LTAIlive", "live-secret")
        assert sms.config.sign_name == "ihos互联网医院"
        assert sms.config.endpoint == "https://dysmsapi.aliyuncs.com/"
        assert "live-secret" not in repr(sms.config)
