"""Changing and recovering passwords (PT-04, DR-03, PH-01), and one's own sessions."""

from __future__ import annotations

from sqlalchemy import select

from ihos.models.audit import AuditEntry
from tests.factories import PASSWORD, bearer, make_account, make_org, make_staff, patient_token, staff_token

NEW = "Fresh#Pass42"


class TestChangeOwnPassword:
    async def test_it_works(self, session, client):
        account = await make_account(session)
        phone = account.phone
        token = await patient_token(session, account)
        other_device = await patient_token(session, account)
        response = await client.put(
            "/api/v1/auth/password",
            headers=bearer(token),
            json={"current_password": PASSWORD, "new_password": NEW},
        )
        assert response.status_code == 204, response.text
        # this session goes on, every other one ends
        assert (await client.get("/api/v1/auth/me", headers=bearer(token))).status_code == 200
        assert (await client.get("/api/v1/auth/me", headers=bearer(other_device))).status_code == 401
        signed_in = await client.post("/api/v1/auth/sign-in/password", json={"login": phone, "password": NEW})
        assert signed_in.status_code == 200

    async def test_wrong_current_password(self, session, client):
        account = await make_account(session)
        token = await patient_token(session, account)
        response = await client.put(
            "/api/v1/auth/password",
            headers=bearer(token),
            json={"current_password": "Nope#2026x", "new_password": NEW},
        )
        assert response.status_code == 400
        assert response.json()["error"] == "wrong_password"

    async def test_weak_or_same_password(self, session, client):
        account = await make_account(session)
        token = await patient_token(session, account)
        weak = await client.put(
            "/api/v1/auth/password",
            headers=bearer(token),
            json={"current_password": PASSWORD, "new_password": "12345678"},
        )
        assert weak.json()["error"] == "weak_password"
        same = await client.put(
            "/api/v1/auth/password",
            headers=bearer(token),
            json={"current_password": PASSWORD, "new_password": PASSWORD},
        )
        assert same.json()["message"] == "新密码不能与当前密码相同"

    async def test_staff_change_is_audited(self, session, client):
        staff = await make_staff(session, await make_org(session), roles=["pharmacist"])
        token = await staff_token(session, staff)
        await client.put(
            "/api/v1/auth/password",
            headers=bearer(token),
            json={"current_password": PASSWORD, "new_password": NEW},
        )
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "auth.password_change"))
        assert entry.actor_id == staff.id and entry.result == "success"

    async def test_an_account_without_password_sets_one(self, session, client):
        account = await make_account(session, password=None)
        token = await patient_token(session, account)
        response = await client.put(
            "/api/v1/auth/password", headers=bearer(token), json={"new_password": NEW}
        )
        assert response.status_code == 204


class TestForgottenPassword:
    async def test_it_works(self, session, client, received_code):
        account = await make_account(session)
        phone = account.phone
        old_session = await patient_token(session, account)
        await client.post("/api/v1/auth/sms-codes", json={"phone": phone, "purpose": "reset_password"})
        code = await received_code(phone)
        response = await client.post(
            "/api/v1/auth/password/reset", json={"phone": phone, "code": code, "new_password": NEW}
        )
        assert response.status_code == 204, response.text
        assert (await client.get("/api/v1/auth/me", headers=bearer(old_session))).status_code == 401
        signed_in = await client.post("/api/v1/auth/sign-in/password", json={"login": phone, "password": NEW})
        assert signed_in.status_code == 200

    async def test_a_code_for_sign_in_does_not_reset(self, session, client, received_code):
        phone = (await make_account(session)).phone
        await client.post("/api/v1/auth/sms-codes", json={"phone": phone, "purpose": "sign_in"})
        code = await received_code(phone)
        response = await client.post(
            "/api/v1/auth/password/reset", json={"phone": phone, "code": code, "new_password": NEW}
        )
        assert response.status_code == 400


class TestOwnSessions:
    async def test_list_and_revoke(self, session, client):
        account = await make_account(session)
        token = await patient_token(session, account)
        other = await patient_token(session, account)
        listed = await client.get("/api/v1/auth/sessions", headers=bearer(token))
        assert listed.status_code == 200
        assert sorted(s["is_current"] for s in listed.json()) == [False, True]
        other_id = next(s["id"] for s in listed.json() if not s["is_current"])
        revoked = await client.delete(f"/api/v1/auth/sessions/{other_id}", headers=bearer(token))
        assert revoked.status_code == 204
        assert (await client.get("/api/v1/auth/me", headers=bearer(other))).status_code == 401

    async def test_someone_elses_session_is_not_found(self, session, client):
        mine = await patient_token(session, await make_account(session))
        stranger = await make_account(session)
        await patient_token(session, stranger)
        theirs = await client.get(
            "/api/v1/auth/sessions", headers=bearer(await patient_token(session, stranger))
        )
        response = await client.delete(
            f"/api/v1/auth/sessions/{theirs.json()[0]['id']}", headers=bearer(mine)
        )
        assert response.status_code == 404
