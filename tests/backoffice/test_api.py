"""The system admin's desk: rules, dictionaries, background-work failures, system clients; demo sandboxes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ihos.backoffice.rules import get_rule
from ihos.config import get_settings
from ihos.jobs import enqueue
from ihos.kit.time import now
from ihos.models.audit import AuditEntry
from ihos.models.jobs import Job
from tests.factories import bearer, make_account, make_org, make_staff, patient_token, staff_token


@pytest.fixture
async def sysadmin(session):
    return await staff_token(
        session, await make_staff(session, await make_org(session), roles=["system_admin"])
    )


class TestRules:
    async def test_it_works(self, session, client, sysadmin):
        listed = await client.get("/api/v1/rules", headers=bearer(sysadmin))
        rules = {r["key"]: r for r in listed.json()}
        assert rules["order.hold_minutes"]["value"] == 15
        changed = await client.put(
            "/api/v1/rules/order.hold_minutes", headers=bearer(sysadmin), json={"value": 20}
        )
        assert changed.json()["value"] == 20
        assert await get_rule(session, "order.hold_minutes") == 20
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "rule.update"))
        assert entry.details == {"old": 15, "new": 20}

    async def test_mlps_minimums_cannot_be_weakened(self, session, client, sysadmin):
        for key, value in (
            ("auth.lockout_threshold", 10),
            ("auth.staff_idle_minutes", 60),
            ("sms.max_wrong_attempts", 9),
        ):
            response = await client.put(
                f"/api/v1/rules/{key}", headers=bearer(sysadmin), json={"value": value}
            )
            assert response.status_code == 400
            assert response.json()["error"] == "invalid_rule_value"
        assert await get_rule(session, "auth.staff_idle_minutes") == 30

    async def test_unknown_rule(self, client, sysadmin):
        response = await client.put("/api/v1/rules/no.such.rule", headers=bearer(sysadmin), json={"value": 1})
        assert response.status_code == 404

    async def test_a_stricter_idle_limit_applies_to_new_sessions(self, session, client, sysadmin):
        await client.put(
            "/api/v1/rules/auth.staff_idle_minutes", headers=bearer(sysadmin), json={"value": 10}
        )
        doctor = await make_staff(session, await make_org(session), roles=["doctor"])
        from ihos.auth import sessions

        issued = await sessions.start(
            session, staff_id=doctor.id, method="password", client_address=None, user_agent=None
        )
        assert issued.session.idle_timeout_seconds == 600


class TestDictionaries:
    async def test_anyone_reads(self, client):
        response = await client.get("/api/v1/dictionaries/relation")
        assert [e["code"] for e in response.json()][:4] == ["self", "spouse", "child", "parent"]

    async def test_system_admin_adds_and_retires_entries(self, client, sysadmin):
        added = await client.post(
            "/api/v1/dictionaries/post",
            headers=bearer(sysadmin),
            json={"code": "secretary", "label": "党委书记"},
        )
        assert added.status_code == 201
        again = await client.post(
            "/api/v1/dictionaries/post", headers=bearer(sysadmin), json={"code": "secretary", "label": "重复"}
        )
        assert again.status_code == 409
        retired = await client.patch(
            f"/api/v1/dictionary-entries/{added.json()['id']}",
            headers=bearer(sysadmin),
            json={"is_active": False},
        )
        assert retired.json()["is_active"] is False
        active = await client.get("/api/v1/dictionaries/post")
        assert "secretary" not in [e["code"] for e in active.json()]

    async def test_unknown_dictionary(self, client):
        assert (await client.get("/api/v1/dictionaries/nope")).status_code == 404


class TestFailedJobs:
    async def test_list_retry_discard(self, session, client, sysadmin):
        for _ in range(2):
            job = await enqueue(session, "test.broken", {"x": 1})
            job.state = "parked"
            job.last_error = "RuntimeError: boom"
            job.attempts = 8
        await session.flush()
        listed = await client.get("/api/v1/jobs/failed", headers=bearer(sysadmin))
        assert listed.json()["total"] == 2
        first, second = (item["id"] for item in listed.json()["items"])
        assert (await client.post(f"/api/v1/jobs/{first}/retry", headers=bearer(sysadmin))).status_code == 204
        assert (
            await client.post(f"/api/v1/jobs/{second}/discard", headers=bearer(sysadmin))
        ).status_code == 204
        jobs = (await session.scalars(select(Job).execution_options(populate_existing=True))).all()
        assert [(j.state, j.attempts) for j in jobs] == [("pending", 0)]
        assert jobs[0].due_at <= now()
        actions = set((await session.scalars(select(AuditEntry.action))).all())
        assert {"job.retry", "job.discard"} <= actions

    async def test_only_the_system_admin(self, session, client):
        token = await staff_token(
            session, await make_staff(session, await make_org(session), roles=["security_admin"])
        )
        assert (await client.get("/api/v1/jobs/failed", headers=bearer(token))).status_code == 403


class TestSystemClients:
    async def test_issue_and_list(self, client, sysadmin):
        created = await client.post(
            "/api/v1/system-clients", headers=bearer(sysadmin), json={"name": "HIS 收费窗口", "kind": "his"}
        )
        assert created.status_code == 201
        assert len(created.json()["secret"]) >= 40
        listed = await client.get("/api/v1/system-clients", headers=bearer(sysadmin))
        assert "secret" not in listed.json()[0]

    async def test_patients_cannot(self, session, client):
        token = await patient_token(session, await make_account(session))
        response = await client.post(
            "/api/v1/system-clients", headers=bearer(token), json={"name": "x", "kind": "his"}
        )
        assert response.status_code == 403


class TestSandbox:
    async def test_hidden_outside_demo_mode(self, client):
        assert (await client.get("/api/v1/sandbox/sms")).status_code == 404
        assert (await client.post("/api/v1/sandbox/wechat/login", json={})).status_code == 404

    async def test_demo_mode_shows_the_inbox(self, client, monkeypatch, received_code_phone):
        monkeypatch.setattr(get_settings(), "demo", True)
        phone = received_code_phone
        response = await client.get("/api/v1/sandbox/sms", params={"phone": phone})
        assert response.status_code == 200
        [message] = response.json()
        assert message["phone"] == f"{phone[:3]}****{phone[-4:]}"
        assert "验证码" in message["text"]

    async def test_demo_mode_mints_wechat_codes(self, client, monkeypatch):
        monkeypatch.setattr(get_settings(), "demo", True)
        code = (await client.post("/api/v1/sandbox/wechat/login", json={"user_hint": "demo"})).json()["code"]
        response = await client.post(
            "/api/v1/auth/sign-in/wechat",
            json={"code": code, "consents": {"user_agreement": "2026-11-01", "privacy_policy": "2026-11-01"}},
        )
        assert response.status_code == 200


@pytest.fixture
async def received_code_phone(client, run_jobs):
    phone = "13755550000"
    await client.post("/api/v1/auth/sms-codes", json={"phone": phone, "purpose": "register"})
    await run_jobs()
    return phone
