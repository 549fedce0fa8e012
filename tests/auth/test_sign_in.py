"""Patient sign-in (PT-03): phone or username + password, phone + SMS code, WeChat and Alipay
authorisation; lockout after 5 failures for 30 minutes (MLPS level 3)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from ihos.auth.consents import current_version
from ihos.integrations.alipay import issue_sandbox_auth_code
from ihos.integrations.wechat import issue_sandbox_code
from ihos.kit.time import clock
from ihos.models.accounts import Account, AuthSession, ExternalLogin
from ihos.models.audit import AuditEntry
from tests.factories import PASSWORD, bearer, make_account, unique

CONSENTS = {
    "user_agreement": current_version("user_agreement"),
    "privacy_policy": current_version("privacy_policy"),
}


async def sign_in(client, login: str, password: str = PASSWORD):
    return await client.post("/api/v1/auth/sign-in/password", json={"login": login, "password": password})


class TestPasswordSignIn:
    async def test_it_works(self, session, client):
        phone = (await make_account(session)).phone
        response = await sign_in(client, phone)
        assert response.status_code == 200, response.text
        assert response.json()["is_new_account"] is False
        me = await client.get("/api/v1/auth/me", headers=bearer(response.json()["token"]))
        assert me.status_code == 200
        assert me.json()["label"] == f"{phone[:3]}****{phone[-4:]}"

    async def test_by_username(self, session, client):
        await make_account(session, username="lisi")
        assert (await sign_in(client, "lisi")).status_code == 200

    async def test_wrong_password_says_how_many_tries_are_left(self, session, client):
        phone = (await make_account(session)).phone
        response = await sign_in(client, phone, "Wrong@2026")
        assert response.status_code == 401
        assert response.json() == {"error": "sign_in_failed", "message": "账号或密码不正确，还可尝试 4 次"}

    async def test_unknown_account_gives_the_same_answer_without_counts(self, client):
        response = await sign_in(client, "13700000000", "Wrong@2026")
        assert response.json()["error"] == "sign_in_failed"
        assert response.json()["message"] == "账号或密码不正确"

    async def test_failures_are_audited(self, session, client):
        phone = (await make_account(session)).phone
        await sign_in(client, phone, "Wrong@2026")
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "auth.sign_in"))
        assert entry.result == "failure"
        assert entry.details == {"reason": "password", "locked": False}
        assert entry.client_address == "203.0.113.10"


class TestLockout:
    async def test_five_failures_lock_the_account_for_30_minutes(self, session, client):
        account = await make_account(session)
        phone, account_id = account.phone, account.id
        clock.freeze()
        for _ in range(5):
            await sign_in(client, phone, "Wrong@2026")
        locked = await sign_in(client, phone)  # even the right password
        assert locked.status_code == 403
        assert locked.json()["error"] == "account_locked"
        stored = await session.get(Account, account_id)
        await session.refresh(stored)
        assert stored.locked_until == clock.now() + timedelta(minutes=30)
        clock.travel(timedelta(minutes=30, seconds=1))
        assert (await sign_in(client, phone)).status_code == 200

    async def test_success_resets_the_count(self, session, client):
        phone = (await make_account(session)).phone
        for _ in range(4):
            await sign_in(client, phone, "Wrong@2026")
        assert (await sign_in(client, phone)).status_code == 200
        response = await sign_in(client, phone, "Wrong@2026")
        assert response.json()["message"] == "账号或密码不正确，还可尝试 4 次"

    async def test_locked_account_cannot_use_sms_sign_in_either(self, session, client):
        account = await make_account(session)
        phone = account.phone
        for _ in range(5):
            await sign_in(client, phone, "Wrong@2026")
        response = await client.post("/api/v1/auth/sign-in/sms", json={"phone": phone, "code": "123456"})
        assert response.json()["error"] == "account_locked"


class TestSmsSignIn:
    async def test_it_works(self, session, client, received_code):
        phone = (await make_account(session, password=None)).phone
        await client.post("/api/v1/auth/sms-codes", json={"phone": phone, "purpose": "sign_in"})
        code = await received_code(phone)
        response = await client.post("/api/v1/auth/sign-in/sms", json={"phone": phone, "code": code})
        assert response.status_code == 200, response.text

    async def test_unregistered_phone(self, client):
        response = await client.post(
            "/api/v1/auth/sign-in/sms", json={"phone": "13700000001", "code": "123456"}
        )
        assert response.json()["error"] == "phone_not_registered"


class TestWeChatSignIn:
    async def test_first_sign_in_creates_the_account(self, session, client):
        code = await issue_sandbox_code(session, "wx-user-1")
        response = await client.post("/api/v1/auth/sign-in/wechat", json={"code": code, "consents": CONSENTS})
        assert response.status_code == 200, response.text
        assert response.json()["is_new_account"] is True
        login = await session.scalar(select(ExternalLogin).where(ExternalLogin.provider == "wechat"))
        assert str(login.account_id) == response.json()["account"]["id"]

    async def test_next_sign_in_finds_the_same_account(self, session, client):
        first = await client.post(
            "/api/v1/auth/sign-in/wechat",
            json={"code": await issue_sandbox_code(session, "wx-user-2"), "consents": CONSENTS},
        )
        again = await client.post(
            "/api/v1/auth/sign-in/wechat", json={"code": await issue_sandbox_code(session, "wx-user-2")}
        )
        assert again.json()["is_new_account"] is False
        assert again.json()["account"]["id"] == first.json()["account"]["id"]

    async def test_new_account_needs_the_consents(self, session, client):
        response = await client.post(
            "/api/v1/auth/sign-in/wechat", json={"code": await issue_sandbox_code(session, "wx-user-3")}
        )
        assert response.json()["error"] == "consent_required"
        assert await session.scalar(select(func.count()).select_from(Account)) == 0

    async def test_a_code_works_once(self, session, client):
        code = await issue_sandbox_code(session, "wx-user-4")
        await client.post("/api/v1/auth/sign-in/wechat", json={"code": code, "consents": CONSENTS})
        again = await client.post("/api/v1/auth/sign-in/wechat", json={"code": code})
        assert again.status_code == 401
        assert again.json()["error"] == "authorisation_invalid"

    async def test_unknown_code(self, client):
        response = await client.post(
            "/api/v1/auth/sign-in/wechat", json={"code": "not-a-code", "consents": CONSENTS}
        )
        assert response.json()["error"] == "authorisation_invalid"


class TestAlipaySignIn:
    async def test_it_works(self, session, client):
        code = await issue_sandbox_auth_code(session, "ali-user-1")
        response = await client.post(
            "/api/v1/auth/sign-in/alipay", json={"auth_code": code, "consents": CONSENTS}
        )
        assert response.status_code == 200, response.text
        assert response.json()["is_new_account"] is True
        again = await client.post(
            "/api/v1/auth/sign-in/alipay",
            json={"auth_code": await issue_sandbox_auth_code(session, "ali-user-1")},
        )
        assert again.json()["account"]["id"] == response.json()["account"]["id"]


class TestSignOut:
    async def test_it_works(self, session, client):
        phone = (await make_account(session)).phone
        token = (await sign_in(client, phone)).json()["token"]
        assert (await client.post("/api/v1/auth/sign-out", headers=bearer(token))).status_code == 204
        response = await client.get("/api/v1/auth/me", headers=bearer(token))
        assert response.status_code == 401
        assert response.json()["error"] == "session_revoked"

    async def test_token_is_stored_only_as_a_digest(self, session, client):
        phone = (await make_account(session)).phone
        token = (await sign_in(client, phone)).json()["token"]
        stored = await session.scalar(select(AuthSession))
        assert stored.token_hash != token and len(stored.token_hash) == 64


class TestThrottle:
    async def test_sign_in_attempts_per_address_are_limited(self, client):
        statuses = [(await sign_in(client, unique("nobody"), "Wrong@2026")).status_code for _ in range(21)]
        assert statuses[:20] == [401] * 20
        assert statuses[20] == 429
