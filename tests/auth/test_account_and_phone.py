"""A patient's own account, and binding a phone by SMS code (for accounts made by username, WeChat or
Alipay, which need one for SMS sign-in, password recovery and identity review)."""

from __future__ import annotations

from sqlalchemy import select

from ihos.models.accounts import Account
from ihos.models.audit import AuditEntry
from tests.factories import (
    bearer,
    make_account,
    make_org,
    make_staff,
    patient_token,
    phone_number,
    staff_token,
)


class TestMyAccount:
    async def test_it_works(self, session, client):
        account = await make_account(session, username="wangwu", phone=None)
        response = await client.get(
            "/api/v1/auth/account", headers=bearer(await patient_token(session, account))
        )
        assert response.json() | {"id": None} == {
            "id": None,
            "username": "wangwu",
            "phone": None,
            "real_name_status": "unverified",
            "has_password": True,
        }

    async def test_staff_have_their_own_profile(self, session, client):
        token = await staff_token(
            session, await make_staff(session, await make_org(session), roles=["doctor"])
        )
        assert (await client.get("/api/v1/auth/account", headers=bearer(token))).status_code == 403


class TestBindPhone:
    async def test_it_works(self, session, client, received_code):
        account = await make_account(session, username="zhaoliu", phone=None)
        account_id = account.id
        headers = bearer(await patient_token(session, account))
        phone = phone_number()
        sent = await client.post(
            "/api/v1/auth/sms-codes", headers=headers, json={"phone": phone, "purpose": "bind_phone"}
        )
        assert sent.status_code == 202
        response = await client.put(
            "/api/v1/auth/phone", headers=headers, json={"phone": phone, "code": await received_code(phone)}
        )
        assert response.status_code == 200, response.text
        assert response.json()["phone"] == f"{phone[:3]}****{phone[-4:]}"
        stored = await session.scalar(
            select(Account).where(Account.id == account_id).execution_options(populate_existing=True)
        )
        assert stored.phone == phone
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "account.phone_bind"))
        assert entry.details == {"phone": f"{phone[:3]}****{phone[-4:]}"}
        # the phone now signs in
        signed_in = await client.post(
            "/api/v1/auth/sign-in/password", json={"login": phone, "password": "Ihos@2026"}
        )
        assert signed_in.status_code == 200

    async def test_a_phone_of_another_account_is_refused(self, session, client):
        taken = (await make_account(session)).phone
        headers = bearer(
            await patient_token(session, await make_account(session, username="sunqi", phone=None))
        )
        response = await client.post(
            "/api/v1/auth/sms-codes", headers=headers, json={"phone": taken, "purpose": "bind_phone"}
        )
        assert response.status_code == 409
        assert response.json()["message"] == "该手机号已绑定其他账户"

    async def test_a_wrong_code_changes_nothing(self, session, client, received_code):
        account = await make_account(session, username="zhouba", phone=None)
        account_id = account.id
        headers = bearer(await patient_token(session, account))
        phone = phone_number()
        await client.post(
            "/api/v1/auth/sms-codes", headers=headers, json={"phone": phone, "purpose": "bind_phone"}
        )
        code = await received_code(phone)
        wrong = "000000" if code != "000000" else "111111"
        response = await client.put(
            "/api/v1/auth/phone", headers=headers, json={"phone": phone, "code": wrong}
        )
        assert response.json()["error"] == "sms_code_wrong"
        stored = await session.scalar(
            select(Account).where(Account.id == account_id).execution_options(populate_existing=True)
        )
        assert stored.phone is None

    async def test_anonymous_cannot_ask_for_a_binding_code(self, client):
        response = await client.post(
            "/api/v1/auth/sms-codes", json={"phone": phone_number(), "purpose": "bind_phone"}
        )
        assert response.status_code == 401
