"""Staff sign-in: TOTP for the three administrators, forced password change, idle expiry (MLPS)."""

from __future__ import annotations

from datetime import timedelta

import pyotp
from sqlalchemy import select

from ihos.kit.time import clock, now
from ihos.models.organization import Staff
from tests.factories import PASSWORD, bearer, make_org, make_staff, staff_token

URL = "/api/v1/auth/staff/sign-in"


def current_code(secret: str) -> str:
    return pyotp.TOTP(secret).at(now())


class TestStaffSignIn:
    async def test_it_works(self, session, client):
        staff = await make_staff(session, await make_org(session), roles=["doctor"])
        response = await client.post(URL, json={"username": staff.username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "signed_in"
        assert body["idle_timeout_seconds"] == 1800
        assert body["staff"]["roles"] == ["doctor"]
        me = await client.get("/api/v1/auth/me", headers=bearer(body["token"]))
        assert me.json()["kind"] == "staff"
        assert "patient.read" in me.json()["permissions"]

    async def test_wrong_password(self, session, client):
        staff = await make_staff(session, await make_org(session), roles=["nurse"])
        response = await client.post(URL, json={"username": staff.username, "password": "Wrong@2026"})
        assert response.status_code == 401
        assert response.json()["message"] == "用户名或密码不正确，还可尝试 4 次"

    async def test_a_patient_password_does_not_open_the_console(self, client):
        response = await client.post(URL, json={"username": "13900000001", "password": PASSWORD})
        assert response.json()["error"] == "sign_in_failed"


class TestSecondFactor:
    async def test_administrators_need_the_code(self, session, client):
        admin = await make_staff(session, await make_org(session), roles=["security_admin"])
        username, secret = admin.username, admin.totp_secret
        without = await client.post(URL, json={"username": username, "password": PASSWORD})
        assert without.status_code == 401
        assert without.json()["error"] == "totp_required"
        with_code = await client.post(
            URL,
            json={
                "username": username,
                "password": PASSWORD,
                "totp_code": current_code(secret),
            },
        )
        assert with_code.status_code == 200, with_code.text

    async def test_a_code_works_once(self, session, client):
        admin = await make_staff(session, await make_org(session), roles=["audit_admin"])
        clock.freeze()
        body = {
            "username": admin.username,
            "password": PASSWORD,
            "totp_code": current_code(admin.totp_secret),
        }
        assert (await client.post(URL, json=body)).status_code == 200
        replay = await client.post(URL, json=body)
        assert replay.status_code == 401
        assert replay.json()["error"] == "totp_invalid"

    async def test_wrong_code_counts_towards_the_lockout(self, session, client):
        admin = await make_staff(session, await make_org(session), roles=["system_admin"])
        username, admin_id = admin.username, admin.id
        for _ in range(5):
            await client.post(URL, json={"username": username, "password": PASSWORD, "totp_code": "000000"})
        stored = await session.get(Staff, admin_id)
        await session.refresh(stored)
        assert stored.locked_until is not None

    async def test_first_sign_in_enrols_the_authenticator(self, session, client):
        org = await make_org(session)
        admin = await make_staff(session, org, roles=["security_admin"])
        admin.totp_secret = None
        admin.totp_enrolled_at = None
        username = admin.username
        first = await client.post(URL, json={"username": username, "password": PASSWORD})
        assert first.status_code == 200
        body = first.json()
        assert body["status"] == "totp_enrolment_required"
        assert body["token"] is None
        secret = body["totp_enrolment_secret"]
        assert body["totp_enrolment_uri"].startswith("otpauth://totp/")
        # the same secret is offered until enrolment is confirmed
        again = await client.post(URL, json={"username": username, "password": PASSWORD})
        assert again.json()["totp_enrolment_secret"] == secret
        enrolled = await client.post(
            "/api/v1/auth/staff/totp/enrol",
            json={"username": username, "password": PASSWORD, "totp_code": current_code(secret)},
        )
        assert enrolled.status_code == 200, enrolled.text
        assert enrolled.json()["status"] == "signed_in"


class TestForcedPasswordChange:
    async def test_new_accounts_must_change_the_password_first(self, session, client):
        staff = await make_staff(
            session, await make_org(session), roles=["doctor"], must_change_password=True
        )
        response = await client.post(URL, json={"username": staff.username, "password": PASSWORD})
        body = response.json()
        assert body["must_change_password"] is True
        headers = bearer(body["token"])
        blocked = await client.get("/api/v1/organisation/me", headers=headers)
        assert blocked.status_code == 403
        assert blocked.json()["error"] == "password_change_required"
        changed = await client.put(
            "/api/v1/auth/password",
            headers=headers,
            json={"current_password": PASSWORD, "new_password": "Better#Pass9"},
        )
        assert changed.status_code == 204, changed.text
        assert (await client.get("/api/v1/organisation/me", headers=headers)).status_code == 200

    async def test_passwords_expire_after_90_days(self, session, client):
        staff = await make_staff(session, await make_org(session), roles=["doctor"])
        staff.password_changed_at = now() - timedelta(days=91)
        token = await staff_token(session, staff)
        username = staff.username
        response = await client.get("/api/v1/organisation/me", headers=bearer(token))
        assert response.json()["error"] == "password_change_required"
        fresh = await client.post(URL, json={"username": username, "password": PASSWORD})
        assert fresh.json()["must_change_password"] is True


class TestIdleExpiry:
    async def test_staff_sessions_end_after_30_idle_minutes(self, session, client):
        staff = await make_staff(session, await make_org(session), roles=["doctor"])
        clock.freeze()
        token = await staff_token(session, staff)
        clock.travel(timedelta(minutes=29))
        assert (await client.get("/api/v1/auth/me", headers=bearer(token))).status_code == 200
        clock.travel(timedelta(minutes=29))  # active a minute ago: still inside the idle limit
        assert (await client.get("/api/v1/auth/me", headers=bearer(token))).status_code == 200
        clock.travel(timedelta(minutes=31))
        response = await client.get("/api/v1/auth/me", headers=bearer(token))
        assert response.status_code == 401
        assert response.json()["error"] == "session_expired"

    async def test_unknown_token(self, client):
        response = await client.get("/api/v1/auth/me", headers=bearer("not-a-token"))
        assert response.status_code == 401

    async def test_anonymous(self, client):
        response = await client.get("/api/v1/auth/me")
        assert response.status_code == 401
        assert response.json()["error"] == "unauthenticated"

    async def test_stored_staff_last_sign_in(self, session, client):
        staff = await make_staff(session, await make_org(session), roles=["doctor"])
        await client.post(URL, json={"username": staff.username, "password": PASSWORD})
        stored = await session.scalar(select(Staff).where(Staff.id == staff.id))
        await session.refresh(stored)
        assert stored.last_sign_in_at is not None
