"""The patient back office (AD-02): accounts and patients for staff with ``patient.read``, unmasking,
and the customer-service password reset (PT-04)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from ihos.kit.time import clock, now
from ihos.models.accounts import Account, AuthSession
from ihos.models.audit import AuditEntry
from ihos.models.jobs import Job
from ihos.patients import service
from tests.factories import bearer, make_account, patient_token, unique
from tests.patients.helpers import add_patient, audit_trail, count, inbox_texts, sms_code_for

ACCOUNTS = "/api/v1/accounts"
PATIENTS = "/api/v1/patients"
# Born 1949-12-31, female (17th digit even), check digit X.
ID_NUMBER = "11010519491231002X"
PHONE = "13812341234"


def masked_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:]


class TestSearchAccounts:
    async def test_it_works(self, client, make_patient_user, customer_service):
        user = await make_patient_user(phone="13812340001", username=unique("zhang"))
        await make_patient_user(phone="13812340002")

        response = await client.get(ACCOUNTS, headers=customer_service.headers, params={"q": "13812340001"})

        assert response.status_code == 200
        body = response.json()
        assert (body["total"], body["page"], body["page_size"]) == (1, 1, 20)
        [item] = body["items"]
        assert item == {
            "id": str(user.account_id),
            "username": user.username,
            "phone": "138****0001",
            "real_name_status": "unverified",
            "is_active": True,
            "is_locked": False,
            "created_at": item["created_at"],
            "last_sign_in_at": None,
        }

    @pytest.mark.parametrize(
        ("query", "found"),
        [
            pytest.param("+86 138-1234-0001", True, id="phone-as-typed"),
            pytest.param("1381234000", False, id="phone-prefix"),
            pytest.param("0001", False, id="phone-suffix"),
        ],
    )
    async def test_phone_search_is_exact(self, client, make_patient_user, customer_service, query, found):
        user = await make_patient_user(phone="13812340001")

        response = await client.get(ACCOUNTS, headers=customer_service.headers, params={"q": query})

        assert [item["id"] for item in response.json()["items"]] == ([str(user.account_id)] if found else [])

    async def test_by_username(self, client, make_patient_user, customer_service):
        user = await make_patient_user(username="zhangxiaosan")
        await make_patient_user(username="zhangxiaosi")

        exact = await client.get(ACCOUNTS, headers=customer_service.headers, params={"q": "ZhangXiaoSan"})
        partial = await client.get(ACCOUNTS, headers=customer_service.headers, params={"q": "zhang"})

        assert [item["id"] for item in exact.json()["items"]] == [str(user.account_id)]
        assert partial.json() == {"items": [], "total": 0, "page": 1, "page_size": 20}

    async def test_without_a_query_newest_first_in_pages(self, client, make_patient_user, customer_service):
        users = []
        for _ in range(3):
            users.append(await make_patient_user())
            clock.travel(timedelta(seconds=1))

        first = await client.get(ACCOUNTS, headers=customer_service.headers, params={"page_size": 2})
        second = await client.get(
            ACCOUNTS, headers=customer_service.headers, params={"page_size": 2, "page": 2}
        )

        assert [item["id"] for item in first.json()["items"]] == [
            str(users[2].account_id),
            str(users[1].account_id),
        ]
        assert [item["id"] for item in second.json()["items"]] == [str(users[0].account_id)]
        assert (first.json()["total"], second.json()["total"]) == (3, 3)


class TestSearchPatients:
    @pytest.fixture
    async def patient_id(self, session, owner) -> uuid.UUID:
        await add_patient(session, owner, name="张小四")
        return await add_patient(session, owner, name="张小三", id_number=ID_NUMBER, phone=PHONE)

    @pytest.mark.parametrize(
        "query",
        [
            pytest.param(ID_NUMBER, id="id-number"),
            pytest.param(ID_NUMBER.lower(), id="id-number-lower-case-x"),
            pytest.param(PHONE, id="phone"),
            pytest.param("张小三", id="name"),
        ],
    )
    async def test_it_works(self, client, customer_service, patient_id, query):
        response = await client.get(PATIENTS, headers=customer_service.headers, params={"q": query})

        assert response.status_code == 200
        assert response.json()["total"] == 1
        [item] = response.json()["items"]
        assert item == {
            "id": str(patient_id),
            "name": "张*三",
            "id_number": "110***********002X",
            "phone": "138****1234",
            "sex": "female",
            "birth_date": "1949-12-31",
            "identity_status": "unverified",
            "created_at": item["created_at"],
        }

    @pytest.mark.parametrize("query", ["张", "110105194912", "1234", "13812341235"])
    async def test_partial_values_find_nothing(self, client, customer_service, patient_id, query):
        response = await client.get(PATIENTS, headers=customer_service.headers, params={"q": query})
        assert response.json()["total"] == 0


class TestAccountDetail:
    async def test_it_works(self, client, session, owner, customer_service):
        first = await add_patient(
            session, owner, name="张小三", id_number=ID_NUMBER, phone=PHONE, relation="self"
        )
        clock.travel(timedelta(seconds=1))
        second = await add_patient(session, owner, name="李四", relation="parent")

        response = await client.get(f"{ACCOUNTS}/{owner.account_id}", headers=customer_service.headers)

        assert response.status_code == 200
        body = response.json()
        assert (body["id"], body["username"], body["phone"]) == (
            str(owner.account_id),
            owner.username,
            masked_phone(owner.phone),
        )
        assert [(p["id"], p["name"], p["relation"], p["is_default"]) for p in body["patients"]] == [
            (str(first), "张*三", "self", True),
            (str(second), "李*", "parent", False),
        ]
        assert (body["patients"][0]["id_number"], body["patients"][0]["phone"]) == (
            "110***********002X",
            "138****1234",
        )

    async def test_each_look_is_audited(self, client, session, owner, customer_service):
        await client.get(f"{ACCOUNTS}/{owner.account_id}", headers=customer_service.headers)
        assert await audit_trail(session, action="account.view") == [
            ("account.view", "success", str(owner.account_id))
        ]

    async def test_unknown_account(self, client, customer_service):
        response = await client.get(f"{ACCOUNTS}/{uuid.uuid4()}", headers=customer_service.headers)
        assert response.status_code == 404
        assert response.json() == {"error": "account_not_found", "message": "账户不存在"}


class TestPatientDetail:
    async def test_it_works(self, client, session, owner, stranger, customer_service):
        patient_id = await add_patient(
            session, owner, name="张小三", id_number=ID_NUMBER, phone=PHONE, relation="parent"
        )
        code = await sms_code_for(session, PHONE, "bind_patient")
        await service.add_patient(
            session,
            stranger.caller,
            name="张小三",
            id_number=ID_NUMBER,
            phone=PHONE,
            relation="grandparent",
            sms_code=code,
        )

        response = await client.get(f"{PATIENTS}/{patient_id}", headers=customer_service.headers)

        assert response.status_code == 200
        body = response.json()
        assert (body["name"], body["id_number"], body["phone"], body["health_card_number"]) == (
            "张*三",
            "110***********002X",
            "138****1234",
            None,
        )
        assert sorted((h["account"]["id"], h["relation"]) for h in body["accounts"]) == sorted(
            [(str(owner.account_id), "parent"), (str(stranger.account_id), "grandparent")]
        )
        assert {h["account"]["phone"] for h in body["accounts"]} == {
            masked_phone(owner.phone),
            masked_phone(stranger.phone),
        }

    async def test_unknown_patient(self, client, customer_service):
        response = await client.get(f"{PATIENTS}/{uuid.uuid4()}", headers=customer_service.headers)
        assert response.status_code == 404
        assert response.json() == {"error": "patient_not_found", "message": "就诊人不存在"}


class TestUnmaskPatient:
    async def test_it_works(self, client, session, owner, customer_service):
        patient_id = await add_patient(session, owner, name="张小三", id_number=ID_NUMBER, phone=PHONE)

        response = await client.post(
            f"{PATIENTS}/{patient_id}/unmask",
            headers=customer_service.headers,
            json={"reason": "患者来电核实身份"},
        )

        assert response.status_code == 200
        assert response.json() == {
            "id": str(patient_id),
            "name": "张小三",
            "id_number": ID_NUMBER,
            "phone": PHONE,
        }
        entries = (
            await session.execute(
                select(
                    AuditEntry.actor_kind, AuditEntry.actor_id, AuditEntry.result, AuditEntry.details
                ).where(AuditEntry.action == "patient.unmask", AuditEntry.target_id == str(patient_id))
            )
        ).all()
        assert [tuple(e) for e in entries] == [
            ("staff", customer_service.staff_id, "success", {"reason": "患者来电核实身份"})
        ]

    @pytest.mark.parametrize("body", [{}, {"reason": "看"}, {"reason": "看" * 201}])
    async def test_a_reason_is_required(self, client, session, owner, customer_service, body):
        patient_id = await add_patient(session, owner)

        response = await client.post(
            f"{PATIENTS}/{patient_id}/unmask", headers=customer_service.headers, json=body
        )

        assert (response.status_code, response.json()["error"]) == (422, "invalid_request")
        assert await audit_trail(session, action="patient.unmask") == []

    async def test_patient_read_is_not_enough(self, client, session, owner, make_staff_user):
        doctor = await make_staff_user("doctor")
        patient_id = await add_patient(session, owner)

        response = await client.post(
            f"{PATIENTS}/{patient_id}/unmask", headers=doctor.headers, json={"reason": "想看看"}
        )

        assert response.status_code == 403
        assert response.json() == {"error": "forbidden", "message": "没有权限执行此操作"}
        assert await audit_trail(session, action="patient.unmask") == []
        denied = (
            await session.execute(
                select(AuditEntry.actor_id, AuditEntry.result, AuditEntry.details).where(
                    AuditEntry.action == "access.denied"
                )
            )
        ).all()
        assert [tuple(d) for d in denied] == [(doctor.staff_id, "denied", {"permission": "patient.unmask"})]


class TestPasswordReset:
    async def test_it_works(self, client, session, owner, customer_service, send_sms):
        second_token = await patient_token(session, await session.get(Account, owner.account_id))

        response = await client.post(
            f"{ACCOUNTS}/{owner.account_id}/password-reset", headers=customer_service.headers
        )

        assert response.status_code == 204
        # The temporary password travels to the phone only: the job's payload holds neither in clear.
        [payload] = (await session.scalars(select(Job.payload).where(Job.kind == "sms.send_notice"))).all()
        assert payload["template"] == "temporary_password"
        assert owner.phone not in json.dumps(payload)
        assert await send_sms() == 1
        [text] = await inbox_texts(session, owner.phone)
        match = re.fullmatch(
            r"【ihos互联网医院】您的临时密码为(.{12})，请登录后立即修改密码，请勿泄露给他人。", text
        )
        assert match is not None, text
        temporary = match[1]
        assert temporary not in json.dumps(payload)

        must_change = await session.scalar(
            select(Account.must_change_password).where(Account.id == owner.account_id)
        )
        assert must_change is True
        live = await count(
            session, AuthSession, AuthSession.account_id == owner.account_id, AuthSession.revoked_at.is_(None)
        )
        assert live == 0
        for token in (owner.token, second_token):
            old = await client.get("/api/v1/me/patients", headers=bearer(token))
            assert old.status_code == 401
        assert await audit_trail(session, action="account.password_reset") == [
            ("account.password_reset", "success", str(owner.account_id))
        ]

        signed_in = await client.post(
            "/api/v1/auth/sign-in/password", json={"login": owner.phone, "password": temporary}
        )
        assert signed_in.status_code == 200, signed_in.text
        headers = bearer(signed_in.json()["token"])
        blocked = await client.get("/api/v1/me/patients", headers=headers)
        assert blocked.status_code == 403
        assert blocked.json() == {"error": "password_change_required", "message": "请先修改密码"}

        changed = await client.put(
            "/api/v1/auth/password",
            headers=headers,
            json={"current_password": temporary, "new_password": "Xin@Mima2026"},
        )
        assert changed.status_code == 204, changed.text
        allowed = await client.get("/api/v1/me/patients", headers=headers)
        assert (allowed.status_code, allowed.json()) == (200, [])

    async def test_it_unlocks_the_account(self, client, session, owner, customer_service):
        account = await session.get(Account, owner.account_id)
        account.failed_sign_ins = 3
        account.locked_until = now() + timedelta(minutes=30)

        response = await client.post(
            f"{ACCOUNTS}/{owner.account_id}/password-reset", headers=customer_service.headers
        )

        assert response.status_code == 204
        row = (
            await session.execute(
                select(Account.failed_sign_ins, Account.locked_until).where(Account.id == owner.account_id)
            )
        ).one()
        assert tuple(row) == (0, None)

    async def test_an_account_without_a_phone(self, client, session, customer_service):
        account = await make_account(session, phone=None, username=unique("nophone"))
        account_id, password_hash = account.id, account.password_hash

        response = await client.post(
            f"{ACCOUNTS}/{account_id}/password-reset", headers=customer_service.headers
        )

        assert response.status_code == 409
        assert response.json() == {"error": "no_phone", "message": "该账户未绑定手机号，无法发送临时密码"}
        row = (
            await session.execute(
                select(Account.password_hash, Account.must_change_password).where(Account.id == account_id)
            )
        ).one()
        assert tuple(row) == (password_hash, False)
        assert await count(session, Job, Job.kind == "sms.send_notice") == 0

    async def test_unknown_account(self, client, session, customer_service):
        response = await client.post(
            f"{ACCOUNTS}/{uuid.uuid4()}/password-reset", headers=customer_service.headers
        )
        assert (response.status_code, response.json()["error"]) == (404, "account_not_found")
        assert await count(session, Job) == 0
