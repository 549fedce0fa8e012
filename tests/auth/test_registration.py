"""Patient registration (PT-02): username+password, phone+SMS code, phone+password, with consents."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from ihos.auth.consents import current_version
from ihos.models.accounts import Account, Consent
from ihos.models.audit import AuditEntry
from tests.factories import PASSWORD, bearer, make_account, phone_number, unique

CONSENTS = {
    "user_agreement": current_version("user_agreement"),
    "privacy_policy": current_version("privacy_policy"),
}


async def accounts(session) -> int:
    return await session.scalar(select(func.count()).select_from(Account))


class TestPolicies:
    async def test_it_works(self, client):
        response = await client.get("/api/v1/auth/policies")
        assert response.status_code == 200
        documents = {p["document"]: p for p in response.json()}
        assert set(documents) == {"user_agreement", "privacy_policy", "health_data", "guardian"}
        assert documents["privacy_policy"]["title"] == "隐私政策"
        assert "军人" in documents["privacy_policy"]["body"]  # says what is never collected


class TestRegisterWithUsername:
    async def test_it_works(self, session, client):
        username = unique("user")
        response = await client.post(
            "/api/v1/auth/register/username",
            json={"username": username, "password": PASSWORD, "consents": CONSENTS},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["is_new_account"] is True
        assert body["account"]["username"] == username
        assert body["account"]["real_name_status"] == "unverified"
        me = await client.get("/api/v1/auth/me", headers=bearer(body["token"]))
        assert me.json()["kind"] == "patient"

    async def test_consents_are_recorded_with_versions(self, session, client):
        response = await client.post(
            "/api/v1/auth/register/username",
            json={
                "username": unique("user"),
                "password": PASSWORD,
                "consents": {**CONSENTS, "health_data": current_version("health_data")},
            },
        )
        account_id = uuid.UUID(response.json()["account"]["id"])
        rows = (await session.scalars(select(Consent).where(Consent.account_id == account_id))).all()
        assert {(r.document, r.version) for r in rows} == {
            ("user_agreement", current_version("user_agreement")),
            ("privacy_policy", current_version("privacy_policy")),
            ("health_data", current_version("health_data")),
        }
        assert all(r.client_address == "203.0.113.10" for r in rows)

    async def test_registration_is_audited(self, session, client):
        response = await client.post(
            "/api/v1/auth/register/username",
            json={"username": unique("user"), "password": PASSWORD, "consents": CONSENTS},
        )
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "account.register"))
        assert entry.target_id == response.json()["account"]["id"]

    async def test_without_consent_nothing_is_created(self, session, client):
        response = await client.post(
            "/api/v1/auth/register/username",
            json={
                "username": unique("user"),
                "password": PASSWORD,
                "consents": {"user_agreement": CONSENTS["user_agreement"]},
            },
        )
        assert response.status_code == 400
        assert response.json()["error"] == "consent_required"
        assert await accounts(session) == 0

    async def test_outdated_consent_is_refused(self, session, client):
        response = await client.post(
            "/api/v1/auth/register/username",
            json={
                "username": unique("user"),
                "password": PASSWORD,
                "consents": {**CONSENTS, "privacy_policy": "2020-01-01"},
            },
        )
        assert response.json()["error"] == "consent_outdated"
        assert await accounts(session) == 0

    async def test_weak_password_is_refused(self, session, client):
        response = await client.post(
            "/api/v1/auth/register/username",
            json={"username": unique("user"), "password": "abcdefgh", "consents": CONSENTS},
        )
        assert response.status_code == 400
        assert response.json()["error"] == "weak_password"
        assert await accounts(session) == 0

    async def test_username_taken(self, session, client):
        await make_account(session, username="zhangsan")
        response = await client.post(
            "/api/v1/auth/register/username",
            json={"username": "ZhangSan", "password": PASSWORD, "consents": CONSENTS},
        )
        assert response.status_code == 409
        assert response.json()["error"] == "username_taken"
        assert await accounts(session) == 1

    async def test_invalid_username(self, client):
        response = await client.post(
            "/api/v1/auth/register/username",
            json={"username": "13812345678", "password": PASSWORD, "consents": CONSENTS},
        )
        assert response.json()["error"] == "invalid_username"

    async def test_unknown_and_oversized_fields_are_malformed(self, session, client):
        unknown = await client.post(
            "/api/v1/auth/register/username",
            json={"username": unique("user"), "password": PASSWORD, "consents": CONSENTS, "is_admin": True},
        )
        assert unknown.status_code == 422
        assert unknown.json()["details"][0] == {
            "field": "is_admin",
            "problem": "不认识的字段",
            "type": "extra_forbidden",
        }
        oversized = await client.post(
            "/api/v1/auth/register/username",
            json={"username": "u" * 41, "password": PASSWORD, "consents": CONSENTS},
        )
        assert oversized.status_code == 422
        assert await accounts(session) == 0


class TestRegisterWithPhone:
    async def test_it_works(self, session, client, received_code):
        phone = phone_number()
        await client.post("/api/v1/auth/sms-codes", json={"phone": phone, "purpose": "register"})
        code = await received_code(phone)
        response = await client.post(
            "/api/v1/auth/register/phone", json={"phone": phone, "code": code, "consents": CONSENTS}
        )
        assert response.status_code == 201, response.text
        assert response.json()["account"]["phone"] == f"{phone[:3]}****{phone[-4:]}"
        assert response.json()["account"]["has_password"] is False

    async def test_with_a_password(self, session, client, received_code):
        phone = phone_number()
        await client.post("/api/v1/auth/sms-codes", json={"phone": phone, "purpose": "register"})
        code = await received_code(phone)
        response = await client.post(
            "/api/v1/auth/register/phone",
            json={"phone": phone, "code": code, "password": PASSWORD, "consents": CONSENTS},
        )
        assert response.json()["account"]["has_password"] is True
        signed_in = await client.post(
            "/api/v1/auth/sign-in/password", json={"login": phone, "password": PASSWORD}
        )
        assert signed_in.status_code == 200

    async def test_wrong_code_creates_nothing(self, session, client, received_code):
        phone = phone_number()
        await client.post("/api/v1/auth/sms-codes", json={"phone": phone, "purpose": "register"})
        code = await received_code(phone)
        wrong = "123456" if code != "123456" else "654321"
        response = await client.post(
            "/api/v1/auth/register/phone", json={"phone": phone, "code": wrong, "consents": CONSENTS}
        )
        assert response.json()["error"] == "sms_code_wrong"
        assert await accounts(session) == 0

    async def test_weak_password_does_not_use_up_the_code(self, session, client, received_code):
        phone = phone_number()
        await client.post("/api/v1/auth/sms-codes", json={"phone": phone, "purpose": "register"})
        code = await received_code(phone)
        weak = await client.post(
            "/api/v1/auth/register/phone",
            json={"phone": phone, "code": code, "password": "short", "consents": CONSENTS},
        )
        assert weak.json()["error"] == "weak_password"
        retry = await client.post(
            "/api/v1/auth/register/phone",
            json={"phone": phone, "code": code, "password": PASSWORD, "consents": CONSENTS},
        )
        assert retry.status_code == 201

    async def test_registered_phone_is_refused(self, session, client):
        account = await make_account(session)
        response = await client.post(
            "/api/v1/auth/register/phone",
            json={"phone": account.phone, "code": "123456", "consents": CONSENTS},
        )
        assert response.status_code == 409
        assert response.json()["error"] == "phone_already_registered"
