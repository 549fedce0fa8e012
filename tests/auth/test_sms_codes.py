"""SMS verification codes: 6 digits, 5 minutes, single use, 5 wrong tries, 60 s resend, daily caps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ihos.auth import sms
from ihos.kit.time import clock, start_of_local_day
from ihos.models.accounts import SmsCode
from ihos.models.jobs import Job
from tests.factories import phone_number

URL = "/api/v1/auth/sms-codes"


async def count_codes(session) -> int:
    return await session.scalar(select(func.count()).select_from(SmsCode))


class TestRequestCode:
    async def test_it_works(self, client, received_code):
        phone = phone_number()
        response = await client.post(URL, json={"phone": phone, "purpose": "register"})
        assert response.status_code == 202, response.text
        assert response.json() == {"resend_after_seconds": 60, "expires_in_seconds": 300}
        code = await received_code(phone)
        assert len(code) == 6 and code.isdigit()

    async def test_nothing_is_sent_before_the_request_commits(self, session, client):
        phone = phone_number()
        await client.post(URL, json={"phone": phone, "purpose": "register"})
        job = await session.scalar(select(Job).where(Job.kind == "sms.send_code"))
        assert job is not None and job.state == "pending"
        row = await session.scalar(select(SmsCode))
        assert row.code_to_send is not None  # kept (encrypted) only until the job has sent it

    async def test_the_sent_code_is_forgotten(self, session, client, received_code):
        phone = phone_number()
        await client.post(URL, json={"phone": phone, "purpose": "register"})
        await received_code(phone)
        row = await session.scalar(select(SmsCode))
        await session.refresh(row)
        assert row.code_to_send is None and row.sent_at is not None

    @pytest.mark.parametrize("phone", ["12345", "23812341234", "1381234123x", "+1 212 555 0100"])
    async def test_malformed_phone_is_refused(self, session, client, phone):
        response = await client.post(URL, json={"phone": phone, "purpose": "register"})
        assert response.status_code in (400, 422)
        assert await count_codes(session) == 0

    async def test_unknown_purpose_is_a_malformed_payload(self, client):
        response = await client.post(URL, json={"phone": phone_number(), "purpose": "anything"})
        assert response.status_code == 422
        assert response.json()["error"] == "invalid_request"

    async def test_resend_waits_60_seconds(self, session, client):
        phone = phone_number()
        await client.post(URL, json={"phone": phone, "purpose": "register"})
        clock.travel(timedelta(seconds=30))
        response = await client.post(URL, json={"phone": phone, "purpose": "register"})
        assert response.status_code == 429
        assert response.json()["error"] == "sms_too_frequent"
        assert response.headers["Retry-After"] in ("30", "31")
        assert await count_codes(session) == 1
        clock.travel(timedelta(seconds=31))
        assert (await client.post(URL, json={"phone": phone, "purpose": "register"})).status_code == 202

    async def test_daily_cap_per_phone(self, session):
        phone = phone_number()
        clock.freeze(start_of_local_day() + timedelta(hours=9))  # ten minutes that stay within one day
        for _ in range(10):
            await sms.request_code(session, phone=phone, purpose="sign_in", client_address=None)
            clock.travel(timedelta(seconds=61))
        with pytest.raises(sms.SmsDailyCapReached):
            await sms.request_code(session, phone=phone, purpose="sign_in", client_address=None)

    async def test_daily_cap_per_address(self, session):
        clock.freeze()
        for _ in range(50):
            await sms.request_code(
                session, phone=phone_number(), purpose="sign_in", client_address="198.51.100.7"
            )
        with pytest.raises(sms.SmsDailyCapReached, match="当前网络"):
            await sms.request_code(
                session, phone=phone_number(), purpose="sign_in", client_address="198.51.100.7"
            )
        # another address is not affected
        await sms.request_code(
            session, phone=phone_number(), purpose="sign_in", client_address="198.51.100.8"
        )

    async def test_register_code_for_a_registered_phone_is_refused(self, session, client):
        from tests.factories import make_account

        account = await make_account(session)
        response = await client.post(URL, json={"phone": account.phone, "purpose": "register"})
        assert response.status_code == 409
        assert response.json()["error"] == "phone_already_registered"

    async def test_address_rate_limit(self, client):
        statuses = [
            (await client.post(URL, json={"phone": phone_number(), "purpose": "sign_in"})).status_code
            for _ in range(6)
        ]
        assert statuses == [202] * 5 + [429]


class TestConsumeCode:
    async def issue(self, session, phone: str, purpose: str = "sign_in") -> str:
        await sms.request_code(session, phone=phone, purpose=purpose, client_address=None)
        row = await session.scalar(select(SmsCode).order_by(SmsCode.created_at.desc()).limit(1))
        return row.code_to_send

    async def test_it_works(self, session):
        phone = phone_number()
        code = await self.issue(session, phone)
        assert await sms.consume_code(session, phone=phone, purpose="sign_in", code=code) == phone

    async def test_single_use(self, session):
        phone = phone_number()
        code = await self.issue(session, phone)
        await sms.consume_code(session, phone=phone, purpose="sign_in", code=code)
        with pytest.raises(sms.SmsCodeInvalid):
            await sms.consume_code(session, phone=phone, purpose="sign_in", code=code)

    async def test_expires_after_five_minutes(self, session):
        phone = phone_number()
        clock.freeze()
        code = await self.issue(session, phone)
        clock.travel(timedelta(minutes=5, seconds=1))
        with pytest.raises(sms.SmsCodeInvalid):
            await sms.consume_code(session, phone=phone, purpose="sign_in", code=code)

    async def test_code_is_bound_to_its_purpose(self, session):
        phone = phone_number()
        code = await self.issue(session, phone, purpose="register")
        with pytest.raises(sms.SmsCodeInvalid):
            await sms.consume_code(session, phone=phone, purpose="sign_in", code=code)

    async def test_a_new_code_replaces_the_old_one(self, session):
        phone = phone_number()
        clock.freeze()
        old = await self.issue(session, phone)
        clock.travel(timedelta(seconds=61))
        new = await self.issue(session, phone)
        with pytest.raises(sms.SmsCodeWrong):  # the old code is just a wrong guess at the new one
            await sms.consume_code(session, phone=phone, purpose="sign_in", code=old)
        await sms.consume_code(session, phone=phone, purpose="sign_in", code=new)

    async def test_five_wrong_tries_end_the_code(self, session, client):
        """Wrong tries are counted even though each refused request rolls back."""
        from tests.factories import make_account

        phone = (await make_account(session)).phone
        code = await self.issue(session, phone)
        wrong = "000000" if code != "000000" else "111111"
        messages = []
        for _ in range(5):
            response = await client.post("/api/v1/auth/sign-in/sms", json={"phone": phone, "code": wrong})
            assert response.status_code == 400
            messages.append(response.json()["message"])
        assert messages[0] == "验证码不正确，还可以再试 4 次"
        assert messages[-1] == "验证码错误次数过多，请重新获取"
        response = await client.post("/api/v1/auth/sign-in/sms", json={"phone": phone, "code": code})
        assert response.status_code == 400
        assert response.json()["error"] == "sms_code_invalid"
